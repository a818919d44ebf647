// ONNX backend conformance on the card: every libonnx-testdata node test whose operators are
// all in the compiler's supported list is loaded, compiled for the card (fp32 by default;
// integer models run as they are) and run
//   1. on the SystemC-free program executor (kernels::run_functional) for every data set, and
//   2. on the SystemC/TLM card model (card::run_program, Mode::Both) for data set 0,
// and both results are compared with the suite's output_N.pb: float outputs within
// rtol/atol (1e-3 / 1e-5 at fp32), integer and bool outputs bit-exact; the card's outputs must
// also equal the functional executor's byte for byte.
//
// Each test runs in its own fork()ed child: SystemC can elaborate only once per process, a
// crash or hang in one test cannot take the driver down, and two children run at a time.
// Prints every failure, the skipped tests with their reason, and "N passed, N failed,
// N skipped". Exit 0 iff nothing failed.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "compiler/backend/compile.h"
#include "compiler/frontend/onnx_loader.h"
#include "compiler/frontend/tensor_io.h"
#include "core/error.h"
#include "models/card/card.h"
#include "models/kernels/functional_run.h"
#include "onnx/onnx_pb.h"
#include "sim/card_config.h"
#include "tests/conformance/skip_reasons.h"

namespace cardsim::conformance {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string node_dir = "/usr/share/libonnx-testdata/data/node";
  std::vector<std::string> filters;  // substrings; empty = all
  std::string precision = "fp32";
  std::string config = "default";
  std::string card = "all";  // all | none: run data set 0 through the SystemC card too
  int jobs = 2;
  int timeout_s = 120;
  bool verbose = false;
  bool list = false;
};

struct Tolerance {
  double rtol, atol;
};

// Float tolerances by compile precision (docs/CONFORMANCE.md explains the choice).
Tolerance tolerance_for(const std::string& precision) {
  if (precision == "fp16") return {1e-2, 1e-3};
  if (precision == "bf16") return {4e-2, 1e-2};
  return {1e-3, 1e-5};
}

double elapsed_ms(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

onnx::ModelProto read_model(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  onnx::ModelProto m;
  if (!in || !m.ParseFromIstream(&in)) fail(ErrorKind::Format, "{}: not an ONNX model", path);
  return m;
}

// Graph input names that are real inputs (not initializers), in input_N.pb order.
std::vector<std::string> model_input_names(const onnx::ModelProto& m) {
  std::set<std::string> inits;
  for (const auto& t : m.graph().initializer()) inits.insert(t.name());
  std::vector<std::string> r;
  for (const auto& vi : m.graph().input())
    if (!inits.count(vi.name())) r.push_back(vi.name());
  return r;
}

std::string index_str(const Shape& shape, int64_t flat) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  return shape_str(idx);
}

// "" when got matches want; otherwise what differs (worst element, its index, both values).
std::string compare(const std::string& name, const Tensor& got, const Tensor& want, Tolerance tol) {
  if (got.shape != want.shape)
    return fmt::format("output '{}': shape {} but expected {}", name, shape_str(got.shape), shape_str(want.shape));
  bool want_float = dtype_is_float(want.dtype) || want.dtype == DType::F64;
  if (want_float != (dtype_is_float(got.dtype) || got.dtype == DType::F64) || (!want_float && got.dtype != want.dtype))
    return fmt::format("output '{}': dtype {} but expected {}", name, dtype_name(got.dtype), dtype_name(want.dtype));
  int64_t bad = 0, worst = -1;
  double worst_excess = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    double g = got.get(size_t(i)), w = want.get(size_t(i));
    bool ok;
    double excess = 0;
    if (!want_float) {
      ok = g == w;
      excess = std::fabs(g - w);
    } else if (std::isnan(w) || std::isnan(g)) {
      ok = std::isnan(w) && std::isnan(g);
      excess = INFINITY;
    } else if (std::isinf(w) || std::isinf(g)) {
      ok = g == w;
      excess = INFINITY;
    } else {
      double t = tol.atol + tol.rtol * std::fabs(w);
      excess = std::fabs(g - w) - t;
      ok = excess <= 0;
    }
    if (!ok) {
      ++bad;
      if (worst < 0 || excess > worst_excess) worst = i, worst_excess = excess;
    }
  }
  if (!bad) return "";
  return fmt::format("output '{}': {} of {} elements differ ({}); worst at {}: got {:.9g}, expected {:.9g}", name, bad,
                     want.numel(), want_float ? fmt::format("rtol {} atol {}", tol.rtol, tol.atol) : "exact",
                     index_str(want.shape, worst), got.get(size_t(worst)), want.get(size_t(worst)));
}

