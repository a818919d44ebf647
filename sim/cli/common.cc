#include "sim/cli/common.h"

#include <filesystem>
#include <iostream>
#include <random>

#include "compiler/backend/compile.h"
#include "compiler/frontend/onnx_loader.h"
#include "compiler/frontend/tensor_io.h"
#include "core/error.h"
#include "isa/loadable.h"

namespace cardsim::cli {

namespace fs = std::filesystem;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

static Shape parse_dims(const std::string& text, const std::string& spec) {
  Shape s;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t x = text.find('x', pos);
    std::string part = text.substr(pos, x == std::string::npos ? std::string::npos : x - pos);
    try {
      size_t used = 0;
      long long v = std::stoll(part, &used);
      if (used != part.size() || v <= 0) throw std::invalid_argument("");
      s.push_back(v);
    } catch (const std::exception&) {
      fail(ErrorKind::Usage, "--shape '{}': '{}' is not a positive dimension (expected e.g. input=1x3x224x224)", spec, part);
    }
    if (x == std::string::npos) break;
    pos = x + 1;
  }
  return s;
}

isa::Program load_or_compile(const std::string& path, const CardConfig& cfg, const CompileRequest& req) {
  if (!fs::exists(path)) fail(ErrorKind::Io, "{}: no such file", path);
  if (ends_with(path, ".cbin")) return isa::read_loadable(path);
  if (!ends_with(path, ".onnx"))
    fail(ErrorKind::Usage, "{}: expected an .onnx network or a .cbin loadable", path);
  LoadOptions lo;
  lo.batch = req.batch;
  for (const auto& spec : req.shapes) {
    auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0)
      fail(ErrorKind::Usage, "--shape '{}': expected NAME=DIMS, e.g. input=1x3x224x224", spec);
    lo.shapes[spec.substr(0, eq)] = parse_dims(spec.substr(eq + 1), spec);
  }
  ir::Graph g = load_onnx(path, lo);
  backend::CompileOptions co;
  co.precision = req.precision;
  co.calibrate_dir = req.calibrate_dir;
  co.int8_mixed = req.int8_mixed;
  co.batch = req.batch;
  co.explain = req.explain;
  std::string explain;
  isa::Program p = backend::compile(g, cfg, co, req.explain ? &explain : nullptr);
  if (req.explain) std::cout << explain;
  return p;
}

std::vector<Tensor> load_inputs(const std::string& dir, const isa::Program& prog) {
  if (!fs::is_directory(dir)) fail(ErrorKind::Io, "--inputs {}: not a directory", dir);
  auto files = read_test_data_dir(dir, "input_");
  if (files.size() != prog.inputs.size())
    fail(ErrorKind::Format, "--inputs {}: found {} input_N.pb files, the network has {} inputs ({})", dir,
         files.size(), prog.inputs.size(), prog.inputs.empty() ? "" : prog.inputs[0].name + (prog.inputs.size() > 1 ? ", ..." : ""));
  std::vector<Tensor> out;
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& b = prog.inputs[i];
    Tensor& t = files[i].second;
    if (t.shape != b.shape)
      fail(ErrorKind::Format, "{}/input_{}.pb (tensor '{}'): shape {} but network input '{}' expects {}", dir, i,
           files[i].first, shape_str(t.shape), b.name, shape_str(b.shape));
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<Tensor> random_inputs(const isa::Program& prog, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Tensor> out;
  for (const auto& b : prog.inputs) {
    Tensor x(b.dtype, b.shape);  // bindings carry the network's own input type
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    for (int64_t i = 0; i < x.numel(); ++i) {
      if (dtype_is_float(x.dtype)) x.set(size_t(i), u(rng));
      else x.set(size_t(i), double(int64_t(rng() % 256) - (x.dtype == DType::I8 ? 128 : 0)));
    }
    out.push_back(std::move(x));
  }
  return out;
}

void write_outputs(const std::string& dir, const isa::Program& prog, const std::vector<Tensor>& outs) {
  fs::create_directories(dir);
  for (size_t i = 0; i < outs.size(); ++i)
    write_tensor_pb(outs[i], i < prog.outputs.size() ? prog.outputs[i].name : "output_" + std::to_string(i),
                    (fs::path(dir) / ("output_" + std::to_string(i) + ".pb")).string());
}

}  // namespace cardsim::cli
