// ONNX model -> ir::Graph with every value's dtype and static shape known, constant
// sub-graphs folded (PyTorch's Shape/Gather/Concat/Reshape plumbing), Identity and dead
// nodes removed, nodes in topological order.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "compiler/ir/graph.h"
#include "core/tensor.h"

namespace cardsim {

// What the loader did, node by node (for --explain and tests).
struct LoadStats {
  int nodes_in = 0;            // ONNX nodes, Constant nodes included
  int constant_nodes = 0;      // Constant nodes turned into constants
  int folded = 0;              // nodes evaluated at load time (Shape/Size included)
  int onnx_inferred = 0;       // nodes whose output shapes came from ONNX shape inference
  int reference_inferred = 0;  // ... from the reference kernel on zero-filled inputs
  int identities_removed = 0;
  int dead_removed = 0;
};

struct LoadOptions {
  int64_t batch = 0;                    // replaces a dynamic first dim of every input (0 = none)
  std::map<std::string, Shape> shapes;  // input name -> full shape (wins over batch)
  // Graph inputs bound to fixed values: they become constants and stop being network
  // inputs (lets shape-determining inputs like Reshape's `shape` fold).
  std::map<std::string, Tensor> constants;
  bool check_ops = true;                // Error(Unsupported) for ops the reference does not know
  std::vector<std::string> extra_known_ops;  // ops the backend implements beyond the reference
  // Keep DequantizeLinear of constant int8/uint8/int32 tensors (QDQ weights) instead of
  // folding them to float, so the int8 path still sees the quantized weights.
  bool keep_quantized_weights = true;
  LoadStats* stats = nullptr;  // filled in when set
};

ir::Graph load_onnx(const std::string& path, const LoadOptions& opt = {});
// Same, from the bytes of a model; `path` names it in messages and locates external data.
ir::Graph load_onnx_bytes(const std::string& bytes, const std::string& path, const LoadOptions& opt = {});

// Shape inference and constant folding on an already built graph (the loader's second half;
// passes may call it again after rewrites: outputs that already have a static shape and
// dtype are kept, constant-input nodes are folded, Identity/dead nodes removed). Throws
// Error naming the node whose output shape cannot be determined.
void infer_and_fold(ir::Graph& g, const LoadOptions& opt = {});

// Distinct op types of g (sorted). Error(Unsupported) naming the node, op type, domain and
// opset when an op is neither known to the reference kernels nor in extra_known; the message
// lists the supported ops.
std::vector<std::string> check_known_ops(const ir::Graph& g, const std::vector<std::string>& extra_known = {});

}  // namespace cardsim
