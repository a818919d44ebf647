// Whole-program speed of the card model: compiles an ONNX model (or reads a .cbin), runs it
// and prints simulated cycles, wall time, simulated cycles per wall second and peak memory.
//   bench_card <model.onnx|program.cbin> [--config default] [--precision int8]
//              [--mode both|timing|functional|all] [--inferences N] [--warm] [--save out.cbin]
//              [--json prefix]   (writes prefix.<mode>.json with the statistics)
// `all` runs each mode in its own child process (SystemC elaborates once per process).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "compiler/backend/compile.h"
#include "compiler/frontend/onnx_loader.h"
#include "core/error.h"
#include "isa/loadable.h"
#include "models/card/card.h"
#include "sim/card_config.h"

using namespace cardsim;
using Clock = std::chrono::steady_clock;

static double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

static long peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

static std::string g_json_path;

static int run_mode(const isa::Program& prog, const CardConfig& cfg, const std::vector<Tensor>& inputs,
                    card::RunOptions::Mode mode, int inferences, bool warm) {
  card::RunOptions opt;
  opt.mode = mode;
  opt.inferences = inferences;
  opt.warm = warm;
  auto t0 = Clock::now();
  card::RunResult r = card::run_program(prog, cfg, inputs, opt);
  const double wall = seconds_since(t0);
  const double cycles = double(r.stats.total_cycles);
  std::printf("mode %-10s complete %d  cycles %12.0f  card time %10.3f us  wall %7.3f s  %10.3g sim cycles/s  "
              "peak RSS %ld MB  macs %llu\n",
              card::mode_name(mode).c_str(), int(r.complete), cycles, r.stats.total_ns / 1e3, wall,
              wall > 0 ? cycles / wall : 0.0, peak_rss_mb(), (unsigned long long)r.stats.macs);
  if (!r.complete) std::printf("  error: %s\n", r.error.c_str());
  if (!g_json_path.empty()) {
    FILE* f = std::fopen((g_json_path + "." + card::mode_name(mode) + ".json").c_str(), "w");
    if (f) {
      std::fputs(r.stats.to_json().dump(1).c_str(), f);
      std::fclose(f);
    }
  }
  if (mode != card::RunOptions::Mode::Timing && !r.outputs.empty()) {
    const Tensor& o = r.outputs[0];
    double sum = 0;
    size_t arg = 0;
    for (size_t i = 0; i < size_t(o.numel()); ++i) {
      sum += o.get(i);
      if (o.get(i) > o.get(arg)) arg = i;
    }
    std::printf("  output 0 %s %s: sum %.6g argmax %zu\n", std::string(dtype_name(o.dtype)).c_str(),
                shape_str(o.shape).c_str(), sum, arg);
  }
  std::fflush(stdout);
  return r.complete ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <model.onnx|program.cbin> [--config NAME] [--precision P] [--mode M] "
                 "[--inferences N] [--warm]\n", argv[0]);
    return 2;
  }
  std::string path = argv[1], config = "default", precision = "int8", mode = "all", save, json_path;
  int inferences = 1;
  bool warm = false;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--config") config = next();
    else if (a == "--precision") precision = next();
    else if (a == "--mode") mode = next();
    else if (a == "--inferences") inferences = std::stoi(next());
    else if (a == "--warm") warm = true;
    else if (a == "--save") save = next();
    else if (a == "--json") json_path = next();
  }
  try {
    CardConfig cfg = load_config(resolve_config_path(config));
    isa::Program prog;
    auto t0 = Clock::now();
    if (path.size() > 5 && path.substr(path.size() - 5) == ".onnx") {
      ir::Graph g = load_onnx(path);
      backend::CompileOptions co;
      co.precision = precision;
      prog = backend::compile(g, cfg, co);
      std::printf("compiled %s (%s) in %.3f s: %zu queues\n", path.c_str(), precision.c_str(), seconds_since(t0),
                  prog.queues.size());
    } else {
      prog = isa::read_loadable(path);
    }
    g_json_path = json_path;
    if (!save.empty()) isa::write_loadable(prog, save);
    size_t n_instr = 0;
    for (const auto& q : prog.queues) n_instr += q.size();
    std::printf("program: %zu instructions, %zu constant bytes, %zu host ops\n", n_instr, prog.constants.size(),
                prog.host_ops.size());
    // Deterministic random inputs in each binding's logical range.
    std::vector<Tensor> inputs;
    std::mt19937 rng(1);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (const auto& b : prog.inputs) {
      Tensor t(DType::F32, b.shape);
      for (size_t i = 0; i < size_t(t.numel()); ++i) t.ptr<float>()[i] = nd(rng);
      inputs.push_back(std::move(t));
    }
    std::fflush(stdout);
    std::vector<card::RunOptions::Mode> modes;
    if (mode == "all" || mode == "both") modes.push_back(card::RunOptions::Mode::Both);
    if (mode == "all" || mode == "timing") modes.push_back(card::RunOptions::Mode::Timing);
    if (mode == "all" || mode == "functional") modes.push_back(card::RunOptions::Mode::Functional);
    if (modes.size() == 1) return run_mode(prog, cfg, inputs, modes[0], inferences, warm);
    int rc = 0;
    for (auto m : modes) {
      pid_t pid = fork();
      if (pid == 0) _exit(run_mode(prog, cfg, inputs, m, inferences, warm));
      int status = 0;
      waitpid(pid, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) rc = 1;
    }
    return rc;
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
