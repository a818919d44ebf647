#include "compiler/ir/graph_utils.h"
#include "core/error.h"
#include <gtest/gtest.h>

namespace cardsim {
namespace {

ir::Node make(const std::string& name, const std::string& op, std::vector<std::string> in, std::vector<std::string> out) {
  ir::Node n;
  n.name = name;
  n.op_type = op;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

ir::Graph chain() {
  ir::Graph g;
  g.name = "g";
  for (const char* v : {"x", "a", "b", "c", "d"}) {
    g.values[v].name = v;
    g.values[v].shape = {2};
  }
  g.inputs = {"x"};
  g.outputs = {"c"};
  // Deliberately out of order: c needs b needs a.
  g.nodes = {make("n2", "Relu", {"b"}, {"c"}), make("n0", "Relu", {"x"}, {"a"}), make("n1", "Neg", {"a"}, {"b"}),
             make("dead", "Relu", {"a"}, {"d"})};
  return g;
}

TEST(GraphUtils, TopoSortOrdersAndKeepsValidOrder) {
  ir::Graph g = chain();
  ir::topo_sort(g);
  std::vector<std::string> order;
  for (auto& n : g.nodes) order.push_back(n.name);
  EXPECT_EQ(order, (std::vector<std::string>{"n0", "n1", "n2", "dead"}));
  ir::topo_sort(g);  // already sorted: unchanged
  std::vector<std::string> again;
  for (auto& n : g.nodes) again.push_back(n.name);
  EXPECT_EQ(again, order);
}

TEST(GraphUtils, CycleAndUndefinedInputAreErrors) {
  ir::Graph g = chain();
  g.nodes[1].inputs = {"c"};  // n0 reads c: x->?; a<-c<-b<-a cycle
  EXPECT_THROW(ir::topo_sort(g), Error);
  ir::Graph h = chain();
  h.nodes[0].inputs = {"nowhere"};
  try {
    ir::topo_sort(h);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nowhere"), std::string::npos);
  }
}

TEST(GraphUtils, DeadNodesAndUnusedValuesGo) {
  ir::Graph g = chain();
  ir::topo_sort(g);
  EXPECT_EQ(ir::remove_dead_nodes(g), 1u);
  EXPECT_EQ(g.nodes.size(), 3u);
  EXPECT_EQ(ir::remove_unused_values(g), 1u);  // "d"
  EXPECT_FALSE(g.values.count("d"));
  ir::validate(g);
}

TEST(GraphUtils, FreshNamesAndReplaceUses) {
  ir::Graph g = chain();
  EXPECT_EQ(ir::fresh_node_name(g, "n0"), "n0_1");
  EXPECT_EQ(ir::fresh_node_name(g, "new"), "new");
  EXPECT_EQ(ir::fresh_value_name(g, "a"), "a_1");
  ir::replace_uses(g, "c", "b");
  EXPECT_EQ(g.outputs, std::vector<std::string>{"b"});
}

TEST(GraphUtils, ValidateCatchesNonStaticShapes) {
  ir::Graph g = chain();
  ir::topo_sort(g);
  g.values["b"].shape = {-1};
  EXPECT_THROW(ir::validate(g, true), Error);
  EXPECT_NO_THROW(ir::validate(g, false));
}

TEST(GraphAttrs, AccessorsCheckKinds) {
  ir::Node n = make("n", "Conv", {}, {});
  ir::Attr a;
  a.kind = ir::Attr::Kind::Ints;
  a.ints = {3, 3};
  n.attrs["kernel_shape"] = a;
  EXPECT_EQ(n.attr_ints("kernel_shape"), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(n.attr_i("group", 1), 1);
  EXPECT_THROW(n.attr_i("kernel_shape", 0), Error);
}

}  // namespace
}  // namespace cardsim
