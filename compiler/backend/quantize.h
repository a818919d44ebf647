// int8 post-training quantization helpers: calibration (per-tensor min/max through the
// reference interpreter), activation parameters and the integer requantization multiplier.
// Scheme (documented in README.md): weights symmetric per output channel, int8 in
// [-127, 127], scale = max|w| / 127; activations asymmetric per tensor, int8 with a zero
// point, range widened to include 0; int32 accumulation; requant by (M, S) with
// real multiplier = M * 2^-S, M in [2^30, 2^31).
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

#include "compiler/backend/passes.h"
#include "compiler/ir/graph.h"

namespace cardsim::backend {

struct Range {
  float lo = 0, hi = 0;
};

// Runs the reference interpreter over the calibration samples (input_N.pb in `dir`, or
// test_data_set_*/ folders inside it) and returns the range of every float value: min/max,
// or, in graphs with attention (a Softmax node), the mean over samples of each sample's
// MSE-optimal clipped range (graph inputs and outputs always keep min/max). With an
// empty dir, uses seeded random inputs in [-1, 1] (8 for networks under 1M weights, else 1) (and writes a warning to *warning).
std::map<std::string, Range> calibrate(const ir::Graph& g, const std::string& dir, std::string* warning);

struct QParams {
  float scale = 1;
  int32_t zero_point = 0;
};
// Asymmetric `bits`-bit parameters (8: int8 in [-128, 127]; 16: int16 in [-32768, 32767]).
QParams activation_qparams(Range r, int bits = 8);

// int8 mixed precision (CompileOptions::int8_mixed, README.md "Precisions"): the float values
// the program holds as int16 instead of int8. Rules ("auto"):
//  1. the network's high-resolution front - every 4-D activation with at least 1/16 of the
//     largest 4-D graph input's pixels (1/4 of its height and width or finer), the input
//     included, when every layer reading it is a Conv or a vector-unit layer (elementwise,
//     pooling, concat). A Conv whose output is int16 gets int16 weights too, and any Conv
//     with an int16 operand accumulates in int64. Quantization noise injected early is
//     amplified by every later layer: these layers dominate the CNNs' int8 error, and both
//     weights and activations need 16 bits there;
//  2. every value a vector-unit layer (elementwise, pooling, concat, reduction, softmax)
//     computes and only vector-unit layers read: LayerNorm's statistics chain, the residual
//     stream, pre-softmax scores, GELU pieces (vit_b_16: 0.943 -> 0.9993). No matrix pass,
//     only twice the bytes.
// Graph outputs and QDQ-forced values stay int8; MatMul operands and outputs stay int8.
// Measured figures: docs/CONFORMANCE.md. "off" returns an empty set (as does compile() on a
// card whose matrix unit lacks i16).
struct MixedPrecision {
  std::set<std::string> wide;  // float values held as int16
  bool is_wide(const std::string& v) const { return wide.count(v) != 0; }
  int bits(const std::string& v) const { return is_wide(v) ? 16 : 8; }
};
MixedPrecision choose_mixed_precision(const ir::Graph& g, const std::vector<Layer>& layers, const std::string& mode);
// The values a matrix layer writes with its output's precision: the epilogue value(s) and post
// activations share the output's buffer.
std::vector<std::string> layer_output_family(const Layer& L);

// Symmetric per-channel int8 weights: channels along dim 0 (conv [Cout,...]) or, with
// per_column, along the last dim of a [K,N] matrix or a batched [..., K, N] one (one scale
// per output column, shared by every batch slice). scale[c] = max|w_c| / 127 (1 for all-zero).
// bits 16 (mixed precision): int16 in [-32767, 32767], scale = max|w| / 32767.
struct QuantWeights {
  Tensor q;  // int8 (int16 with bits 16), same shape
  std::vector<float> scale;
};
QuantWeights quantize_weights(const Tensor& w, bool per_column, int bits = 8);
// int32 bias for accumulator scale x_scale * w_scale.
int32_t quantize_bias(double bias, float x_scale, float w_scale);
// int64 bias of an int64 accumulator (layers with 16-bit operands).
int64_t quantize_bias64(double bias, float x_scale, float w_scale);

// Pre-quantized (QDQ) models: the per-tensor (scale, zero point) their QuantizeLinear /
// DequantizeLinear pairs fix for float values (a DequantizeLinear output, a QuantizeLinear
// input), mapped to int8 (u8 zero points shift by 128). These win over calibration.
std::map<std::string, QParams> qdq_params(const ir::Graph& g);
// The int8 parameters of float value v: forced QDQ ones, else from its calibrated range.
QParams value_qparams(const std::string& v, const std::map<std::string, Range>& ranges,
                      const std::map<std::string, QParams>& forced, int bits = 8);
// Per-tensor constant scale / zero point of a QuantizeLinear / DequantizeLinear node.
bool qdq_node_params(const ir::Graph& g, const ir::Node& n, float& scale, int32_t& zp, DType& qtype);

// real ~= M * 2^-S with M in [2^30, 2^31), S in [1, 62].
void quantize_multiplier(double real, int32_t& M, int32_t& S);

}  // namespace cardsim::backend
