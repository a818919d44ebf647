// Runs every ONNX backend node test (Debian's libonnx-testdata) whose operators the
// reference kernels implement through load_onnx + ref::run_graph and compares with
// output_N.pb: floats with the suite's tolerance (rtol 1e-3, atol 1e-5), everything else
// exactly. Prints "N passed, N failed, N skipped" and each failure with its reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "compiler/frontend/onnx_convert.h"
#include "compiler/frontend/tensor_io.h"
#include "compiler/reference/ops.h"
#include "core/error.h"
#include "onnx/onnx_pb.h"

namespace cardsim {
namespace {

namespace fs = std::filesystem;
const std::string kNodeDir = "/usr/share/libonnx-testdata/data/node";

// Tests of implemented operators that are deliberately not run, with the reason.
const std::map<std::string, std::string> kSkipped = {
    {"test_cast_FLOAT_to_STRING", "string tensors are out of scope for an accelerator simulator"},
    {"test_cast_STRING_to_FLOAT", "string tensors are out of scope for an accelerator simulator"},
    {"test_castlike_FLOAT_to_STRING", "string tensors are out of scope for an accelerator simulator"},
    {"test_castlike_STRING_to_FLOAT", "string tensors are out of scope for an accelerator simulator"},
    {"test_castlike_FLOAT_to_STRING_expanded", "string tensors are out of scope for an accelerator simulator"},
    {"test_castlike_STRING_to_FLOAT_expanded", "string tensors are out of scope for an accelerator simulator"},
    {"test_identity_sequence", "sequence values are not tensors (no sequence support)"},
    {"test_identity_opt", "optional values are not tensors (no optional support)"},
    {"test_training_dropout", "training-mode Dropout draws a random mask; output not reproducible"},
    {"test_training_dropout_default", "training-mode Dropout draws a random mask; output not reproducible"},
    {"test_training_dropout_default_mask", "training-mode Dropout draws a random mask; output not reproducible"},
    {"test_training_dropout_mask", "training-mode Dropout draws a random mask; output not reproducible"},
    // ONNX 1.12's generator truncated float -> bfloat16; cardsim rounds to nearest even like
    // onnxruntime, the card's vector unit and the regenerated data of ONNX >= 1.13.
    {"test_cast_FLOAT_to_BFLOAT16", "expected data truncates to bf16; we round to nearest even"},
    {"test_castlike_FLOAT_to_BFLOAT16", "expected data truncates to bf16; we round to nearest even"},
    {"test_castlike_FLOAT_to_BFLOAT16_expanded", "expected data truncates to bf16; we round to nearest even"},
    {"test_dropout_random_old", "Dropout opset 6 with is_test=0 is training mode (random mask)"},
};

onnx::ModelProto read_model(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  onnx::ModelProto m;
  if (!m.ParseFromIstream(&in)) fail(ErrorKind::Format, "{}: not an ONNX model", path);
  return m;
}

bool is_float(DType t) { return dtype_is_float(t); }

int onnx_opset(const onnx::ModelProto& m) {
  for (const auto& imp : m.opset_import())
    if (imp.domain().empty() || imp.domain() == "ai.onnx") return int(imp.version());
  return 1;
}

// Nodes, initializers (as constants), inputs and outputs of the model; nothing inferred.
ir::Graph graph_from_model(const onnx::ModelProto& m, const std::string& dir) {
  ir::Graph g;
  g.name = m.graph().name();
  g.opset = onnx_opset(m);
  std::set<std::string> inits;
  for (const auto& t : m.graph().initializer()) {
    ir::Value v;
    v.name = t.name();
    v.constant = tensor_from_proto(t, dir, "initializer " + t.name());
    g.values[v.name] = v;
    inits.insert(t.name());
  }
  for (const auto& vi : m.graph().input())
    if (!inits.count(vi.name())) g.inputs.push_back(vi.name());
  for (const auto& vi : m.graph().output()) g.outputs.push_back(vi.name());
  int i = 0;
  for (const auto& np : m.graph().node()) {
    ir::Node n = node_from_proto(np, g.opset, dir);
    if (n.name.empty()) n.name = fmt::format("{}_{}", n.op_type, i);
    ++i;
    g.nodes.push_back(std::move(n));
  }
  return g;
}

// Empty string = equal; otherwise what differs.
std::string compare(const std::string& name, const Tensor& got, const Tensor& want) {
  if (got.dtype != want.dtype)
    return fmt::format("output '{}': dtype {} expected {}", name, dtype_name(got.dtype), dtype_name(want.dtype));
  if (got.shape != want.shape)
    return fmt::format("output '{}': shape {} expected {}", name, shape_str(got.shape), shape_str(want.shape));
  if (want.dtype == DType::String) return got.strings == want.strings ? "" : fmt::format("output '{}': strings differ", name);
  if (!is_float(want.dtype)) {
    if (got.data == want.data) return "";
    for (size_t i = 0; i < size_t(want.numel()); ++i)
      if (got.get(i) != want.get(i))
        return fmt::format("output '{}' element {}: {} expected {}", name, i, got.get(i), want.get(i));
    return fmt::format("output '{}': bytes differ", name);
  }
  for (size_t i = 0; i < size_t(want.numel()); ++i) {
    double g = got.get(i), w = want.get(i);
    if (std::isnan(w) && std::isnan(g)) continue;
    if (std::isinf(w) && g == w) continue;
    if (!(std::fabs(g - w) <= 1e-5 + 1e-3 * std::fabs(w)))
      return fmt::format("output '{}' element {}: {} expected {}", name, i, g, w);
  }
  return "";
}

struct Result {
  enum Kind { Pass, Fail, Skip } kind;
  std::string reason;
};

Result run_one(const fs::path& dir) {
  const std::string test = dir.filename().string();
  if (auto it = kSkipped.find(test); it != kSkipped.end()) return {Result::Skip, it->second};
  onnx::ModelProto m = read_model((dir / "model.onnx").string());
  for (const auto& n : m.graph().node()) {
    bool onnx_domain = n.domain().empty() || n.domain() == "ai.onnx";
    if (!onnx_domain || !ref::is_supported(n.op_type()))
      return {Result::Skip, fmt::format("operator {}{} is not implemented", n.domain().empty() ? "" : n.domain() + ".", n.op_type())};
  }
  const fs::path data = dir / "test_data_set_0";
  try {
    // The graph is built straight from the protobuf (no shape inference, no folding) so that
    // the node runs in ref::run_graph even where the compiler's loader would demand static
    // shapes (e.g. Slice starts fed at run time) or reject an old opset.
    ir::Graph g = graph_from_model(m, dir.string());
    auto inputs = read_test_data_dir(data.string(), "input_");
    auto outputs = read_test_data_dir(data.string(), "output_");
    // ONNX 1.12's test data stores bfloat16 tensors as uint16 bit patterns: take the
    // declared graph type for those (same bits).
    auto declared = [&](const onnx::ValueInfoProto& vi, Tensor& t) {
      if (vi.type().tensor_type().elem_type() == int(DType::BF16) && t.dtype == DType::U16) t.dtype = DType::BF16;
    };
    std::map<std::string, Tensor> feed;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (i >= g.inputs.size()) return {Result::Fail, fmt::format("input_{}.pb has no graph input", i)};
      for (const auto& vi : m.graph().input())
        if (vi.name() == g.inputs[i]) declared(vi, inputs[i].second);
      feed[g.inputs[i]] = inputs[i].second;
    }
    for (size_t i = 0; i < outputs.size() && int(i) < m.graph().output_size(); ++i)
      declared(m.graph().output(int(i)), outputs[i].second);
    auto got = ref::run_graph(g, feed);
    if (outputs.size() != size_t(m.graph().output_size()))
      return {Result::Fail, fmt::format("{} expected outputs for {} graph outputs", outputs.size(), m.graph().output_size())};
    for (size_t i = 0; i < outputs.size(); ++i) {
      const std::string& name = m.graph().output(int(i)).name();
      auto it = got.find(name);
      if (it == got.end()) return {Result::Fail, fmt::format("output '{}' not produced", name)};
      std::string diff = compare(name, it->second, outputs[i].second);
      if (!diff.empty()) return {Result::Fail, diff};
    }
  } catch (const Error& e) {
    return {Result::Fail, e.what()};
  }
  return {Result::Pass, ""};
}

TEST(RefConformance, OnnxNodeSuite) {
  if (!fs::is_directory(kNodeDir)) GTEST_SKIP() << kNodeDir << " not installed (Debian package libonnx-testdata)";
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(kNodeDir))
    if (fs::exists(e.path() / "model.onnx")) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  int passed = 0, failed = 0, skipped = 0;
  std::map<std::string, int> skip_reasons;
  std::string failures;
  for (const auto& d : dirs) {
    Result r = run_one(d);
    if (r.kind == Result::Pass) ++passed;
    if (r.kind == Result::Skip) { ++skipped; ++skip_reasons[r.reason]; }
    if (r.kind == Result::Fail) {
      ++failed;
      failures += fmt::format("  FAIL {}: {}\n", d.filename().string(), r.reason);
    }
  }
  std::string summary = fmt::format("ONNX node suite: {} passed, {} failed, {} skipped\n", passed, failed, skipped);
  std::string skips;
  for (auto& [reason, count] : skip_reasons) skips += fmt::format("  skip x{}: {}\n", count, reason);
  std::printf("%s%s%s", summary.c_str(), failures.c_str(), skips.c_str());
  EXPECT_EQ(failed, 0) << summary << failures;
  EXPECT_GT(passed, 400) << "far fewer node tests ran than expected";
}


