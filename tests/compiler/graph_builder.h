// Small helpers to build ir::Graphs by hand for the compiler tests.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "compiler/ir/graph.h"
#include "sim/card_config.h"

namespace cardsim::testing {

struct GraphBuilder {
  ir::Graph g;
  std::mt19937 rng{7};
  int counter = 0;

  std::string input(const std::string& name, const Shape& s);
  // Constant with values uniform in [lo, hi] (seeded, deterministic).
  std::string weight(const std::string& name, const Shape& s, float lo = -0.5f, float hi = 0.5f);
  std::string constant(const std::string& name, const Tensor& t);
  std::string node(const std::string& op, const std::vector<std::string>& inputs, const Shape& out_shape,
                   std::map<std::string, ir::Attr> attrs = {}, DType out_type = DType::F32);
  void output(const std::string& v) { g.outputs.push_back(v); }
};

ir::Attr ints(std::vector<int64_t> v);
ir::Attr i(int64_t v);
ir::Attr f(float v);
Tensor random_tensor(const Shape& s, uint32_t seed, float lo = -1, float hi = 1);
// One random tensor per graph input, seeded seed, seed + 1, ...
std::vector<Tensor> inputs_for(const ir::Graph& g, uint32_t seed);
// A shipped preset (configs/NAME.json) with every default filled in.
CardConfig preset(const std::string& name);

}  // namespace cardsim::testing
