// Usage: bench_compile [--check] [--precision P[,P...]] [--config NAME] [--explain] MODEL.onnx...
// Prints, per model and precision: load time, compile time, instructions, layers on card/host.
// --check also runs the program with the SystemC-free executor and compares with the
// reference interpreter (max abs error, top-1 agreement).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>
#include <sstream>

#include "compiler/backend/compile.h"
#include "compiler/backend/int_reference.h"
#include "compiler/frontend/onnx_loader.h"
#include "compiler/reference/ops.h"
#include "core/error.h"
#include "models/kernels/functional_run.h"
#include "sim/card_config.h"

using namespace cardsim;
using Clock = std::chrono::steady_clock;

static double secs(Clock::time_point a) { return std::chrono::duration<double>(Clock::now() - a).count(); }

int main(int argc, char** argv) {
  bool check = false, explain = false;
  std::vector<std::string> precisions{"fp32", "int8"}, models;
  std::string config = "default";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--check") check = true;
    else if (a == "--explain") explain = true;
    else if (a == "--precision" && i + 1 < argc) {
      precisions.clear();
      std::stringstream ss(argv[++i]);
      for (std::string p; std::getline(ss, p, ',');) precisions.push_back(p);
    } else if (a == "--config" && i + 1 < argc) config = argv[++i];
    else models.push_back(a);
  }
  if (models.empty()) models.push_back("/tmp/models/resnet50/model.onnx");
  try {
    CardConfig cfg = load_config(resolve_config_path(config));
    for (auto& m : models) {
      auto t0 = Clock::now();
      ir::Graph g = load_onnx(m, {});
      double t_load = secs(t0);
      for (auto& prec : precisions) {
        backend::CompileOptions o;
        o.precision = prec;
        std::string ex;
        auto t1 = Clock::now();
        isa::Program p = backend::compile(g, cfg, o, explain ? &ex : nullptr);
        double t_comp = secs(t1);
        size_t n = 0, host = 0;
        for (auto& q : p.queues) n += q.size();
        for (auto& l : p.layers) host += l.placement == "host";
        std::printf("%s [%s, %s]: load %.2f s, compile %.2f s, %zu instructions, %zu layers (%zu host), %zu constant bytes\n",
                    m.c_str(), prec.c_str(), cfg.name.c_str(), t_load, t_comp, n, p.layers.size(), host, p.constants.size());
        if (explain) std::cout << ex;
        if (!check) continue;
        std::mt19937 rng(99);
        std::uniform_real_distribution<float> u(-1.f, 1.f);
        std::vector<Tensor> in;
        std::map<std::string, Tensor> env;
        for (auto& name : g.inputs) {
          Tensor t(DType::F32, g.value(name).shape);
          for (int64_t k = 0; k < t.numel(); ++k) t.ptr<float>()[k] = u(rng);
          in.push_back(t);
          env[name] = t;
        }
        auto t2 = Clock::now();
        auto got = kernels::run_functional(p, in);
        double t_run = secs(t2);
        auto t3 = Clock::now();
        auto want = ref::run_graph(g, env);
        double t_ref = secs(t3);
        if (prec == "int8") {
          auto t4 = Clock::now();
          auto iref = backend::int8_reference(g, o, in);
          size_t diff = 0, total = 0;
          for (size_t k = 0; k < iref.size(); ++k)
            for (int64_t e = 0; e < iref[k].numel(); ++e, ++total) diff += iref[k].get(size_t(e)) != got[k].get(size_t(e));
          std::printf("  int8 vs integer reference: %zu of %zu output elements differ (%.2f s)\n", diff, total, secs(t4));
        }
        for (size_t k = 0; k < g.outputs.size(); ++k) {
          const Tensor& w = want.at(g.outputs[k]);
          const Tensor& r = got[k];
          double maxerr = 0, maxref = 0;
          int64_t am_w = 0, am_r = 0;
          for (int64_t e = 0; e < w.numel(); ++e) {
            maxerr = std::max(maxerr, std::fabs(r.get(size_t(e)) - w.get(size_t(e))));
            maxref = std::max(maxref, std::fabs(w.get(size_t(e))));
            if (w.get(size_t(e)) > w.get(size_t(am_w))) am_w = e;
            if (r.get(size_t(e)) > r.get(size_t(am_r))) am_r = e;
          }
          std::printf("  check %s: max |err| %.3g (max |ref| %.3g), argmax card %lld ref %lld; functional run %.2f s, reference %.2f s\n",
                      g.outputs[k].c_str(), maxerr, maxref, (long long)am_r, (long long)am_w, t_run, t_ref);
        }
      }
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
