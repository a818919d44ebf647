#include "compiler/ir/graph_utils.h"

#include <algorithm>
#include <set>

#include "core/error.h"

namespace cardsim::ir {

std::map<std::string, size_t> producers(const Graph& g) {
  std::map<std::string, size_t> p;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& o : g.nodes[i].outputs)
      if (!o.empty()) p[o] = i;
  return p;
}

std::map<std::string, std::vector<size_t>> consumers(const Graph& g) {
  std::map<std::string, std::vector<size_t>> c;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& in : g.nodes[i].inputs) {
      if (in.empty()) continue;
      auto& v = c[in];
      if (v.empty() || v.back() != i) v.push_back(i);
    }
  return c;
}

void topo_sort(Graph& g) {
  auto prod = producers(g);
  const size_t n = g.nodes.size();
  // Kahn's algorithm, always taking the lowest-index ready node: a valid order is kept.
  std::vector<size_t> pending(n, 0);
  std::vector<std::vector<size_t>> users(n);
  for (size_t i = 0; i < n; ++i) {
    std::set<size_t> deps;
    for (const auto& in : g.nodes[i].inputs) {
      if (in.empty()) continue;
      auto it = prod.find(in);
      if (it != prod.end()) {
        if (it->second == i)
          fail(ErrorKind::Format, "node '{}' ({}) reads its own output '{}'", g.nodes[i].name, g.nodes[i].op_type, in);
        deps.insert(it->second);
      } else if (!g.values.count(in) ||
                 (!g.is_constant(in) && std::find(g.inputs.begin(), g.inputs.end(), in) == g.inputs.end())) {
        fail(ErrorKind::Format, "node '{}' ({}) reads '{}', which is not a graph input, initializer or output of any node",
             g.nodes[i].name, g.nodes[i].op_type, in);
      }
    }
    pending[i] = deps.size();
    for (size_t d : deps) users[d].push_back(i);
  }
  std::set<size_t> ready;
  for (size_t i = 0; i < n; ++i)
    if (pending[i] == 0) ready.insert(i);
  std::vector<Node> sorted;
  sorted.reserve(n);
  std::vector<bool> done(n, false);
  while (!ready.empty()) {
    size_t i = *ready.begin();
    ready.erase(ready.begin());
    done[i] = true;
    sorted.push_back(std::move(g.nodes[i]));
    for (size_t u : users[i])
      if (--pending[u] == 0) ready.insert(u);
  }
  if (sorted.size() != n) {
    for (size_t i = 0; i < n; ++i)
      if (!done[i]) fail(ErrorKind::Format, "node '{}' ({}) is part of a cycle", g.nodes[i].name, g.nodes[i].op_type);
  }
  g.nodes = std::move(sorted);
}

size_t remove_dead_nodes(Graph& g) {
  std::set<std::string> live(g.outputs.begin(), g.outputs.end());
  std::vector<bool> keep(g.nodes.size(), false);
  for (size_t k = g.nodes.size(); k-- > 0;) {
    const Node& nd = g.nodes[k];
    for (const auto& o : nd.outputs)
      if (!o.empty() && live.count(o)) keep[k] = true;
    if (keep[k])
      for (const auto& in : nd.inputs)
        if (!in.empty()) live.insert(in);
  }
  std::vector<Node> kept;
  for (size_t k = 0; k < g.nodes.size(); ++k)
    if (keep[k]) kept.push_back(std::move(g.nodes[k]));
  size_t removed = g.nodes.size() - kept.size();
  g.nodes = std::move(kept);
  return removed;
}

size_t remove_unused_values(Graph& g) {
  std::set<std::string> used(g.inputs.begin(), g.inputs.end());
  used.insert(g.outputs.begin(), g.outputs.end());
  for (const auto& nd : g.nodes) {
    used.insert(nd.inputs.begin(), nd.inputs.end());
    used.insert(nd.outputs.begin(), nd.outputs.end());
  }
  size_t removed = 0;
  for (auto it = g.values.begin(); it != g.values.end();) {
    if (used.count(it->first)) {
      ++it;
    } else {
      it = g.values.erase(it);
      ++removed;
    }
  }
  return removed;
}

void replace_uses(Graph& g, const std::string& from, const std::string& to) {
  for (auto& nd : g.nodes)
    for (auto& in : nd.inputs)
      if (in == from) in = to;
  for (auto& o : g.outputs)
    if (o == from) o = to;
}

