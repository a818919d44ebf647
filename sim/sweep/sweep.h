// Design-space sweeps: a spec (base config, axes over config paths, networks, precisions,
// constraints, metrics) expands to design points; each point runs in its own process
// (`cardsim run ... --mode timing --report`), so a crash or timeout loses only that point.
// Results are appended as JSON lines (one write per point) and mirrored to CSV; a re-run
// skips points already recorded.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cardsim::sweep {

struct Network {
  std::string name;
  std::string model;  // path to .onnx
};

struct Axis {
  std::vector<std::string> paths;      // config paths set together (e.g. matrix.rows + matrix.cols)
  std::vector<nlohmann::json> values;  // candidate values
  std::string name;                    // column name in results
};

struct Constraint {
  std::string path;  // config path
  std::string op;    // <=, <, >=, >, ==, !=
  double value = 0;
  std::string text;
};

struct Spec {
  std::string origin;                  // file the spec came from
  std::string base = "default";        // preset name or config path
  std::vector<Network> networks;
  std::vector<std::string> precisions{"int8"};
  std::vector<Axis> axes;
  std::string sampling = "grid";       // grid | random | lhs
  int samples = 0;                     // for random / lhs
  uint64_t seed = 1;
  std::vector<Constraint> constraints;
  std::vector<std::string> metrics;    // report JSON paths, e.g. total.latency_s
  std::string mode = "timing";         // timing | both
  double timeout_s = 900;
  int inferences = 1;
  nlohmann::json slurm;                // partition, time, mem, cpus_per_task, chunk
};

struct Point {
  std::string id;                       // stable hash of network, precision and settings
  std::string network, model, precision;
  std::vector<std::pair<std::string, nlohmann::json>> settings;  // path -> value
  std::map<std::string, nlohmann::json> axis_values;            // axis name -> value
};

// Parses and validates a spec (every axis path must exist in the base config; an empty
// axis, unknown keys or a constraint that no point satisfies is an error naming the path)
// before anything runs. `spec_dir` resolves relative model paths.
Spec load_spec(const std::string& path);
std::vector<Point> expand(const Spec& spec);

struct RunnerOptions {
  std::string out_dir;
  int jobs = 1;
  std::string cardsim;     // path of the cardsim executable to run points with
  int shard_index = 0, shard_count = 1;  // --shard K/N: this process runs points with i % N == K
  std::string results_name = "results";  // results.jsonl / results.csv
  bool quiet = false;
};

// Runs every point not yet in OUT/results.jsonl. Returns the number of failed points.
int run_local(const Spec& spec, const std::vector<Point>& points, const RunnerOptions& opt);
// Writes OUT/sweep.sbatch (an array job whose tasks each run a chunk via --shard),
// submits it with `sbatch --wait`, then merges the shard results. Returns failed points.
int run_slurm(const Spec& spec, const std::string& spec_path, const std::vector<Point>& points,
              const RunnerOptions& opt);

// Reads results.jsonl back (ignoring a torn last line from a killed run).
std::vector<nlohmann::json> read_results(const std::string& jsonl_path);
void write_csv(const std::vector<nlohmann::json>& rows, const std::string& csv_path);

// Pareto front of rows (from CSV) minimising the given columns; returns row indices.
std::vector<size_t> pareto_front(const std::vector<std::vector<double>>& objectives);

}  // namespace cardsim::sweep
