#include "sim/sweep/sweep.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "core/error.h"
#include "sim/card_config.h"
#include "sim/config/config.h"

extern char** environ;

namespace cardsim::sweep {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// FNV-1a, 64 bit: stable ids for points and compile-cache keys (not security relevant).
uint64_t fnv1a(const std::string& s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) { h ^= c; h *= 1099511628211ull; }
  return h;
}
std::string hex64(uint64_t v) { return fmt::format("{:016x}", v); }

std::string file_digest(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(ErrorKind::Io, "{}: cannot read", path);
  std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return hex64(fnv1a(data));
}

json::json_pointer pointer_of(const std::string& dotted) {
  std::string p;
  std::stringstream ss(dotted);
  std::string part;
  while (std::getline(ss, part, '.')) p += "/" + part;
  return json::json_pointer(p);
}

void check_keys(const json& j, const std::vector<std::string>& allowed, const std::string& where, const std::string& origin) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end()) {
      std::string list;
      for (auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      fail(ErrorKind::Config, "{}: unknown key '{}{}' (allowed: {})", origin, where, it.key(), list);
    }
  }
}

std::vector<std::string> setting_args(const Point& p) {
  std::vector<std::string> sets;
  for (auto& [path, v] : p.settings) sets.push_back(path + "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
  return sets;
}

// Config fields that change what the compiler emits; memory, link, energy and host
// settings do not, so a pure memory sweep compiles each network once.
json compiler_relevant(json eff) {
  for (const char* k : {"dram", "pcie", "energy", "host", "clock_ghz", "name"}) eff.erase(k);
  return eff;
}

Constraint parse_constraint(const std::string& text, const std::string& origin) {
  static const char* ops[] = {"<=", ">=", "==", "!=", "<", ">"};
  for (const char* op : ops) {
    auto pos = text.find(op);
    if (pos == std::string::npos) continue;
    Constraint c;
    c.text = text;
    c.op = op;
    auto trim = [](std::string s) {
      s.erase(0, s.find_first_not_of(" \t"));
      s.erase(s.find_last_not_of(" \t") + 1);
      return s;
    };
    c.path = trim(text.substr(0, pos));
    std::string rhs = trim(text.substr(pos + std::string(op).size()));
    double mult = 1;
    for (auto [suf, m] : {std::pair{"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}}) {
      if (rhs.size() > 3 && rhs.substr(rhs.size() - 3) == suf) { mult = m; rhs = trim(rhs.substr(0, rhs.size() - 3)); }
    }
    try {
      size_t used = 0;
      c.value = std::stod(rhs, &used) * mult;
      if (used != rhs.size()) throw std::invalid_argument("");
    } catch (const std::exception&) {
      fail(ErrorKind::Config, "{}: constraint '{}': '{}' is not a number (e.g. \"sram.size_bytes <= 32MiB\")", origin, text, rhs);
    }
    return c;
  }
  fail(ErrorKind::Config, "{}: constraint '{}' has no comparison (use <=, <, >=, >, ==, !=)", origin, text);
}

bool satisfies(const Constraint& c, double v) {
  if (c.op == "<=") return v <= c.value;
  if (c.op == "<") return v < c.value;
  if (c.op == ">=") return v >= c.value;
  if (c.op == ">") return v > c.value;
  if (c.op == "==") return v == c.value;
  return v != c.value;
}

}  // namespace

Spec load_spec(const std::string& path) {
  std::ifstream f(path);
  if (!f) fail(ErrorKind::Io, "{}: cannot open sweep spec", path);
  json j;
  try {
    j = json::parse(f);
  } catch (const json::parse_error& e) {
    fail(ErrorKind::Config, "{}: not valid JSON: {}", path, e.what());
  }
  Spec s;
  s.origin = path;
  check_keys(j, {"description", "base", "networks", "precisions", "axes", "sampling", "samples", "seed", "constraints",
                 "metrics", "mode", "timeout_s", "inferences", "slurm"}, "", path);
  fs::path dir = fs::path(path).parent_path();
  try {
    s.base = j.value("base", "default");
    if (!j.contains("networks") || !j["networks"].is_array() || j["networks"].empty())
      fail(ErrorKind::Config, "{}: 'networks' must be a non-empty list", path);
    for (auto& n : j["networks"]) {
      Network net;
      if (n.is_string()) {
        net.name = n.get<std::string>();
      } else {
        check_keys(n, {"name", "model"}, "networks[].", path);
        net.name = n.at("name").get<std::string>();
        net.model = n.value("model", "");
      }
      if (!net.model.empty() && fs::path(net.model).is_relative()) net.model = (dir / net.model).string();
      s.networks.push_back(net);
    }
    if (j.contains("precisions")) s.precisions = j["precisions"].get<std::vector<std::string>>();
    for (auto& p : s.precisions)
      if (p != "int8" && p != "fp16" && p != "bf16" && p != "fp32")
        fail(ErrorKind::Config, "{}: precisions: '{}' is not one of int8, fp16, bf16, fp32", path, p);
    int ai = 0;
    for (auto& a : j.value("axes", json::array())) {
      std::string where = fmt::format("axes[{}]", ai++);
      check_keys(a, {"path", "paths", "values", "range", "name"}, where + ".", path);
      Axis ax;
      if (a.contains("paths")) ax.paths = a["paths"].get<std::vector<std::string>>();
      else if (a.contains("path")) ax.paths = {a["path"].get<std::string>()};
      if (ax.paths.empty()) fail(ErrorKind::Config, "{}: {} needs 'path' or 'paths'", path, where);
      if (a.contains("values")) {
        for (auto& v : a["values"]) ax.values.push_back(v);
      } else if (a.contains("range")) {
        auto& r = a["range"];
        check_keys(r, {"from", "to", "step", "times"}, where + ".range.", path);
        double from = r.at("from").get<double>(), to = r.at("to").get<double>();
        if (r.contains("times")) {
          double t = r["times"].get<double>();
          if (t <= 1) fail(ErrorKind::Config, "{}: {}.range.times must be > 1", path, where);
          for (double v = from; v <= to * (1 + 1e-12); v *= t) ax.values.push_back(json(std::llround(v)));
        } else {
          double st = r.value("step", 1.0);
          if (st <= 0) fail(ErrorKind::Config, "{}: {}.range.step must be > 0", path, where);
          bool integral = from == std::floor(from) && st == std::floor(st);
          for (double v = from; v <= to + 1e-9; v += st) ax.values.push_back(integral ? json(std::llround(v)) : json(v));
        }
      }
      if (ax.values.empty())
        fail(ErrorKind::Config, "{}: {} ({}) is empty: give 'values' or a non-empty 'range'", path, where, ax.paths[0]);
      ax.name = a.value("name", ax.paths[0]);
      s.axes.push_back(ax);
    }
    s.sampling = j.value("sampling", "grid");
    if (s.sampling != "grid" && s.sampling != "random" && s.sampling != "lhs")
      fail(ErrorKind::Config, "{}: sampling '{}' is not one of grid, random, lhs", path, s.sampling);
    s.samples = j.value("samples", 0);
    if (s.sampling != "grid" && s.samples <= 0)
      fail(ErrorKind::Config, "{}: sampling '{}' needs 'samples' > 0", path, s.sampling);
    s.seed = j.value("seed", 1);
    for (auto& c : j.value("constraints", json::array())) s.constraints.push_back(parse_constraint(c.get<std::string>(), path));
    s.metrics = j.value("metrics", std::vector<std::string>{"total.cycles", "total.latency_s", "total.energy_j",
                                                            "total.throughput_inf_per_s", "total.dram_read_bytes"});
    s.mode = j.value("mode", "timing");
    if (s.mode != "timing" && s.mode != "both")
      fail(ErrorKind::Config, "{}: mode '{}' is not one of timing, both", path, s.mode);
    s.timeout_s = j.value("timeout_s", 900.0);
    s.inferences = j.value("inferences", 1);
    s.slurm = j.value("slurm", json::object());
  } catch (const json::exception& e) {
    fail(ErrorKind::Config, "{}: {}", path, e.what());
  }

  // Every axis path must exist in the base configuration.
  CardConfig base = load_config(resolve_config_path(s.base));
  for (auto& ax : s.axes)
    for (auto& p : ax.paths)
      if (!base.effective.contains(pointer_of(p)))
        fail(ErrorKind::Config, "{}: axis path '{}' is not a field of the card configuration (see cardsim config show {})",
             path, p, s.base);
  for (auto& c : s.constraints)
    if (!base.effective.contains(pointer_of(c.path)))
      fail(ErrorKind::Config, "{}: constraint path '{}' is not a field of the card configuration", path, c.path);
  return s;
}

std::vector<Point> expand(const Spec& spec) {
  // Index combinations over the axes.
  std::vector<std::vector<size_t>> combos;
  size_t na = spec.axes.size();
  if (spec.sampling == "grid") {
    std::vector<size_t> idx(na, 0);
    while (true) {
      combos.push_back(idx);
      size_t d = 0;
      while (d < na && ++idx[d] == spec.axes[d].values.size()) idx[d++] = 0;
      if (d == na) break;
    }
  } else {
    std::mt19937_64 rng(spec.seed);
    size_t n = size_t(spec.samples);
    combos.assign(n, std::vector<size_t>(na, 0));
    for (size_t a = 0; a < na; ++a) {
      size_t nv = spec.axes[a].values.size();
      if (spec.sampling == "random") {
        for (size_t i = 0; i < n; ++i) combos[i][a] = size_t(rng() % nv);
      } else {  // Latin hypercube: each of n strata once per axis, in a random order
        std::vector<size_t> strata(n);
        for (size_t i = 0; i < n; ++i) strata[i] = i;
        std::shuffle(strata.begin(), strata.end(), rng);
        for (size_t i = 0; i < n; ++i) combos[i][a] = std::min(nv - 1, strata[i] * nv / n);
      }
    }
  }

  std::vector<Point> points;
  std::set<std::string> seen;
  size_t rejected = 0;
  for (auto& net : spec.networks) {
    for (auto& prec : spec.precisions) {
      for (auto& combo : combos) {
        Point p;
        p.network = net.name;
        p.model = net.model;
        p.precision = prec;
        for (size_t a = 0; a < na; ++a) {
          const json& v = spec.axes[a].values[combo[a]];
          for (auto& path : spec.axes[a].paths) p.settings.emplace_back(path, v);
          p.axis_values[spec.axes[a].name] = v;
        }
        // Validate now (an out-of-range axis value is a spec error, reported before any run)
        // and apply the constraints on the effective configuration.
        CardConfig cfg;
        try {
          cfg = load_config(resolve_config_path(spec.base), setting_args(p));
        } catch (const Error& e) {
          fail(ErrorKind::Config, "{}: design point {}: {}", spec.origin, json(p.axis_values).dump(), e.what());
        }
        bool ok = true;
        for (auto& c : spec.constraints) {
          const json& v = cfg.effective.at(pointer_of(c.path));
          if (!v.is_number()) fail(ErrorKind::Config, "{}: constraint path '{}' is not numeric", spec.origin, c.path);
          ok &= satisfies(c, v.get<double>());
        }
        if (!ok) { ++rejected; continue; }
        json key = {{"network", p.network}, {"precision", p.precision}, {"settings", json(p.settings)}};
        p.id = hex64(fnv1a(key.dump()));
        if (seen.insert(p.id).second) points.push_back(std::move(p));
      }
    }
  }
  if (points.empty())
    fail(ErrorKind::Config, "{}: the constraints reject all {} design points (contradictory constraints?)", spec.origin, rejected);
  return points;
}

std::vector<json> read_results(const std::string& jsonl_path) {
  std::vector<json> rows;
  std::ifstream f(jsonl_path);
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty()) continue;
    try {
      rows.push_back(json::parse(line));
    } catch (const json::parse_error&) {
      // A torn last line from a run killed mid-write: that point simply runs again.
    }
  }
  return rows;
}

