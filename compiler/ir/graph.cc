#include "compiler/ir/graph.h"

#include "core/error.h"

namespace cardsim::ir {

int64_t Node::attr_i(const std::string& a, int64_t def) const {
  auto it = attrs.find(a);
  if (it == attrs.end()) return def;
  if (it->second.kind != Attr::Kind::Int)
    fail(ErrorKind::Format, "node '{}' ({}): attribute '{}' should be an int", name, op_type, a);
  return it->second.i;
}

float Node::attr_f(const std::string& a, float def) const {
  auto it = attrs.find(a);
  if (it == attrs.end()) return def;
  // Exporters sometimes write an integral float attribute as INT; accept both.
  if (it->second.kind == Attr::Kind::Int) return float(it->second.i);
  if (it->second.kind != Attr::Kind::Float)
    fail(ErrorKind::Format, "node '{}' ({}): attribute '{}' should be a float", name, op_type, a);
  return it->second.f;
}

std::string Node::attr_s(const std::string& a, const std::string& def) const {
  auto it = attrs.find(a);
  if (it == attrs.end()) return def;
  if (it->second.kind != Attr::Kind::String)
    fail(ErrorKind::Format, "node '{}' ({}): attribute '{}' should be a string", name, op_type, a);
  return it->second.s;
}

std::vector<int64_t> Node::attr_ints(const std::string& a, std::vector<int64_t> def) const {
  auto it = attrs.find(a);
  if (it == attrs.end()) return def;
  if (it->second.kind == Attr::Kind::Int) return {it->second.i};
  if (it->second.kind != Attr::Kind::Ints)
    fail(ErrorKind::Format, "node '{}' ({}): attribute '{}' should be a list of ints", name, op_type, a);
  return it->second.ints;
}

Value& Graph::value(const std::string& n) {
  auto it = values.find(n);
  if (it == values.end()) fail(ErrorKind::Internal, "graph '{}': no value named '{}'", name, n);
  return it->second;
}

const Value& Graph::value(const std::string& n) const {
  auto it = values.find(n);
  if (it == values.end()) fail(ErrorKind::Internal, "graph '{}': no value named '{}'", name, n);
  return it->second;
}

bool Graph::is_constant(const std::string& n) const {
  auto it = values.find(n);
  return it != values.end() && it->second.constant.has_value();
}

}  // namespace cardsim::ir
