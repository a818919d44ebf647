// Mutated and truncated models must end in a cardsim::Error or a valid graph - never a
// crash, a hang or a foreign exception.
#include <cstdio>
#include <random>

#include "compiler/frontend/onnx_loader.h"
#include "compiler/ir/graph_utils.h"
#include "core/error.h"
#include "tests/frontend/model_builder.h"
#include <gtest/gtest.h>

namespace cardsim {
namespace {

std::string seed_model() {
  test::ModelBuilder b;
  b.input("x", DType::F32, {2, 3, 4, 4}).output("y");
  b.initializer("w", Tensor::from_floats({3, 3, 1, 1}, {1, 0, 0, 0, 1, 0, 0, 0, 1}));
  b.initializer("axes", Tensor::from_int64s({1}, {0}));
  b.initializer("minus1", Tensor::from_int64s({1}, {-1}));
  b.initializer("zero", Tensor::from_int64s({}, {0}));
  b.node("Conv", {"x", "w"}, {"c"}, "conv");
  b.node("Relu", {"c"}, {"r"}, "relu");
  b.node("Shape", {"r"}, {"s"}, "shape");
  test::add_int_attr(b.node("Gather", {"s", "zero"}, {"n"}, "gather"), "axis", 0);
  b.node("Unsqueeze", {"n", "axes"}, {"n1"}, "unsq");
  test::add_int_attr(b.node("Concat", {"n1", "minus1"}, {"shape"}, "concat"), "axis", 0);
  b.node("Reshape", {"r", "shape"}, {"y"}, "reshape");
  return b.bytes();
}

TEST(LoaderFuzz, MutationsGiveErrorsOrValidGraphs) {
  const std::string base = seed_model();
  ir::Graph ok = load_onnx_bytes(base, "seed.onnx");
  ASSERT_EQ(ok.value("y").shape, (Shape{2, 48}));
  std::mt19937 rng(1234);
  int errors = 0, loaded = 0;
  for (int iter = 0; iter < 600; ++iter) {
    std::string m = base;
    int kind = iter % 3;
    if (kind == 0) {
      m.resize(rng() % m.size());  // truncation
    } else {
      int flips = 1 + int(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        size_t pos = rng() % m.size();
        if (kind == 1) m[pos] = char(m[pos] ^ (1 << (rng() % 8)));
        else m[pos] = char(rng() & 0xff);
      }
    }
    try {
      ir::Graph g = load_onnx_bytes(m, "mutant.onnx");
      ir::validate(g, true);
      ++loaded;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("mutant.onnx"), std::string::npos) << "iteration " << iter << ": " << e.what();
      ++errors;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "iteration " << iter << ": foreign exception " << e.what();
    }
  }
  std::printf("600 mutants: %d loaded, %d rejected with an Error\n", loaded, errors);
  EXPECT_EQ(errors + loaded, 600);
  EXPECT_GT(errors, 100);  // most mutations must be caught
}

}  // namespace
}  // namespace cardsim