struct CaseResult {
  enum Status { Pass, Fail } status = Pass;
  std::string message;
  double functional_ms = 0, card_ms = 0;
  int data_sets = 0;
  bool card_ran = false;
};

std::vector<fs::path> data_sets(const fs::path& dir) {
  std::vector<fs::path> r;
  for (int k = 0;; ++k) {
    fs::path p = dir / fmt::format("test_data_set_{}", k);
    if (!fs::is_directory(p)) break;
    r.push_back(p);
  }
  return r;
}

// Runs one node test; throws Error on anything the compiler or the card rejects.
CaseResult run_case(const fs::path& dir, const Options& opt, const CardConfig& cfg) {
  CaseResult res;
  const std::string model_path = (dir / "model.onnx").string();
  onnx::ModelProto model = read_model(model_path);
  std::vector<std::string> in_names = model_input_names(model);
  std::vector<std::string> out_names;
  for (const auto& vi : model.graph().output()) out_names.push_back(vi.name());
  Tolerance tol = tolerance_for(opt.precision);

  auto sets = data_sets(dir);
  if (sets.empty()) fail(ErrorKind::Io, "{}: no test_data_set_0", dir.string());
  for (size_t ds = 0; ds < sets.size(); ++ds) {
    auto inputs = read_test_data_dir(sets[ds].string(), "input_");
    auto expected = read_test_data_dir(sets[ds].string(), "output_");
    if (inputs.size() != in_names.size())
      fail(ErrorKind::Format, "{}: {} input_N.pb files for {} graph inputs", sets[ds].string(), inputs.size(), in_names.size());
    std::map<std::string, Tensor> by_name;
    for (size_t i = 0; i < inputs.size(); ++i) by_name[in_names[i]] = inputs[i].second;

    // First as a network with every input dynamic; if the shapes depend on input values
    // (Reshape's shape, Slice's starts, Expand's shape, ...), bind the integer inputs as
    // constants, as an exported network carries them.
    // ONNX 1.12 writes bfloat16 test inputs as uint16 tensors holding the bf16 bit patterns.
    for (const auto& vi : model.graph().input())
      if (vi.type().tensor_type().elem_type() == onnx::TensorProto::BFLOAT16 && by_name.count(vi.name()) &&
          by_name[vi.name()].dtype == DType::U16)
        by_name[vi.name()].dtype = DType::BF16;
    // Input shapes are those of the data set (some models declare other or symbolic ones),
    // as `--shape NAME=DIMS` would give them.
    LoadOptions base;
    for (auto& [name, t] : by_name) base.shapes[name] = t.shape;
    ir::Graph g;
    try {
      g = load_onnx(model_path, base);
    } catch (const Error&) {
      // Then with the integer inputs bound, and last with every input but the first (float
      // shape operands such as Resize's scales) bound.
      LoadOptions lo = base;
      for (auto& [name, t] : by_name)
        if (dtype_is_integer(t.dtype)) lo.constants[name] = t;
      try {
        if (lo.constants.empty()) throw;
        g = load_onnx(model_path, lo);
      } catch (const Error&) {
        lo = base;
        for (size_t i = 1; i < in_names.size(); ++i) lo.constants[in_names[i]] = by_name[in_names[i]];
        if (lo.constants.empty()) throw;
        g = load_onnx(model_path, lo);
      }
    }
    backend::CompileOptions co;
    co.precision = opt.precision;
    auto t0 = Clock::now();
    isa::Program prog = backend::compile(g, cfg, co);
    std::vector<Tensor> run_inputs;
    for (const auto& b : prog.inputs) {
      auto it = by_name.find(b.name);
      if (it == by_name.end()) fail(ErrorKind::Internal, "program input '{}' is not a graph input of the test", b.name);
      run_inputs.push_back(it->second);
    }
    std::vector<Tensor> outs = kernels::run_functional(prog, run_inputs);
    res.functional_ms += elapsed_ms(t0);
    if (outs.size() != prog.outputs.size())
      fail(ErrorKind::Internal, "run_functional returned {} outputs for {} bindings", outs.size(), prog.outputs.size());
    std::map<std::string, const Tensor*> got;
    for (size_t i = 0; i < outs.size(); ++i) got[prog.outputs[i].name] = &outs[i];
    std::string msg;
    for (size_t i = 0; i < expected.size() && i < out_names.size(); ++i) {
      auto it = got.find(out_names[i]);
      std::string m = it == got.end() ? fmt::format("output '{}' missing from the program", out_names[i])
                                      : compare(out_names[i], *it->second, expected[i].second, tol);
      if (!m.empty()) msg += (msg.empty() ? "" : "; ") + fmt::format("data set {}: {}", ds, m);
    }
    if (!msg.empty()) {
      res.status = CaseResult::Fail;
      res.message = "functional: " + msg;
      return res;
    }
    ++res.data_sets;

    if (ds == 0 && opt.card == "all") {
      auto t1 = Clock::now();
      card::RunOptions ro;
      ro.mode = card::RunOptions::Mode::Both;
      card::RunResult cr = card::run_program(prog, cfg, run_inputs, ro);
      res.card_ms = elapsed_ms(t1);
      res.card_ran = true;
      if (!cr.complete) {
        res.status = CaseResult::Fail;
        res.message = "card: run incomplete: " + cr.error;
        return res;
      }
      for (size_t i = 0; i < outs.size(); ++i) {
        if (i >= cr.outputs.size() || cr.outputs[i].data != outs[i].data || cr.outputs[i].shape != outs[i].shape) {
          res.status = CaseResult::Fail;
          res.message = fmt::format("card: output '{}' differs from the functional executor's", prog.outputs[i].name);
          if (i < cr.outputs.size()) res.message += ": " + compare(prog.outputs[i].name, cr.outputs[i], outs[i], {0, 0});
          return res;
        }
      }
    }
  }
  return res;
}

