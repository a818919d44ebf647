// Coverage (issue 3 "Done when"): every network compiles for every preset in configs/ in
// every precision the preset's matrix unit lists (matrix.dtypes), and a few programs run
// on the SystemC card in timing mode.
//
// Models come from the networks fixture (tests/networks/prepare.py writes them under
// CARDSIM_NETWORKS_DIR: models/<name>/model.onnx, digits/digits_{float,qdq}/model.onnx,
// and CARDSIM_OCR_DIR (default <networks>/ocr, written by networks_ocr) {cls_w192,rec_w480}.onnx). CARDSIM_COVERAGE_NETWORKS (comma-separated) picks the
// networks of one ctest entry; a missing model file is a failure, not a skip, so a broken
// fixture cannot pass silently.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "compiler/backend/compile.h"
#include "compiler/backend/int_reference.h"
#include "compiler/frontend/onnx_loader.h"
#include "core/error.h"
#include "models/card/card.h"
#include "models/kernels/functional_run.h"
#include "sim/card_config.h"

using namespace cardsim;
namespace fs = std::filesystem;

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

fs::path networks_dir() { return env_or("CARDSIM_NETWORKS_DIR", CARDSIM_NETWORKS_DEFAULT_DIR); }

fs::path model_path(const std::string& name) {
  const fs::path d = networks_dir();
  if (name == "digits_float" || name == "digits_qdq") return d / "digits" / name / "model.onnx";
  const fs::path ocr = env_or("CARDSIM_OCR_DIR", (d / "ocr").string());  // written by networks_ocr
  if (name == "ocr_cls") return ocr / "cls_w192.onnx";
  if (name == "ocr_rec") return ocr / "rec_w480.onnx";
  return d / "models" / name / "model.onnx";
}

std::vector<std::string> selected_networks() {
  std::vector<std::string> r;
  std::stringstream ss(env_or("CARDSIM_COVERAGE_NETWORKS", "digits_float,digits_qdq,squeezenet1_1"));
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) r.push_back(item);
  return r;
}

const std::vector<std::string> kPresets{"default", "edge", "tpu-v1", "scalesim-32x32"};

// matrix.dtypes -> compiler precision names.
std::vector<std::string> precisions_of(const CardConfig& c) {
  std::vector<std::string> r;
  for (const auto& d : c.matrix.dtypes) {
    if (d == "i8") r.push_back("int8");
    else if (d == "f16") r.push_back("fp16");
    else if (d == "bf16") r.push_back("bf16");
    else if (d == "f32") r.push_back("fp32");
  }
  return r;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST(Coverage, EveryNetworkCompilesForEveryPresetAndPrecision) {
  int compiled = 0;
  for (const std::string& net : selected_networks()) {
    const fs::path path = model_path(net);
    ASSERT_TRUE(fs::exists(path)) << path << " is missing (the networks fixture writes it)";
    ir::Graph g = load_onnx(path.string());
    for (const std::string& preset : kPresets) {
      CardConfig cfg = load_config(resolve_config_path(preset));
      const auto precisions = precisions_of(cfg);
      ASSERT_FALSE(precisions.empty()) << preset << ": matrix.dtypes lists no precision";
      for (const std::string& precision : precisions) {
        backend::CompileOptions o;
        o.precision = precision;
        auto t0 = std::chrono::steady_clock::now();
        try {
          isa::Program p = backend::compile(g, cfg, o);
          size_t instrs = 0;
          for (const auto& q : p.queues) instrs += q.size();
          std::cout << fmt::format("[{}] {} {}: {} instructions, {} host ops, {:.2f} s\n", net, preset, precision,
                                   instrs, p.host_ops.size(), seconds_since(t0));
          EXPECT_GT(instrs, 0u);
          ++compiled;
        } catch (const Error& e) {
          ADD_FAILURE() << net << " on " << preset << " in " << precision << ": " << e.what();
        }
      }
    }
  }
  EXPECT_GT(compiled, 0);
}

// Timing-mode runs of the smallest models on the two smallest cards: the programs the
// tiler makes for a 1 MiB SRAM (edge) and a 32x32 output-stationary array must complete.
TEST(Coverage, SmallNetworksRunOnSmallCardsInTimingMode) {
  for (const std::string& net : selected_networks()) {
    if (net != "digits_float" && net != "squeezenet1_1") continue;
    ir::Graph g = load_onnx(model_path(net).string());
    for (const std::string& preset : {std::string("edge"), std::string("scalesim-32x32")}) {
      CardConfig cfg = load_config(resolve_config_path(preset));
      backend::CompileOptions o;
      o.precision = "int8";
      isa::Program p = backend::compile(g, cfg, o);
      card::RunOptions ro;
      ro.mode = card::RunOptions::Mode::Timing;
      std::vector<Tensor> inputs;
      for (const auto& b : p.inputs) inputs.emplace_back(b.dtype, b.shape);  // zeros: timing only
      auto t0 = std::chrono::steady_clock::now();
      card::RunResult r = card::run_program_forked(p, cfg, inputs, ro);
      ASSERT_TRUE(r.complete) << net << " on " << preset << ": " << r.error;
      EXPECT_GT(r.stats.total_cycles, 0u);
      std::cout << fmt::format("[{}] {} int8 timing: {} cycles, {:.2f} s\n", net, preset, r.stats.total_cycles,
                               seconds_since(t0));
    }
  }
}

// The small cards tile what the default card does in one piece (squeezenet's 111x111
// max-pool planes are row-tiled on scalesim-32x32's 128 KiB SRAM): the int8 values must
// still equal the untiled integer reference bit for bit.
TEST(Coverage, SmallCardsKeepInt8BitExact) {
  for (const std::string& net : selected_networks()) {
    if (net != "digits_float" && net != "squeezenet1_1") continue;
    ir::Graph g = load_onnx(model_path(net).string());
    backend::CompileOptions o;
    o.precision = "int8";
    std::vector<Tensor> inputs;
    uint32_t seed = 17;
    for (const auto& name : g.inputs) {
      Tensor t(DType::F32, g.value(name).shape);
      for (int64_t i = 0; i < t.numel(); ++i) {
        seed = seed * 1664525u + 1013904223u;
        t.ptr<float>()[i] = float(seed >> 8) / float(1 << 24) * 2.f - 1.f;
      }
      inputs.push_back(std::move(t));
    }
    for (const std::string& preset : {std::string("edge"), std::string("scalesim-32x32")}) {
      CardConfig cfg = load_config(resolve_config_path(preset));
      isa::Program p = backend::compile(g, cfg, o);
      backend::CompileOptions ro = o;
      ro.int8_mixed = backend::effective_int8_mixed(cfg, o.int8_mixed);  // these cards lack i16: pure int8
      auto want = backend::int8_reference(g, ro, inputs);
      auto got = kernels::run_functional(p, inputs);
      ASSERT_EQ(got.size(), want.size());
      for (size_t k = 0; k < want.size(); ++k)
        EXPECT_EQ(got[k].data, want[k].data) << net << " on " << preset << ": output " << k << " differs from int8_reference";
    }
  }
}
