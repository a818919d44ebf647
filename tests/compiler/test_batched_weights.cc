// MatMul whose B is a constant of rank > 2 (batched weights [..., K, N], one [K,N] slice per
// batch, broadcast like numpy): the card runs it with int8 weights quantized per output column
// (scales shared by every slice); fp32 must match the float reference, int8 must equal both
// integer references (backend::int8_reference and compiler/intref) bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "compiler/backend/compile.h"
#include "compiler/backend/int_reference.h"
#include "compiler/frontend/onnx_loader.h"
#include "compiler/frontend/tensor_io.h"
#include "compiler/intref/intref.h"
#include "compiler/reference/ops.h"
#include "isa/program.h"
#include "models/kernels/functional_run.h"
#include "sim/card_config.h"
#include "tests/compiler/graph_builder.h"

using namespace cardsim;
using namespace cardsim::testing;

namespace {

CardConfig tiny(CardConfig c) {  // forces N, M and K tiling with streamed weights
  c.sram.size_bytes = 4 << 10;
  c.accumulator.size_bytes = 1 << 10;
  c.name += "-tiny";
  return c;
}

// Four batched-weight shapes: per-batch slices, A broadcast over the weight batch, both
// broadcast, and a single-slice [1,K,N] weight; plus bias + Relu fused on the first.
ir::Graph batched_weight_net() {
  GraphBuilder b;
  auto x1 = b.input("x1", {2, 5, 16});
  auto x2 = b.input("x2", {5, 16});
  auto x3 = b.input("x3", {2, 1, 5, 16});
  auto x4 = b.input("x4", {2, 3, 5, 16});
  auto m1 = b.node("MatMul", {x1, b.weight("w1", {2, 16, 12}, -2.f, 2.f)}, {2, 5, 12});
  auto a1 = b.node("Add", {m1, b.weight("bias1", {12})}, {2, 5, 12});
  b.output(b.node("Relu", {a1}, {2, 5, 12}));
  b.output(b.node("MatMul", {x2, b.weight("w2", {3, 16, 12}, -0.1f, 0.3f)}, {3, 5, 12}));
  b.output(b.node("MatMul", {x3, b.weight("w3", {3, 16, 40})}, {2, 3, 5, 40}));
  b.output(b.node("MatMul", {x4, b.weight("w4", {1, 16, 12})}, {2, 3, 5, 12}));
  b.g.name = "batched_weight_net";
  return b.g;
}

std::vector<Tensor> float_reference(const ir::Graph& g, const std::vector<Tensor>& in) {
  std::map<std::string, Tensor> env;
  for (size_t k = 0; k < in.size(); ++k) env[g.inputs[k]] = in[k];
  auto out = ref::run_graph(g, env);
  std::vector<Tensor> r;
  for (auto& n : g.outputs) r.push_back(out.at(n));
  return r;
}

size_t count_mismatches(const Tensor& got, const Tensor& want, double rtol, double atol, const std::string& what) {
  EXPECT_EQ(got.shape, want.shape) << what;
  if (got.shape != want.shape) return size_t(want.numel());
  size_t bad = 0;
  for (int64_t k = 0; k < want.numel(); ++k) {
    double g = got.get(size_t(k)), w = want.get(size_t(k));
    if (!(std::fabs(g - w) <= atol + rtol * std::fabs(w)) && bad++ < 3)
      ADD_FAILURE() << what << " element " << k << ": got " << g << " want " << w;
  }
  return bad;
}

bool all_on_card(const isa::Program& p) {
  for (auto& l : p.layers)
    if (l.op.rfind("MatMul", 0) == 0 && l.placement != "card") return false;
  return true;
}

// fp32 against the float reference; int8 bit-exact against both integer references and, when
// the inputs follow the calibration distribution (uniform [-1,1]), within a few quantization
// steps of the float result.
void check_graph(const ir::Graph& g, const std::vector<Tensor>& in, const std::vector<CardConfig>& cards,
                 bool inputs_as_calibrated = true) {
  auto want_f = float_reference(g, in);
  for (const CardConfig& cfg : cards) {
    bool has_f32 = false;
    for (auto& d : cfg.matrix.dtypes) has_f32 = has_f32 || d == "f32";
    if (has_f32) {
      SCOPED_TRACE(cfg.name + "/fp32");
      backend::CompileOptions o;
      o.precision = "fp32";
      isa::Program p = backend::compile(g, cfg, o);
      EXPECT_TRUE(all_on_card(p));
      auto got = kernels::run_functional(p, in);
      ASSERT_EQ(got.size(), want_f.size());
      for (size_t k = 0; k < got.size(); ++k)
        EXPECT_EQ(count_mismatches(got[k], want_f[k], 1e-4, 1e-5, "fp32 output " + std::to_string(k)), 0u);
    }
    SCOPED_TRACE(cfg.name + "/int8");
    backend::CompileOptions o;
    o.precision = "int8";
    isa::Program p = backend::compile(g, cfg, o);
    EXPECT_TRUE(all_on_card(p));
    auto got = kernels::run_functional(p, in);
    auto want_b = backend::int8_reference(g, o, in);
    auto want_i = intref::run_int8(g, in);
    ASSERT_EQ(got.size(), want_b.size());
    ASSERT_EQ(got.size(), want_i.size());
    for (size_t k = 0; k < got.size(); ++k) {
      std::string what = "int8 output " + std::to_string(k);
      EXPECT_EQ(count_mismatches(got[k], want_b[k], 0, 0, what + " vs int8_reference"), 0u);
      EXPECT_EQ(count_mismatches(got[k], want_i[k], 0, 0, what + " vs intref"), 0u);
      if (!inputs_as_calibrated) continue;
      // Relative RMS error: robust to the odd value beyond the 8-sample calibrated range.
      double err = 0, norm = 0;
      for (int64_t e = 0; e < want_f[k].numel(); ++e) {
        double d = got[k].get(size_t(e)) - want_f[k].get(size_t(e));
        err += d * d, norm += want_f[k].get(size_t(e)) * want_f[k].get(size_t(e));
      }
      EXPECT_LT(std::sqrt(err / std::max(norm, 1e-12)), 0.05) << what << " vs float";
    }
  }
}

}  // namespace

