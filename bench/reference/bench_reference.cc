// Times ref::run_graph on whole networks and checks the result against the case's
// expected output. usage: bench_reference [--profile] CASE_DIR...
// CASE_DIR holds model.onnx and test_data_set_0/{input,output}_N.pb (tools/export_models.py).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "compiler/frontend/onnx_loader.h"
#include "compiler/frontend/tensor_io.h"
#include "compiler/reference/ops.h"
#include "core/error.h"

using namespace cardsim;
using Clock = std::chrono::steady_clock;

// Process CPU time: on a shared machine wall time mostly measures the other processes.
static double cpu_ms() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) * 1e3 + double(t.tv_nsec) * 1e-6;
}

static double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Per-op-type wall time from running the nodes one by one (same kernels as run_graph).
static void profile(const ir::Graph& g, const std::map<std::string, Tensor>& feed) {
  std::map<std::string, Tensor> env = feed;
  for (auto& [name, v] : g.values)
    if (v.constant) env.emplace(name, *v.constant);
  std::map<std::string, std::pair<double, int>> per_op;
  for (const auto& n : g.nodes) {
    std::vector<const Tensor*> args;
    for (auto& i : n.inputs) args.push_back(i.empty() ? nullptr : &env.at(i));
    double c0 = cpu_ms();
    auto out = ref::run_node(n, args);
    auto& e = per_op[n.op_type];
    e.first += cpu_ms() - c0;
    e.second += 1;
    for (size_t k = 0; k < n.outputs.size() && k < out.size(); ++k)
      if (!n.outputs[k].empty()) env[n.outputs[k]] = std::move(out[k]);
  }
  for (auto& [op, e] : per_op) std::printf("    %-22s %4d nodes %9.1f ms cpu\n", op.c_str(), e.second, e.first);
}

int main(int argc, char** argv) {
  bool prof = false;
  int status = 0;
  for (int a = 1; a < argc; ++a) {
    std::string dir = argv[a];
    if (dir == "--profile") { prof = true; continue; }
    try {
      auto t0 = Clock::now();
      ir::Graph g = load_onnx(dir + "/model.onnx");
      double load_ms = ms_since(t0);
      auto inputs = read_test_data_dir(dir + "/test_data_set_0", "input_");
      auto expected = read_test_data_dir(dir + "/test_data_set_0", "output_");
      std::map<std::string, Tensor> feed;
      for (size_t i = 0; i < inputs.size() && i < g.inputs.size(); ++i) feed[g.inputs[i]] = inputs[i].second;
      t0 = Clock::now();
      double c0 = cpu_ms();
      auto out = ref::run_graph(g, feed);
      double run_ms = ms_since(t0), run_cpu = cpu_ms() - c0;
      const Tensor& got = out.at(g.outputs.at(0));
      const Tensor& want = expected.at(0).second;
      double max_err = 0, max_ref = 0;
      size_t arg_got = 0, arg_want = 0;
      for (size_t i = 0; i < size_t(want.numel()) && i < size_t(got.numel()); ++i) {
        max_err = std::max(max_err, std::fabs(got.get(i) - want.get(i)));
        max_ref = std::max(max_ref, std::fabs(want.get(i)));
        if (got.get(i) > got.get(arg_got)) arg_got = i;
        if (want.get(i) > want.get(arg_want)) arg_want = i;
      }
      bool ok = got.shape == want.shape && max_err <= 1e-3 * std::max(1.0, max_ref);
      std::printf("%s: %zu nodes, load %.0f ms, run_graph %.0f ms wall / %.0f ms cpu, max |err| %.3g (max |ref| %.3g), argmax %zu vs %zu: %s\n",
                  dir.c_str(), g.nodes.size(), load_ms, run_ms, run_cpu, max_err, max_ref, arg_got, arg_want, ok ? "OK" : "MISMATCH");
      if (!ok) status = 1;
      if (prof) profile(g, feed);
    } catch (const Error& e) {
      std::fprintf(stderr, "%s: %s\n", dir.c_str(), e.what());
      status = 1;
    }
  }
  return status;
}
