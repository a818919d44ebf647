// Small graph helpers shared by the frontend and the backend passes: producer/consumer
// maps, topological sort, dead-code removal, use replacement, validation and a text dump.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "compiler/ir/graph.h"

namespace cardsim::ir {

// value name -> index of the node producing it (graph inputs and constants have none).
std::map<std::string, size_t> producers(const Graph& g);
// value name -> indices of the nodes reading it, in node order (a node reading a value
// twice is listed once).
std::map<std::string, std::vector<size_t>> consumers(const Graph& g);

// Reorders g.nodes topologically, keeping the existing order where it is already valid
// (so a sorted graph is unchanged). Error(Format) naming the node on a cycle or on an input
// that nothing defines.
void topo_sort(Graph& g);

// Removes nodes none of whose outputs reach a graph output; returns how many.
size_t remove_dead_nodes(Graph& g);
// Drops entries of g.values that no node, graph input or graph output mentions.
size_t remove_unused_values(Graph& g);

// Every node input and graph output named `from` now reads `to`.
void replace_uses(Graph& g, const std::string& from, const std::string& to);

// A node / value name not used yet in g: `base` if free, else base_1, base_2, ...
std::string fresh_node_name(const Graph& g, const std::string& base);
std::string fresh_value_name(const Graph& g, const std::string& base);

// Structural check: unique node names, each value defined once (graph input, constant or
// one node output) before it is read, graph outputs defined, and when require_static_shapes,
// every value has a static shape (no negative dims) and a defined dtype. Error(Internal)
// naming the node/value otherwise.
void validate(const Graph& g, bool require_static_shapes = true);

// One line per node: "name: Op(in, ...) -> out[f32 1x64x56x56], ..." (debugging, --explain).
std::string to_text(const Graph& g);

}  // namespace cardsim::ir