std::string fresh_node_name(const Graph& g, const std::string& base) {
  std::set<std::string> names;
  for (const auto& nd : g.nodes) names.insert(nd.name);
  if (!names.count(base)) return base;
  for (size_t k = 1;; ++k) {
    std::string c = base + "_" + std::to_string(k);
    if (!names.count(c)) return c;
  }
}

std::string fresh_value_name(const Graph& g, const std::string& base) {
  if (!g.values.count(base)) return base;
  for (size_t k = 1;; ++k) {
    std::string c = base + "_" + std::to_string(k);
    if (!g.values.count(c)) return c;
  }
}

void validate(const Graph& g, bool require_static_shapes) {
  std::set<std::string> defined, node_names;
  auto check_value = [&](const std::string& v, const std::string& where) {
    auto it = g.values.find(v);
    if (it == g.values.end()) fail(ErrorKind::Internal, "graph '{}': {} '{}' has no Value entry", g.name, where, v);
    if (!require_static_shapes) return;
    const Value& val = it->second;
    if (val.dtype == DType::Undefined) fail(ErrorKind::Internal, "graph '{}': {} '{}' has no dtype", g.name, where, v);
    for (auto d : val.shape)
      if (d < 0) fail(ErrorKind::Internal, "graph '{}': {} '{}' has a non-static shape {}", g.name, where, v, shape_str(val.shape));
  };
  for (const auto& in : g.inputs) {
    check_value(in, "graph input");
    if (!defined.insert(in).second) fail(ErrorKind::Internal, "graph '{}': input '{}' listed twice", g.name, in);
  }
  for (const auto& [name, v] : g.values)
    if (v.constant) {
      if (!defined.insert(name).second) fail(ErrorKind::Internal, "graph '{}': '{}' is both an input and a constant", g.name, name);
      if (v.constant->shape != v.shape || v.constant->dtype != v.dtype)
        fail(ErrorKind::Internal, "graph '{}': constant '{}' is {} {} but its Value says {} {}", g.name, name,
             dtype_name(v.constant->dtype), shape_str(v.constant->shape), dtype_name(v.dtype), shape_str(v.shape));
    }
  for (const auto& nd : g.nodes) {
    if (!node_names.insert(nd.name).second) fail(ErrorKind::Internal, "graph '{}': node name '{}' is not unique", g.name, nd.name);
    for (const auto& in : nd.inputs) {
      if (in.empty()) continue;
      if (!defined.count(in))
        fail(ErrorKind::Internal, "node '{}' ({}): input '{}' is not defined before it", nd.name, nd.op_type, in);
    }
    for (const auto& o : nd.outputs) {
      if (o.empty()) continue;
      check_value(o, "output of node '" + nd.name + "'");
      if (!defined.insert(o).second) fail(ErrorKind::Internal, "node '{}' ({}): output '{}' is defined twice", nd.name, nd.op_type, o);
    }
  }
  for (const auto& o : g.outputs)
    if (!defined.count(o)) fail(ErrorKind::Internal, "graph '{}': output '{}' is never defined", g.name, o);
}

static std::string describe(const Graph& g, const std::string& v) {
  auto it = g.values.find(v);
  if (it == g.values.end()) return v;
  std::string dims;
  for (size_t i = 0; i < it->second.shape.size(); ++i) {
    if (i) dims += 'x';
    dims += std::to_string(it->second.shape[i]);
  }
  std::string dt = it->second.dtype == DType::Undefined ? "?" : std::string(dtype_name(it->second.dtype));
  return v + "[" + dt + (dims.empty() ? "" : " " + dims) + (it->second.constant ? " const" : "") + "]";
}

std::string to_text(const Graph& g) {
  std::string r = "graph " + g.name + " (opset " + std::to_string(g.opset) + ")\n";
  for (const auto& in : g.inputs) r += "  input " + describe(g, in) + "\n";
  for (const auto& nd : g.nodes) {
    r += "  " + nd.name + ": " + (nd.domain.empty() ? "" : nd.domain + ".") + nd.op_type + "(";
    for (size_t i = 0; i < nd.inputs.size(); ++i) r += (i ? ", " : "") + nd.inputs[i];
    r += ") -> ";
    for (size_t i = 0; i < nd.outputs.size(); ++i) r += (i ? ", " : "") + describe(g, nd.outputs[i]);
    r += "\n";
  }
  for (const auto& o : g.outputs) r += "  output " + describe(g, o) + "\n";
  return r;
}

}  // namespace cardsim::ir
