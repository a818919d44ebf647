// The independent integer reference: a plain, untiled interpreter of the int8 semantics the
// compiler gives a network (backend/README.md "int8"): the same layers (backend::run_passes),
// the same calibration ranges and quantization parameters, but every layer computed whole, in
// one loop nest, with code of its own (nothing from models/kernels). The card's int8 outputs
// must equal this bit for bit, whatever the tiling, the schedule or the engine overlap.
//
// The int8 scheme interpreted here, one layer at a time:
//   - every float activation value v is int8 with (scale, zero point) from its calibrated
//     range (activation_qparams); reshape-like layers alias their input (same bytes, same
//     parameters); network inputs are quantized, outputs dequantized (f32 read/write rules);
//   - mixed precision (Options::int8_mixed, backend::choose_mixed_precision): the network's
//     high-resolution front is int16 instead, its matrix layers get int16 weights (+-32767),
//     and a matrix layer with any int16 operand accumulates in int64 (int64 bias) and
//     requantizes in 128 bits;
//   - Conv / MatMul with constant weights: weights symmetric per output channel (+-127),
//     int32 bias round(b / (s_x * s_w)), int32 accumulation (wrapping), requantization
//     rshift_round((acc + bias) * M, S) + zp with the fused Relu/Clip as a clamp, then any
//     post activations through f32; activation x activation MatMul: per-tensor (M, S) and
//     both zero points;
//   - vector layers (elementwise, pooling, reductions, softmax) and data movement
//     (transpose, concat, slice, pad): dequantize to f32, compute in f32 without fma,
//     quantize with the output's parameters;
//   - host layers: dequantized inputs, the reference kernel, quantized outputs.
#pragma once
#include <string>
#include <vector>

#include "compiler/ir/graph.h"
#include "core/tensor.h"

namespace cardsim::intref {

struct Options {
  std::string calibrate_dir;  // as backend::CompileOptions::calibrate_dir (empty: seeded random)
  std::string int8_mixed = "auto";  // as backend::CompileOptions::int8_mixed (int16 front: auto | off)
};

// Runs g's int8 semantics on `inputs` (graph-input order, each in the input's own dtype) and
// returns the graph outputs as the host sees them (float outputs dequantized to f32).
// Error(Unsupported) names the layer for a layer kind this reference does not interpret.
std::vector<Tensor> run_int8(const ir::Graph& g, const std::vector<Tensor>& inputs, const Options& opt = {});

}  // namespace cardsim::intref
