// An independent, untiled interpreter of the int8 semantics compile() gives a graph: the
// same passes, calibration and quantization parameters (quantize.h), but plain loops over
// whole tensors instead of tiles, DMA descriptors and card kernels. Its outputs must equal
// the card's int8 outputs bit for bit (tests/compiler).
//
// Arithmetic it defines (ISA.md read/write rules): dequantize v = (q - zp) * scale in f32;
// quantize q = sat(round_half_even(v / scale) + zp); conv/matmul in int32 with zero points,
// requant (acc + bias) * M >> S rounded half up, + zp, clamp (Relu / Clip); every other
// layer dequantizes its operands, computes in f32 and quantizes its output.
#pragma once
#include <vector>

#include "compiler/backend/compile.h"
#include "core/tensor.h"

namespace cardsim::backend {

// `inputs` in graph-input order (f32); returns the graph outputs (f32, dequantized).
std::vector<Tensor> int8_reference(const ir::Graph& g, const CompileOptions& opts, const std::vector<Tensor>& inputs);

}  // namespace cardsim::backend
