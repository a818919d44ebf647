// The matrix unit's convolution kernel (mxu.conv, ISA.md). Exposed apart from execute()
// so tests can compare the fast paths against the generic loop.
#pragma once
#include "isa/isa.h"
#include "models/kernels/kernels.h"

namespace cardsim::kernels {

// Dispatches to a specialised path (i8/u8 integer or f32/f16/bf16 float, im2col + packed
// weights) when it applies, otherwise runs the generic loop. Results are bit-identical.
void mxu_conv(const isa::Instr& in, Memories& mem);
// The ISA.md loop, element by element: the oracle.
void mxu_conv_generic(const isa::Instr& in, Memories& mem);
// True when mxu_conv takes a specialised path for this instruction.
bool mxu_conv_has_fast_path(const isa::Instr& in);

}  // namespace cardsim::kernels
