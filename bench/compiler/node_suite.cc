// Usage: node_suite [--precision P] [--filter SUBSTR] [DIR]
// Compiles every ONNX backend node test (default DIR /usr/share/libonnx-testdata/data/node),
// runs it with the SystemC-free executor and compares with the expected outputs.
// Prints one line per failing test and a summary (pass / mismatch / load error / compile or
// run error) plus how many tests had at least one layer lowered to the card.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "compiler/backend/compile.h"
#include "compiler/frontend/onnx_loader.h"
#include "compiler/frontend/tensor_io.h"
#include "core/error.h"
#include "models/kernels/functional_run.h"
#include "sim/card_config.h"

using namespace cardsim;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  std::string dir = "/usr/share/libonnx-testdata/data/node", filter, precision = "fp32";
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--precision" && i + 1 < argc) precision = argv[++i];
    else if (a == "--filter" && i + 1 < argc) filter = argv[++i];
    else if (a == "-v") verbose = true;
    else dir = a;
  }
  CardConfig cfg = load_config(resolve_config_path("default"));
  std::vector<std::string> tests;
  for (auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && (filter.empty() || e.path().filename().string().find(filter) != std::string::npos))
      tests.push_back(e.path().string());
  std::sort(tests.begin(), tests.end());
  int pass = 0, mismatch = 0, load_err = 0, run_err = 0, on_card = 0;
  for (auto& t : tests) {
    std::string name = fs::path(t).filename().string();
    ir::Graph g;
    std::vector<std::pair<std::string, Tensor>> ins, outs;
    try {
      g = load_onnx(t + "/model.onnx", {});
      ins = read_test_data_dir(t + "/test_data_set_0", "input_");
      outs = read_test_data_dir(t + "/test_data_set_0", "output_");
    } catch (const std::exception& e) {
      ++load_err;
      if (verbose) std::printf("LOAD  %s: %s\n", name.c_str(), e.what());
      continue;
    }
    try {
      backend::CompileOptions o;
      o.precision = precision;
      o.calibrate_dir = t + "/test_data_set_0";
      isa::Program p = backend::compile(g, cfg, o);
      bool card = false;
      for (auto& l : p.layers) card = card || (l.placement == "card" && l.name.rfind("input:", 0) && l.name.rfind("output:", 0));
      on_card += card;
      std::vector<Tensor> in;
      for (auto& [n, x] : ins) in.push_back(x);
      auto got = kernels::run_functional(p, in);
      bool ok = got.size() == outs.size();
      std::string why;
      for (size_t k = 0; ok && k < outs.size(); ++k) {
        const Tensor& w = outs[k].second;
        if (got[k].shape != w.shape) { ok = false; why = "shape " + shape_str(got[k].shape) + " vs " + shape_str(w.shape); break; }
        if (w.dtype == DType::String) continue;
        double tol_r = precision == "fp32" ? 1e-3 : 5e-2, tol_a = precision == "fp32" ? 1e-4 : 5e-2;
        for (int64_t e = 0; e < w.numel(); ++e) {
          double a = got[k].get(size_t(e)), b = w.get(size_t(e));
          if (std::isnan(a) && std::isnan(b)) continue;
          if (!(std::fabs(a - b) <= tol_a + tol_r * std::fabs(b)) && !(a == b)) {
            ok = false;
            why = "output " + std::to_string(k) + " element " + std::to_string(e) + ": " + std::to_string(a) + " vs " + std::to_string(b);
            break;
          }
        }
      }
      if (ok) ++pass;
      else {
        ++mismatch;
        std::printf("DIFF  %s (%s): %s\n", name.c_str(), card ? "card" : "host only", why.c_str());
      }
    } catch (const std::exception& e) {
      ++run_err;
      std::printf("ERROR %s: %s\n", name.c_str(), e.what());
    }
  }
  std::printf("%zu node tests: %d pass, %d mismatch, %d load errors (frontend), %d compile/run errors; %d with card layers\n",
              tests.size(), pass, mismatch, load_err, run_err, on_card);
  return mismatch + run_err ? 1 : 0;
}