void write_csv(const std::vector<json>& rows, const std::string& csv_path) {
  std::vector<std::string> cols;
  std::set<std::string> have;
  for (auto& r : rows)
    for (auto it = r.begin(); it != r.end(); ++it)
      if (have.insert(it.key()).second) cols.push_back(it.key());
  std::string tmp = csv_path + ".tmp";
  {
    std::ofstream f(tmp);
    for (size_t i = 0; i < cols.size(); ++i) f << (i ? "," : "") << cols[i];
    f << "\n";
    for (auto& r : rows) {
      for (size_t i = 0; i < cols.size(); ++i) {
        if (i) f << ",";
        if (!r.contains(cols[i]) || r[cols[i]].is_null()) continue;
        const json& v = r[cols[i]];
        std::string s = v.is_string() ? v.get<std::string>() : v.dump();
        if (s.find_first_of(",\"\n") != std::string::npos) {
          std::string q = "\"";
          for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c == '\n' ? ' ' : c);
          s = q + "\"";
        }
        f << s;
      }
      f << "\n";
    }
  }
  fs::rename(tmp, csv_path);
}

namespace {

struct Child {
  pid_t pid = -1;
  std::chrono::steady_clock::time_point start;
  size_t index = 0;
};

pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) fail(ErrorKind::Io, "cannot start {}: {}", argv[0], std::strerror(rc));
  return pid;
}

