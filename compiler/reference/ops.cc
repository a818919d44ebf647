// Operator table, run_node and run_graph.
#include "compiler/reference/ops.h"

#include <algorithm>
#include <set>

#include "compiler/reference/detail.h"

namespace cardsim::ref {

using namespace detail;

static const KernelTable& table() {
  static const KernelTable t = [] {
    KernelTable k;
    register_elementwise(k);
    register_linalg(k);
    register_nn(k);
    register_shape_ops(k);
    register_resize(k);
    register_index_ops(k);
    register_rnn(k);
    return k;
  }();
  return t;
}

static bool is_onnx_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

bool is_supported(const std::string& op_type) { return table().count(op_type) != 0; }

std::vector<std::string> supported_ops() {
  std::vector<std::string> r;
  for (auto& [name, k] : table()) r.push_back(name);
  return r;  // std::map keeps them sorted: deterministic
}

std::vector<Tensor> run_node(const ir::Node& node, const std::vector<const Tensor*>& inputs) {
  auto it = table().find(node.op_type);
  if (!is_onnx_domain(node.domain) || it == table().end())
    unsupported(node, "operator is not implemented by the reference kernels (see ref::supported_ops())");
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i] && inputs[i]->dtype == DType::String && node.op_type != "Identity" && node.op_type != "Constant")
      unsupported(node, fmt::format("input {} has string type", i));
  }
  Outputs out = it->second(node, inputs);
  if (out.size() > node.outputs.size() && !node.outputs.empty())
    out.resize(node.outputs.size());  // kernels may compute optional outputs nobody asked for
  for (size_t k = out.size(); k < node.outputs.size(); ++k)
    if (!node.outputs[k].empty())
      unsupported(node, fmt::format("output {} ('{}') is not computed by the reference kernel", k, node.outputs[k]));
  return out;
}

std::map<std::string, Tensor> run_graph(const ir::Graph& g, const std::map<std::string, Tensor>& inputs) {
  return run_graph(g, inputs, nullptr);
}

std::map<std::string, Tensor> run_graph(const ir::Graph& g, const std::map<std::string, Tensor>& inputs,
                                        const ValueObserver& observe) {
  std::map<std::string, Tensor> env = inputs;
  if (observe)
    for (auto& [name, t] : inputs) observe(name, t);
  // Constants are read in place from the graph (no copy of the weights per run).
  auto constant_of = [&](const std::string& n) -> const Tensor* {
    auto v = g.values.find(n);
    return v != g.values.end() && v->second.constant ? &*v->second.constant : nullptr;
  };
  for (auto& name : g.inputs)
    if (!env.count(name)) fail(ErrorKind::Usage, "graph '{}': no value given for input '{}'", g.name, name);

  // Free intermediates after their last use so big networks do not hold every activation.
  std::map<std::string, size_t> last_use;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (auto& n : g.nodes[i].inputs)
      if (!n.empty()) last_use[n] = i;
  std::set<std::string> keep(g.outputs.begin(), g.outputs.end());

  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& node = g.nodes[i];
    std::vector<const Tensor*> args;
    for (auto& n : node.inputs) {
      if (n.empty()) { args.push_back(nullptr); continue; }
      auto it = env.find(n);
      const Tensor* t = it != env.end() ? &it->second : constant_of(n);
      if (!t) fail(ErrorKind::Format, "{}: input '{}' has no value (graph not in topological order?)", where(node), n);
      args.push_back(t);
    }
    std::vector<Tensor> out = run_node(node, args);
    for (size_t k = 0; k < node.outputs.size(); ++k) {
      if (node.outputs[k].empty()) continue;
      if (k >= out.size()) fail(ErrorKind::Internal, "{}: kernel produced no output {}", where(node), k);
      if (observe) observe(node.outputs[k], out[k]);
      env[node.outputs[k]] = std::move(out[k]);
    }
    for (auto& n : node.inputs) {
      if (n.empty() || keep.count(n)) continue;
      auto lu = last_use.find(n);
      if (lu != last_use.end() && lu->second == i) env.erase(n);
    }
  }
  std::map<std::string, Tensor> result;
  for (auto& name : g.outputs) {
    auto it = env.find(name);
    const Tensor* t = it != env.end() ? &it->second : constant_of(name);
    if (!t) fail(ErrorKind::Format, "graph '{}': output '{}' is never produced", g.name, name);
    result[name] = *t;
  }
  return result;
}

}  // namespace cardsim::ref