// `t` with a new shape (and maybe dtype), values taken cyclically from the original so
// index-like inputs stay plausible.
Tensor mutate(const Tensor& t, const Shape& shape, DType dt) {
  Tensor r(dt, shape);
  const size_t n = size_t(t.numel());
  for (size_t i = 0; i < size_t(r.numel()); ++i) r.set(i, n ? t.get(i % n) : 1.0);
  return r;
}

// Malformed inputs (wrong shapes, empty tensors, wrong types) fed to every node test must
// give a cardsim::Error or a result, never a crash, hang or foreign exception. Run this
// binary under CARDSIM_SANITIZE=ON to also catch silent out-of-bounds reads.
TEST(RefConformance, MalformedInputsGiveErrorsNotCrashes) {
  if (!fs::is_directory(kNodeDir)) GTEST_SKIP() << kNodeDir << " not installed";
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(kNodeDir))
    if (fs::exists(e.path() / "model.onnx") && !kSkipped.count(e.path().filename().string())) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  int runs = 0, errors = 0;
  std::string bad;
  for (const auto& dir : dirs) {
    onnx::ModelProto m = read_model((dir / "model.onnx").string());
    bool known = true;
    for (const auto& n : m.graph().node()) known &= (n.domain().empty() || n.domain() == "ai.onnx") && ref::is_supported(n.op_type());
    if (!known) continue;
    ir::Graph g;
    std::vector<std::pair<std::string, Tensor>> inputs;
    try {
      g = graph_from_model(m, dir.string());
      inputs = read_test_data_dir((dir / "test_data_set_0").string(), "input_");
    } catch (const Error&) {
      continue;
    }
    for (size_t i = 0; i < inputs.size() && i < g.inputs.size(); ++i) {
      const Tensor& orig = inputs[i].second;
      if (orig.dtype == DType::String) continue;
      std::vector<Tensor> variants;
      Shape s = orig.shape;
      if (!s.empty()) {
        Shape grow = s;
        grow.back() += 1;
        variants.push_back(mutate(orig, grow, orig.dtype));
        variants.push_back(mutate(orig, Shape(s.begin() + 1, s.end()), orig.dtype));
        Shape empty = s;
        empty[0] = 0;
        variants.push_back(mutate(orig, empty, orig.dtype));
      }
      Shape more = s;
      more.insert(more.begin(), 2);
      variants.push_back(mutate(orig, more, orig.dtype));
      variants.push_back(mutate(orig, s, dtype_is_float(orig.dtype) ? DType::I64 : DType::F32));
      for (const Tensor& v : variants) {
        std::map<std::string, Tensor> feed;
        for (size_t j = 0; j < inputs.size() && j < g.inputs.size(); ++j) feed[g.inputs[j]] = inputs[j].second;
        feed[g.inputs[i]] = v;
        ++runs;
        try {
          ref::run_graph(g, feed);
        } catch (const Error&) {
          ++errors;
        } catch (const std::exception& e) {
          bad += fmt::format("  {} input {} as {} {}: {}\n", dir.filename().string(), i, dtype_name(v.dtype),
                             shape_str(v.shape), e.what());
        }
      }
    }
  }
  std::printf("malformed inputs: %d runs, %d rejected with cardsim::Error\n%s", runs, errors, bad.c_str());
  EXPECT_TRUE(bad.empty()) << bad;
  EXPECT_GT(runs, 1000);
}

}  // namespace
}  // namespace cardsim
