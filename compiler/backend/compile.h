// The compiler backend: graph IR (from the ONNX frontend) -> cardsim ISA program.
// Passes (BN folding, conv/matmul + bias + activation fusion, reshape aliasing), int8/fp16/
// bf16 quantization, tiling to SRAM/accumulator capacity with double buffering, DRAM/SRAM
// allocation and code generation. Deterministic: same graph + options -> identical Program.
#pragma once
#include <cstdint>
#include <string>

#include "compiler/ir/graph.h"
#include "isa/program.h"
#include "sim/card_config.h"

namespace cardsim::backend {

struct CompileOptions {
  std::string precision = "int8";  // int8 | fp16 | bf16 | fp32
  std::string calibrate_dir;       // int8: folder of input_N.pb or test_data_set_*/ samples
  std::string int8_mixed = "auto";  // int8: auto = int16 for the high-resolution front (quantize.h), off
  int64_t batch = 0;               // recorded in metadata (the frontend applies it)
  bool explain = false;
};

// The int8_mixed mode compile() uses on `cfg`: `mode`, or "off" when the card's matrix unit
// does not list i16 (compile() then warns). Integer references of a program compiled for such
// a card must be given "off" too.
std::string effective_int8_mixed(const CardConfig& cfg, const std::string& mode);

// Throws Error(Unsupported) for an unknown precision, Error(Capacity) naming the layer when
// its smallest tile does not fit SRAM/accumulator.
isa::Program compile(const ir::Graph& g, const CardConfig& cfg, const CompileOptions& opts,
                     std::string* explain_text = nullptr);

}  // namespace cardsim::backend