// ---- child processes --------------------------------------------------------------------

struct Running {
  pid_t pid;
  int fd;
  std::string name;
  Clock::time_point start;
  std::string buffer;
};

std::string error_kind_name(ErrorKind k) {
  switch (k) {
    case ErrorKind::Usage: return "usage";
    case ErrorKind::Config: return "config";
    case ErrorKind::Format: return "format";
    case ErrorKind::Unsupported: return "unsupported";
    case ErrorKind::Capacity: return "capacity";
    case ErrorKind::Fault: return "fault";
    case ErrorKind::Io: return "io";
    case ErrorKind::Internal: return "internal";
  }
  return "?";
}

// Child side: run the case, write "P|F <functional ms> <card ms> <message>" to fd, _exit.
[[noreturn]] void child_main(int fd, const fs::path& dir, const Options& opt, const CardConfig& cfg) {
  alarm(unsigned(opt.timeout_s));
  std::string line;
  try {
    CaseResult r = run_case(dir, opt, cfg);
    line = fmt::format("{} {:.3f} {:.3f} {}{}", r.status == CaseResult::Pass ? 'P' : 'F', r.functional_ms, r.card_ms,
                       r.card_ran ? "" : "[no card run] ", r.message);
  } catch (const Error& e) {
    line = fmt::format("F 0 0 error ({}): {}", error_kind_name(e.kind()), e.what());
  } catch (const std::exception& e) {
    line = fmt::format("F 0 0 exception: {}", e.what());
  }
  if (line.size() > 4000) line = line.substr(0, 4000) + "...";
  size_t off = 0;
  while (off < line.size()) {
    ssize_t w = ::write(fd, line.data() + off, line.size() - off);
    if (w <= 0) break;
    off += size_t(w);
  }
  ::close(fd);
  std::cout.flush();
  _exit(0);
}