TEST(CompilerNumerics, MatMulWithBatchedConstantWeights) {
  ir::Graph g = batched_weight_net();
  check_graph(g, inputs_for(g, 31), {preset("default"), tiny(preset("default")), preset("edge")});
}

// The ONNX node test test_matmul_3d with its B input bound as a constant.
TEST(CompilerNumerics, OnnxMatMul3dWithConstantB) {
  const std::string dir = "/usr/share/libonnx-testdata/data/node/test_matmul_3d/";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "libonnx-testdata not installed";
  auto ins = read_test_data_dir(dir + "test_data_set_0", "input_");
  auto outs = read_test_data_dir(dir + "test_data_set_0", "output_");
  ir::Graph plain = load_onnx(dir + "model.onnx", {});
  ASSERT_EQ(plain.inputs.size(), 2u);
  ASSERT_EQ(ins.size(), 2u);
  LoadOptions lo;
  lo.constants[plain.inputs[1]] = ins[1].second;
  ir::Graph g = load_onnx(dir + "model.onnx", lo);
  ASSERT_EQ(g.inputs.size(), 1u);
  ASSERT_TRUE(g.is_constant(plain.inputs[1]));
  // fp32 against the file's expected output too, not only the reference interpreter.
  backend::CompileOptions o;
  o.precision = "fp32";
  auto got = kernels::run_functional(backend::compile(g, preset("default"), o), {ins[0].second});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(count_mismatches(got[0], outs[0].second, 1e-4, 1e-5, "test_matmul_3d fp32 vs expected"), 0u);
  // Its inputs are standard normal, beyond the [-1,1] random calibration: int8 saturates, so
  // only the bit-exactness against the integer references is checked.
  check_graph(g, {ins[0].second}, {preset("default"), tiny(preset("default"))}, false);
}
