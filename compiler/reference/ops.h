// Reference kernels: a plain implementation of every ONNX operator cardsim knows, on host
// tensors. Used for constant folding, for operators placed on the host, and as the
// reference interpreter in tests.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "compiler/ir/graph.h"
#include "core/tensor.h"

namespace cardsim::ref {

// Runs one node. `inputs[i]` is nullptr for an omitted optional input. Throws
// Error(Unsupported) naming the node and op for an operator or attribute it does not know.
std::vector<Tensor> run_node(const ir::Node& node, const std::vector<const Tensor*>& inputs);
bool is_supported(const std::string& op_type);
std::vector<std::string> supported_ops();

// Runs a whole graph in node order; returns every graph output by name.
std::map<std::string, Tensor> run_graph(const ir::Graph& g, const std::map<std::string, Tensor>& inputs);

// The same, calling `observe` with every graph input and with every value a node computes,
// as it is computed (calibration collects activation ranges this way).
using ValueObserver = std::function<void(const std::string& name, const Tensor& value)>;
std::map<std::string, Tensor> run_graph(const ir::Graph& g, const std::map<std::string, Tensor>& inputs,
                                        const ValueObserver& observe);

}  // namespace cardsim::ref