struct Outcome {
  std::string name;
  bool pass = false;
  std::string message;
  double functional_ms = 0, card_ms = 0, wall_ms = 0;
};

Outcome finish(Running& r, int status) {
  Outcome o;
  o.name = r.name;
  o.wall_ms = elapsed_ms(r.start);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(r.fd, buf, sizeof buf)) > 0) r.buffer.append(buf, size_t(n));
  ::close(r.fd);
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    o.message = sig == SIGALRM ? fmt::format("timed out after {} s", 0) : fmt::format("crashed: signal {} ({})", sig, strsignal(sig));
    return o;
  }
  if (r.buffer.size() < 2) {
    o.message = fmt::format("child exited with status {} and no result", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return o;
  }
  o.pass = r.buffer[0] == 'P';
  std::string rest = r.buffer.substr(2);
  char* end = nullptr;
  o.functional_ms = std::strtod(rest.c_str(), &end);
  o.card_ms = std::strtod(end, &end);
  o.message = end && *end == ' ' ? std::string(end + 1) : std::string(end ? end : "");
  return o;
}

int run(const Options& opt) {
  CardConfig cfg = load_config(resolve_config_path(opt.config));
  const auto& ops = compiler_ops();
  std::vector<std::string> in_scope, out_of_scope;
  std::vector<std::pair<std::string, std::string>> skipped;
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(opt.node_dir))
    if (e.is_directory() && fs::exists(e.path() / "model.onnx")) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  if (names.empty()) fail(ErrorKind::Io, "{}: no node tests (is libonnx-testdata installed?)", opt.node_dir);
  const auto& skips = skip_reasons(opt.precision);
  for (const auto& name : names) {
    if (!opt.filters.empty() &&
        std::none_of(opt.filters.begin(), opt.filters.end(), [&](const std::string& f) { return name.find(f) != std::string::npos; }))
      continue;
    onnx::ModelProto m = read_model((fs::path(opt.node_dir) / name / "model.onnx").string());
    bool all_supported = m.graph().node_size() > 0;
    for (const auto& n : m.graph().node())
      all_supported &= (n.domain().empty() || n.domain() == "ai.onnx") && ops.count(n.op_type()) > 0;
    if (!all_supported) {
      out_of_scope.push_back(name);
      continue;
    }
    auto s = skips.find(name);
    if (s != skips.end()) skipped.emplace_back(name, s->second);
    else in_scope.push_back(name);
  }
  if (opt.list) {
    for (auto& n : in_scope) std::cout << n << "\n";
    for (auto& [n, why] : skipped) std::cout << n << "  (skipped: " << why << ")\n";
    return 0;
  }

  auto t0 = Clock::now();
  std::vector<Outcome> outcomes;
  std::vector<Running> running;
  size_t next = 0;
  std::cout.flush();
  while (next < in_scope.size() || !running.empty()) {
    while (next < in_scope.size() && int(running.size()) < std::max(1, opt.jobs)) {
      int fds[2];
      if (::pipe(fds) != 0) fail(ErrorKind::Io, "pipe: {}", std::strerror(errno));
      const std::string& name = in_scope[next++];
      pid_t pid = ::fork();
      if (pid < 0) fail(ErrorKind::Io, "fork: {}", std::strerror(errno));
      if (pid == 0) {
        ::close(fds[0]);
        child_main(fds[1], fs::path(opt.node_dir) / name, opt, cfg);
      }
      ::close(fds[1]);
      running.push_back({pid, fds[0], name, Clock::now(), {}});
    }
    // Drain pipes so a child never blocks on a full pipe, then reap finished children.
    std::vector<pollfd> pf;
    for (auto& r : running) pf.push_back({r.fd, POLLIN, 0});
    ::poll(pf.data(), pf.size(), 50);
    for (size_t i = 0; i < running.size();) {
      Running& r = running[i];
      if (pf.size() > i && (pf[i].revents & POLLIN)) {
        char buf[4096];
        ssize_t n = ::read(r.fd, buf, sizeof buf);
        if (n > 0) r.buffer.append(buf, size_t(n));
      }
      int status = 0;
      pid_t w = ::waitpid(r.pid, &status, WNOHANG);
      if (w == r.pid) {
        Outcome o = finish(r, status);
        if (!o.pass && o.message.rfind("timed out", 0) == 0) o.message = fmt::format("timed out after {} s", opt.timeout_s);
        if (opt.verbose || !o.pass)
          std::cout << (o.pass ? "PASS " : "FAIL ") << o.name << fmt::format(" ({:.0f} ms)", o.wall_ms)
                    << (o.message.empty() ? "" : ": " + o.message) << "\n"
                    << std::flush;
        outcomes.push_back(std::move(o));
        pf.erase(pf.begin() + long(i));
        running.erase(running.begin() + long(i));
      } else {
        ++i;
      }
    }
  }
  double wall = elapsed_ms(t0);

  size_t passed = 0, failed = 0;
  double func_ms = 0, card_ms = 0;
  for (auto& o : outcomes) {
    (o.pass ? passed : failed)++;
    func_ms += o.functional_ms, card_ms += o.card_ms;
  }
  if (!skipped.empty()) {
    std::cout << "\nSkipped (" << skipped.size() << "):\n";
    for (auto& [n, why] : skipped) std::cout << "  " << n << ": " << why << "\n";
  }
  std::cout << fmt::format(
      "\nONNX node conformance on the card ({}, config '{}'): {} node tests use only compiler-supported operators; "
      "{} others use operators outside the compiler's list\n",
      opt.precision, cfg.name, in_scope.size() + skipped.size(), out_of_scope.size());
  std::cout << fmt::format("time: {:.1f} s wall with {} jobs; compile+functional {:.1f} s, SystemC card {:.1f} s (CPU sums)\n",
                           wall / 1000, opt.jobs, func_ms / 1000, card_ms / 1000);
  std::cout << fmt::format("{} passed, {} failed, {} skipped\n", passed, failed, skipped.size());
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace cardsim::conformance

