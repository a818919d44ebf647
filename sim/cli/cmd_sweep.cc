#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"
#include "sim/cli/cli.h"
#include "sim/sweep/sweep.h"

namespace cardsim::cli {

namespace fs = std::filesystem;

static std::string self_path() {
  return fs::canonical("/proc/self/exe").string();
}

int cmd_sweep(const Args& args) {
  po::options_description opts("sweep options");
  std::string spec_path, out, backend = "local", shard, results_name = "results";
  int jobs = 2;
  bool resume = false, quiet = false, dry = false;
  opts.add_options()
      ("spec", po::value(&spec_path)->required(), "sweep spec (JSON)")
      ("output,o", po::value(&out)->required(), "output folder (results.jsonl, results.csv, cache/, logs/)")
      ("jobs,j", po::value(&jobs)->default_value(2), "points run in parallel (local backend)")
      ("backend", po::value(&backend)->default_value("local"), "local | slurm")
      ("resume", po::bool_switch(&resume), "continue a previous run (the default behaviour: done points are skipped)")
      ("shard", po::value(&shard), "K/N: run only the points with index % N == K (any scheduler)")
      ("results-name", po::value(&results_name)->default_value("results"), "base name of the results files")
      ("dry-run", po::bool_switch(&dry), "list the design points and exit")
      ("quiet", po::bool_switch(&quiet), "no progress lines");
  po::positional_options_description pos;
  pos.add("spec", 1);
  po::variables_map vm;
  if (!parse(args, opts, pos, vm, "cardsim sweep SPEC.json -o DIR [--jobs N] [--backend local|slurm] [--resume]",
             "  cardsim sweep configs/sweeps/array-size.json -o out/array-size --jobs 2\n"
             "  cardsim sweep configs/sweeps/dataflow.json -o out/df --backend slurm\n"
             "  cardsim sweep spec.json -o out --shard 3/16     # one shard, from any scheduler\n"))
    return 0;
  sweep::Spec spec = sweep::load_spec(spec_path);
  auto points = sweep::expand(spec);
  if (dry) {
    for (auto& p : points) std::cout << p.id << " " << p.network << " " << p.precision << " " << nlohmann::json(p.axis_values).dump() << "\n";
    std::cout << points.size() << " points\n";
    return 0;
  }
  sweep::RunnerOptions ro;
  ro.out_dir = out;
  ro.jobs = jobs;
  ro.cardsim = self_path();
  ro.results_name = results_name;
  ro.quiet = quiet;
  if (!shard.empty()) {
    int k = -1, n = 0;
    char slash = 0;
    std::istringstream ss(shard);
    if (!(ss >> k >> slash >> n) || slash != '/' || n <= 0 || k < 0 || k >= n)
      fail(ErrorKind::Usage, "--shard '{}': expected K/N with 0 <= K < N", shard);
    ro.shard_index = k;
    ro.shard_count = n;
  }
  int failed;
  if (backend == "local") failed = sweep::run_local(spec, points, ro);
  else if (backend == "slurm") failed = sweep::run_slurm(spec, spec_path, points, ro);
  else fail(ErrorKind::Usage, "--backend '{}': expected local or slurm", backend);
  std::cout << fmt::format("sweep: {} points, {} failed; results in {}/{}.csv\n", points.size(), failed, out, results_name);
  return 0;
}

// Reads a results CSV (as written by sweep) into header + rows of strings.
static std::vector<std::vector<std::string>> read_csv(const std::string& path) {
  std::ifstream f(path);
  if (!f) fail(ErrorKind::Io, "{}: cannot open", path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(f, line)) {
    std::vector<std::string> cells;
    std::string cur;
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
      char c = line[i];
      if (quoted) {
        if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') { cur += '"'; ++i; }
        else if (c == '"') quoted = false;
        else cur += c;
      } else if (c == '"') quoted = true;
      else if (c == ',') { cells.push_back(cur); cur.clear(); }
      else cur += c;
    }
    cells.push_back(cur);
    rows.push_back(cells);
  }
  if (rows.empty()) fail(ErrorKind::Format, "{}: empty CSV", path);
  return rows;
}

