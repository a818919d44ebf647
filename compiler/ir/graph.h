// The compiler's graph IR: what the ONNX frontend produces and the passes rewrite.
// Values are named; nodes are kept in topological order.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace cardsim::ir {

struct Attr {
  enum class Kind { Int, Float, String, Ints, Floats, Strings, Tensor } kind = Kind::Int;
  int64_t i = 0;
  float f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::vector<std::string> strings;
  cardsim::Tensor t;
};

struct Value {
  std::string name;
  DType dtype = DType::F32;
  // {} initializers: Value{name, dtype, shape} needs no trailing fields (-Wmissing-field-initializers).
  Shape shape{};                          // fully static after shape inference
  std::optional<cardsim::Tensor> constant{};  // initializers and folded constants
  // Quantization (int8 path): real = scale * (q - zero_point). scale 0 = not quantized.
  float scale = 0;
  int32_t zero_point = 0;
};

struct Node {
  std::string name;     // unique; generated when the ONNX node has none
  std::string op_type;  // ONNX op type, or a fused cardsim op ("cardsim.ConvAct", ...)
  std::string domain;   // "" = ai.onnx
  int opset = 13;
  std::map<std::string, Attr> attrs;
  std::vector<std::string> inputs;   // "" = omitted optional input
  std::vector<std::string> outputs;

  bool has(const std::string& a) const { return attrs.count(a) != 0; }
  int64_t attr_i(const std::string& a, int64_t def) const;
  float attr_f(const std::string& a, float def) const;
  std::string attr_s(const std::string& a, const std::string& def) const;
  std::vector<int64_t> attr_ints(const std::string& a, std::vector<int64_t> def = {}) const;
};

struct Graph {
  std::string name;
  int opset = 13;
  std::map<std::string, Value> values;
  std::vector<Node> nodes;            // topological order
  std::vector<std::string> inputs;    // graph inputs that are not initializers
  std::vector<std::string> outputs;
  std::string source_sha256;          // of the .onnx file, for the loadable's metadata

  Value& value(const std::string& n);             // throws Error(Internal) if missing
  const Value& value(const std::string& n) const;
  bool is_constant(const std::string& n) const;
};

}  // namespace cardsim::ir