std::string last_line(const std::string& path) {
  std::ifstream f(path);
  std::string line, last;
  while (std::getline(f, line))
    if (!line.empty()) last = line;
  return last;
}

// Runs commands with at most `jobs` at a time; `done(i, exit_ok, timed_out)` per command.
template <typename Done>
void pool(const std::vector<std::vector<std::string>>& cmds, const std::vector<std::string>& logs, int jobs,
          double timeout_s, Done done) {
  std::vector<Child> running;
  size_t next = 0;
  while (next < cmds.size() || !running.empty()) {
    while (next < cmds.size() && int(running.size()) < std::max(1, jobs)) {
      running.push_back({spawn(cmds[next], logs[next]), std::chrono::steady_clock::now(), next});
      ++next;
    }
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      auto it = std::find_if(running.begin(), running.end(), [&](auto& c) { return c.pid == pid; });
      if (it == running.end()) continue;
      bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      size_t i = it->index;
      running.erase(it);
      done(i, ok, false, status);
      continue;
    }
    auto now = std::chrono::steady_clock::now();
    for (auto it = running.begin(); it != running.end();) {
      if (std::chrono::duration<double>(now - it->start).count() > timeout_s) {
        kill(it->pid, SIGKILL);
        waitpid(it->pid, &status, 0);
        size_t i = it->index;
        it = running.erase(it);
        done(i, false, true, status);
      } else {
        ++it;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

json metric_at(const json& report, const std::string& dotted) {
  auto ptr = pointer_of(dotted);
  return report.contains(ptr) ? report.at(ptr) : json();
}

std::string model_for(const Spec& spec, const Point& p, const RunnerOptions& opt) {
  if (!p.model.empty()) return p.model;
  // A bare network name: one of the torchvision exports of tools/export_models.py.
  const char* env = std::getenv("CARDSIM_MODELS");
  fs::path dir = env ? fs::path(env) : fs::path(CARDSIM_SOURCE_DIR) / "build" / "models";
  fs::path model = dir / p.network / "model.onnx";
  if (!fs::exists(model)) {
    std::string cmd = fmt::format("/usr/bin/python3 '{}/tools/export_models.py' --out '{}' '{}' >&2", CARDSIM_SOURCE_DIR,
                                  dir.string(), p.network);
    if (std::system(cmd.c_str()) != 0 || !fs::exists(model))
      fail(ErrorKind::Io, "{}: network '{}' has no 'model' path and could not be exported ({})", spec.origin, p.network, cmd);
  }
  return model.string();
}

}  // namespace

int run_local(const Spec& spec, const std::vector<Point>& all_points, const RunnerOptions& opt) {
  fs::create_directories(fs::path(opt.out_dir) / "cache");
  fs::create_directories(fs::path(opt.out_dir) / "logs");
  fs::create_directories(fs::path(opt.out_dir) / "reports");
  std::string jsonl = (fs::path(opt.out_dir) / (opt.results_name + ".jsonl")).string();
  std::string csv = (fs::path(opt.out_dir) / (opt.results_name + ".csv")).string();

  std::vector<Point> points;
  for (size_t i = 0; i < all_points.size(); ++i)
    if (int(i % size_t(opt.shard_count)) == opt.shard_index) points.push_back(all_points[i]);

  auto rows = read_results(jsonl);
  std::set<std::string> done_ids;
  for (auto& r : rows) done_ids.insert(r.value("id", ""));
  // Rewrite the file without a torn tail so appends start on a clean line.
  {
    std::string tmp = jsonl + ".tmp";
    std::ofstream f(tmp);
    for (auto& r : rows) f << r.dump() << "\n";
    f.close();
    fs::rename(tmp, jsonl);
  }
  std::vector<Point> todo;
  for (auto& p : points)
    if (!done_ids.count(p.id)) todo.push_back(p);
  if (!opt.quiet)
    std::cerr << fmt::format("sweep: {} points ({} already done), {} to run with {} jobs\n", points.size(),
                             points.size() - todo.size(), todo.size(), opt.jobs);

  // 1. Compile each (network, precision, compiler-relevant config) once.
  std::map<std::string, std::string> cbin_of;  // point id -> cbin
  std::vector<std::vector<std::string>> compile_cmds;
  std::vector<std::string> compile_logs, compile_keys;
  std::map<std::string, std::string> key_error;
  std::map<std::string, std::string> digest_of;  // model path -> content digest (hashed once)
  for (auto& p : todo) {
    std::string model = model_for(spec, p, opt);
    if (!digest_of.count(model)) digest_of[model] = file_digest(model);
    CardConfig cfg = load_config(resolve_config_path(spec.base), setting_args(p));
    std::string key = hex64(fnv1a(digest_of[model] + p.precision + compiler_relevant(cfg.effective).dump()));
    std::string cbin = (fs::path(opt.out_dir) / "cache" / (key + ".cbin")).string();
    cbin_of[p.id] = cbin;
    if (fs::exists(cbin) || std::find(compile_keys.begin(), compile_keys.end(), key) != compile_keys.end()) continue;
    std::vector<std::string> cmd = {opt.cardsim, "compile", model, "-c", resolve_config_path(spec.base), "--precision",
                                    p.precision, "-o", cbin};
    for (auto& s : setting_args(p)) { cmd.push_back("--set"); cmd.push_back(s); }
    compile_cmds.push_back(cmd);
    compile_logs.push_back((fs::path(opt.out_dir) / "logs" / ("compile-" + key + ".log")).string());
    compile_keys.push_back(key);
  }
  pool(compile_cmds, compile_logs, opt.jobs, spec.timeout_s, [&](size_t i, bool ok, bool timed_out, int) {
    if (!ok) key_error[compile_keys[i]] = timed_out ? "compile timed out" : "compile failed: " + last_line(compile_logs[i]);
  });

  // 2. Run the points; each result is appended as one line the moment it is known.
  // One write() per point on an O_APPEND descriptor, then fsync: a kill leaves at most a
  // torn last line, which read_results ignores so that point simply runs again.
  int out_fd = ::open(jsonl.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
  if (out_fd < 0) fail(ErrorKind::Io, "{}: cannot append: {}", jsonl, std::strerror(errno));
  int failed = 0;
  std::vector<std::vector<std::string>> cmds;
  std::vector<std::string> logs, reports;
  std::vector<const Point*> which;
  auto record = [&](const Point& p, const json& metrics_or_error, bool ok) {
    json row = {{"id", p.id}, {"network", p.network}, {"precision", p.precision}};
    for (auto& [k, v] : p.axis_values) row[k] = v;
    row["status"] = ok ? "ok" : "error";
    if (ok) {
      for (auto& m : spec.metrics) row[m] = metric_at(metrics_or_error, m);
    } else {
      row["error"] = metrics_or_error;
      ++failed;
    }
    std::string line = row.dump() + "\n";
    if (::write(out_fd, line.data(), line.size()) != ssize_t(line.size()) || ::fsync(out_fd) != 0)
      fail(ErrorKind::Io, "{}: cannot append result: {}", jsonl, std::strerror(errno));
    if (!opt.quiet) std::cerr << fmt::format("sweep: {} {} {} {}\n", p.id, p.network, ok ? "ok" : "FAILED", ok ? "" : row["error"].dump());
  };
  for (auto& p : todo) {
    std::string cbin = cbin_of[p.id];
    std::string key = fs::path(cbin).stem().string();
    if (key_error.count(key)) { record(p, key_error[key], false); continue; }
    std::string report = (fs::path(opt.out_dir) / "reports" / (p.id + ".json")).string();
    std::vector<std::string> cmd = {opt.cardsim, "run", cbin, "-c", resolve_config_path(spec.base), "--mode", spec.mode,
                                    "--inferences", std::to_string(spec.inferences), "--report", report, "--quiet"};
    for (auto& s : setting_args(p)) { cmd.push_back("--set"); cmd.push_back(s); }
    cmds.push_back(cmd);
    logs.push_back((fs::path(opt.out_dir) / "logs" / (p.id + ".log")).string());
    reports.push_back(report);
    which.push_back(&p);
  }
  pool(cmds, logs, opt.jobs, spec.timeout_s, [&](size_t i, bool ok, bool timed_out, int status) {
    const Point& p = *which[i];
    if (!ok) {
      record(p, timed_out ? fmt::format("timed out after {} s", spec.timeout_s)
                          : (WIFSIGNALED(status) ? fmt::format("crashed (signal {})", WTERMSIG(status)) : last_line(logs[i])),
             false);
      return;
    }
    std::ifstream f(reports[i]);
    try {
      record(p, json::parse(f), true);
    } catch (const std::exception& e) {
      record(p, std::string("unreadable report: ") + e.what(), false);
    }
  });
  ::close(out_fd);

  // CSV in point order, whatever order points finished in.
  auto final_rows = read_results(jsonl);
  std::map<std::string, json> by_id;
  for (auto& r : final_rows) by_id[r.value("id", "")] = r;
  std::vector<json> ordered;
  for (auto& p : points)
    if (by_id.count(p.id)) ordered.push_back(by_id[p.id]);
  write_csv(ordered, csv);
  return failed;
}

int run_slurm(const Spec& spec, const std::string& spec_path, const std::vector<Point>& points, const RunnerOptions& opt) {
  auto have = [](const std::string& tool) { return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0; };
  if (!have("sbatch"))
    fail(ErrorKind::Io, "--backend slurm: 'sbatch' is not on PATH (install Slurm's client tools or use --backend local)");
  if (std::system("timeout 20 scontrol ping >/dev/null 2>&1") != 0)
    fail(ErrorKind::Io, "--backend slurm: the Slurm controller does not answer 'scontrol ping' (is slurmctld running and "
                        "SLURM_CONF right?)");
  int chunk = spec.slurm.value("chunk", 8);
  int tasks = int((points.size() + size_t(chunk) - 1) / size_t(chunk));
  fs::path out = fs::absolute(opt.out_dir);
  fs::create_directories(out / "slurm");
  std::string script = (out / "sweep.sbatch").string();
  {
    std::ofstream f(script);
    f << "#!/bin/bash\n";
    f << "#SBATCH --job-name=cardsim-sweep\n";
    f << fmt::format("#SBATCH --array=0-{}\n", tasks - 1);
    f << fmt::format("#SBATCH --output={}/slurm/%A_%a.out\n", out.string());
    f << "#SBATCH --ntasks=1\n";
    f << fmt::format("#SBATCH --cpus-per-task={}\n", spec.slurm.value("cpus_per_task", 1));
    if (spec.slurm.contains("partition")) f << "#SBATCH --partition=" << spec.slurm["partition"].get<std::string>() << "\n";
    if (spec.slurm.contains("time")) f << "#SBATCH --time=" << spec.slurm["time"].get<std::string>() << "\n";
    if (spec.slurm.contains("mem")) f << "#SBATCH --mem=" << spec.slurm["mem"].get<std::string>() << "\n";
    f << "# Each array task runs one shard (a chunk of points) of the same spec; results land in\n"
         "# shard-K.jsonl and `cardsim sweep` merges them when the array has finished.\n";
    f << fmt::format("exec '{}' sweep '{}' -o '{}' --backend local --jobs 1 --shard ${{SLURM_ARRAY_TASK_ID}}/{} "
                     "--results-name shard-${{SLURM_ARRAY_TASK_ID}} --quiet\n",
                     fs::absolute(opt.cardsim).string(), fs::absolute(spec_path).string(), out.string(), tasks);
  }
  std::string cmd = fmt::format("sbatch --wait '{}'", script);
  if (!opt.quiet) std::cerr << "sweep: submitting " << tasks << " array tasks: " << cmd << "\n";
  int rc = std::system(cmd.c_str());
  // Merge shards (whatever finished) into results.jsonl, in point order.
  std::map<std::string, json> by_id;
  for (auto& r : read_results((out / (opt.results_name + ".jsonl")).string())) by_id[r.value("id", "")] = r;
  for (int t = 0; t < tasks; ++t)
    for (auto& r : read_results((out / fmt::format("shard-{}.jsonl", t)).string())) by_id[r.value("id", "")] = r;
  std::vector<json> ordered;
  int failed = 0;
  for (auto& p : points) {
    if (!by_id.count(p.id)) { ++failed; continue; }
    ordered.push_back(by_id[p.id]);
    failed += ordered.back().value("status", "") != "ok";
  }
  {
    std::string tmp = (out / (opt.results_name + ".jsonl.tmp")).string();
    std::ofstream f(tmp);
    for (auto& r : ordered) f << r.dump() << "\n";
    f.close();
    fs::rename(tmp, out / (opt.results_name + ".jsonl"));
  }
  write_csv(ordered, (out / (opt.results_name + ".csv")).string());
  if (rc != 0 && !opt.quiet) std::cerr << "sweep: sbatch reported failure (exit " << rc << "); see " << (out / "slurm").string() << "\n";
  return failed;
}

std::vector<size_t> pareto_front(const std::vector<std::vector<double>>& obj) {
  std::vector<size_t> front;
  for (size_t i = 0; i < obj.size(); ++i) {
    bool dominated = false;
    for (size_t j = 0; j < obj.size() && !dominated; ++j) {
      if (i == j) continue;
      bool all_le = true, one_lt = false;
      for (size_t k = 0; k < obj[i].size(); ++k) {
        all_le &= obj[j][k] <= obj[i][k];
        one_lt |= obj[j][k] < obj[i][k];
      }
      dominated = all_le && one_lt;
    }
    if (!dominated) front.push_back(i);
  }
  return front;
}

}  // namespace cardsim::sweep
