// int8 post-training quantization helpers: calibration (per-tensor min/max through the
// reference interpreter), activation parameters and the integer requantization multiplier.
// Scheme (documented in README.md): weights symmetric per output channel, int8 in
// [-127, 127], scale = max|w| / 127; activations asymmetric per tensor, int8 with a zero
// point, range widened to include 0; int32 accumulation; requant by (M, S) with
// real multiplier = M * 2^-S, M in [2^30, 2^31).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

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
QParams activation_qparams(Range r);

// Symmetric per-channel int8 weights: channels along dim 0 (conv [Cout,...]) or, with
// per_column, along the last dim of a [K,N] matrix or a batched [..., K, N] one (one scale
// per output column, shared by every batch slice). scale[c] = max|w_c| / 127 (1 for all-zero).
struct QuantWeights {
  Tensor q;  // int8, same shape
  std::vector<float> scale;
};
QuantWeights quantize_weights(const Tensor& w, bool per_column);
// int32 bias for accumulator scale x_scale * w_scale.
int32_t quantize_bias(double bias, float x_scale, float w_scale);

// Pre-quantized (QDQ) models: the per-tensor (scale, zero point) their QuantizeLinear /
// DequantizeLinear pairs fix for float values (a DequantizeLinear output, a QuantizeLinear
// input), mapped to int8 (u8 zero points shift by 128). These win over calibration.
std::map<std::string, QParams> qdq_params(const ir::Graph& g);
// The int8 parameters of float value v: forced QDQ ones, else from its calibrated range.
QParams value_qparams(const std::string& v, const std::map<std::string, Range>& ranges,
                      const std::map<std::string, QParams>& forced);
// Per-tensor constant scale / zero point of a QuantizeLinear / DequantizeLinear node.
bool qdq_node_params(const ir::Graph& g, const ir::Node& n, float& scale, int32_t& zp, DType& qtype);

// real ~= M * 2^-S with M in [2^30, 2^31), S in [1, 62].
void quantize_multiplier(double real, int32_t& M, int32_t& S);

}  // namespace cardsim::backend