int main(int argc, char** argv) {
  using namespace cardsim;
  conformance::Options opt;
  auto usage = [] {
    std::cerr << "usage: cardsim_conformance [--node-dir DIR] [--filter SUBSTR]... [--precision fp32|fp16|bf16]\n"
                 "                           [--config NAME] [--card all|none] [--jobs N] [--timeout S] [--verbose] [--list]\n";
    return 2;
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "cardsim_conformance: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (a == "--node-dir") opt.node_dir = value();
      else if (a == "--filter") opt.filters.push_back(value());
      else if (a == "--precision") opt.precision = value();
      else if (a == "--config") opt.config = value();
      else if (a == "--card") opt.card = value();
      else if (a == "--jobs") opt.jobs = std::stoi(value());
      else if (a == "--timeout") opt.timeout_s = std::stoi(value());
      else if (a == "--verbose" || a == "-v") opt.verbose = true;
      else if (a == "--list") opt.list = true;
      else if (a == "--help" || a == "-h") return usage(), 0;
      else return usage();
    } catch (const std::exception&) {
      return usage();
    }
  }
  if (opt.card != "all" && opt.card != "none") return usage();
  if (opt.precision != "fp32" && opt.precision != "fp16" && opt.precision != "bf16") return usage();
  try {
    return conformance::run(opt);
  } catch (const Error& e) {
    std::cerr << "cardsim_conformance: " << e.what() << "\n";
    return 2;
  }
}
