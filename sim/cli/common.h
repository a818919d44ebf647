// Helpers shared by the subcommands that load networks, inputs and outputs.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"
#include "isa/program.h"
#include "sim/card_config.h"

namespace cardsim::cli {

struct CompileRequest {
  std::string precision = "int8";
  std::string calibrate_dir;
  std::string int8_mixed = "auto";  // backend::CompileOptions::int8_mixed
  int64_t batch = 0;
  std::vector<std::string> shapes;  // name=1x3x224x224
  bool explain = false;
};

bool ends_with(const std::string& s, const std::string& suffix);

// A .cbin is read; an .onnx is loaded and compiled for `cfg`. Explain text goes to stdout.
isa::Program load_or_compile(const std::string& path, const CardConfig& cfg, const CompileRequest& req);

// Reads input_N.pb from `dir` and checks them against the program's input bindings
// (count, shape, dtype), naming the tensor and both shapes on a mismatch.
std::vector<Tensor> load_inputs(const std::string& dir, const isa::Program& prog);
// Seeded random inputs of the right shapes (uniform [-1,1) for floats, full range for ints).
std::vector<Tensor> random_inputs(const isa::Program& prog, uint64_t seed);
// Writes output_N.pb (ONNX TensorProto, with the output names) into dir.
void write_outputs(const std::string& dir, const isa::Program& prog, const std::vector<Tensor>& outs);

}  // namespace cardsim::cli