int cmd_pareto(const Args& args) {
  po::options_description opts("pareto options");
  std::string csv, minimize, out;
  opts.add_options()
      ("results", po::value(&csv)->required(), "results CSV of a sweep")
      ("minimize", po::value(&minimize)->required(), "comma-separated columns to minimise, e.g. total.latency_s,total.energy_j")
      ("output,o", po::value(&out), "write the front as CSV here (default: RESULTS with -pareto suffix)");
  po::positional_options_description pos;
  pos.add("results", 1);
  po::variables_map vm;
  if (!parse(args, opts, pos, vm, "cardsim pareto RESULTS.csv --minimize COL1,COL2 [-o FRONT.csv]",
             "  cardsim pareto out/array-size/results.csv --minimize total.latency_s,total.energy_j\n"))
    return 0;
  auto rows = read_csv(csv);
  std::vector<size_t> cols;
  std::stringstream ss(minimize);
  std::string name;
  while (std::getline(ss, name, ',')) {
    auto it = std::find(rows[0].begin(), rows[0].end(), name);
    if (it == rows[0].end()) {
      std::string have;
      for (auto& h : rows[0]) have += " " + h;
      fail(ErrorKind::Usage, "--minimize: column '{}' is not in {} (columns:{})", name, csv, have);
    }
    cols.push_back(size_t(it - rows[0].begin()));
  }
  std::vector<std::vector<double>> obj;
  std::vector<size_t> row_of;
  for (size_t r = 1; r < rows.size(); ++r) {
    std::vector<double> v;
    bool ok = true;
    for (size_t c : cols) {
      try {
        v.push_back(c < rows[r].size() ? std::stod(rows[r][c]) : 0);
      } catch (const std::exception&) {
        ok = false;  // failed points have no metrics
      }
    }
    if (ok) { obj.push_back(v); row_of.push_back(r); }
  }
  auto front = sweep::pareto_front(obj);
  if (out.empty()) out = (fs::path(csv).parent_path() / (fs::path(csv).stem().string() + "-pareto.csv")).string();
  std::ofstream f(out + ".tmp");
  auto join = [](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t i = 0; i < cells.size(); ++i) s += (i ? "," : "") + cells[i];
    return s;
  };
  f << join(rows[0]) << "\n";
  std::cout << fmt::format("Pareto front of {} points ({} minimised): {} points\n", obj.size(), minimize, front.size());
  for (size_t i : front) {
    f << join(rows[row_of[i]]) << "\n";
    std::cout << "  " << join(rows[row_of[i]]) << "\n";
  }
  f.close();
  fs::rename(out + ".tmp", out);
  std::cout << "written to " << out << "\n";
  return 0;
}

int cmd_plot(const Args& args) {
  po::options_description opts("plot options");
  std::string input, out;
  std::string minimize;
  opts.add_options()
      ("input", po::value(&input)->required(), "a report JSON (cardsim run --report) or a sweep results CSV")
      ("output,o", po::value(&out)->required(), "folder for the PNG/SVG plots")
      ("minimize", po::value(&minimize)->default_value("total.latency_s,total.energy_j"), "sweep plots: the Pareto objectives");
  po::positional_options_description pos;
  pos.add("input", 1);
  po::variables_map vm;
  if (!parse(args, opts, pos, vm, "cardsim plot REPORT.json|RESULTS.csv -o DIR",
             "  cardsim plot report.json -o plots/\n  cardsim plot out/array-size/results.csv -o docs/array-size\n"))
    return 0;
  std::string tool = std::string(CARDSIM_SOURCE_DIR) + "/tools/plot.py";
  std::string cmd = fmt::format("/usr/bin/python3 '{}' '{}' -o '{}' --minimize '{}'", tool, input, out, minimize);
  int rc = std::system(cmd.c_str());
  if (rc != 0) fail(ErrorKind::Io, "plotting failed: '{}' exited with {}", cmd, rc);
  return 0;
}

}  // namespace cardsim::cli
