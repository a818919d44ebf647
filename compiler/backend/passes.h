// Graph passes before lowering: no-op Transpose/Identity removal, BatchNorm folding into the
// preceding Conv (standalone BN -> Mul + Add), Gemm canonicalisation, conv/matmul + bias +
// activation fusion and reshape-like aliasing. Output: the list of layers to lower.
#pragma once
#include <string>
#include <vector>

#include "compiler/ir/graph.h"
#include "isa/isa.h"

namespace cardsim::backend {

// An elementwise activation applied after a layer (fused).
struct Activation {
  isa::Fn fn = isa::Fn::Copy;
  float alpha = 0, beta = 0;
  std::string value;  // the ONNX value this activation produced (its int8 scale)
};

// One layer after fusion. `node` is the (possibly rewritten) ONNX node, still valid ONNX so
// it can always fall back to the host; the fused parts are described by the other fields.
struct Layer {
  ir::Node node;
  enum class Kind { Conv, MatMul, Elementwise, Pool, GlobalPool, Softmax, ReduceLast, Transpose, Concat, Slice, Pad, QuantDequant, Gather, Split, Alias, Host } kind = Kind::Host;
  // Conv / MatMul: weight value ([Cout,Cin/g,kh,kw] or [K,N]), optional bias value ([Cout] / [N]),
  // activation applied in the requant epilogue (Relu / Clip) and post activations (vpu.unary).
  std::string weight, bias;
  Activation act;
  std::vector<Activation> post;
  std::string preact;  // value holding the pre-activation result (int8 scale of the epilogue)
  std::vector<std::string> fused;  // names of the nodes folded into this layer
  bool b_is_weight = true;  // MatMul: B constant
  std::string output;  // the value the layer finally writes (after fused nodes)
};

// Runs the passes on a copy of g (constants may be added or rewritten) and returns the layers.
std::vector<Layer> run_passes(ir::Graph& g);

const char* layer_kind_name(Layer::Kind k);
bool binary_fn(const std::string& op, isa::Fn& f);
// The vector-unit function an elementwise node computes: arity 1 (unary / activation) or 2.
bool elementwise_fn(const ir::Graph& g, const ir::Node& n, isa::Fn& f, float& alpha, float& beta, int& arity);

}  // namespace cardsim::backend
