#include "tests/compiler/graph_builder.h"

namespace cardsim::testing {

std::string GraphBuilder::input(const std::string& name, const Shape& s) {
  g.values[name] = ir::Value{name, DType::F32, s};
  g.inputs.push_back(name);
  return name;
}

std::string GraphBuilder::weight(const std::string& name, const Shape& s, float lo, float hi) {
  Tensor t(DType::F32, s);
  std::uniform_real_distribution<float> u(lo, hi);
  for (int64_t k = 0; k < t.numel(); ++k) t.ptr<float>()[k] = u(rng);
  return constant(name, t);
}

std::string GraphBuilder::constant(const std::string& name, const Tensor& t) {
  g.values[name] = ir::Value{name, t.dtype, t.shape, t};
  return name;
}

std::string GraphBuilder::node(const std::string& op, const std::vector<std::string>& inputs, const Shape& out_shape,
                               std::map<std::string, ir::Attr> attrs, DType out_type) {
  ir::Node n;
  n.name = op + "_" + std::to_string(counter++);
  n.op_type = op;
  n.inputs = inputs;
  n.attrs = std::move(attrs);
  std::string out = n.name + "_out";
  n.outputs = {out};
  g.values[out] = ir::Value{out, out_type, out_shape};
  g.nodes.push_back(n);
  return out;
}

ir::Attr ints(std::vector<int64_t> v) {
  ir::Attr a;
  a.kind = ir::Attr::Kind::Ints;
  a.ints = std::move(v);
  return a;
}
ir::Attr i(int64_t v) {
  ir::Attr a;
  a.kind = ir::Attr::Kind::Int;
  a.i = v;
  return a;
}
ir::Attr f(float v) {
  ir::Attr a;
  a.kind = ir::Attr::Kind::Float;
  a.f = v;
  return a;
}

Tensor random_tensor(const Shape& s, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  Tensor t(DType::F32, s);
  for (int64_t k = 0; k < t.numel(); ++k) t.ptr<float>()[k] = u(rng);
  return t;
}

std::vector<Tensor> inputs_for(const ir::Graph& g, uint32_t seed) {
  std::vector<Tensor> v;
  for (auto& n : g.inputs) v.push_back(random_tensor(g.value(n).shape, seed++));
  return v;
}

CardConfig preset(const std::string& name) { return load_config(resolve_config_path(name)); }

}  // namespace cardsim::testing
