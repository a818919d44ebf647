// Loads every ONNX backend node test (libonnx-testdata) whose operators are all in the
// frontend's op list and checks each output's shape and dtype against output_N.pb.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "compiler/frontend/onnx_loader.h"
#include "compiler/frontend/tensor_io.h"
#include "core/error.h"
#include "onnx/onnx_pb.h"
#include <gtest/gtest.h>

namespace cardsim {
namespace {

namespace fs = std::filesystem;
const std::string kNodeDir = "/usr/share/libonnx-testdata/data/node";

const std::set<std::string> kOps = {
    "Conv", "ConvTranspose", "Gemm", "MatMul", "MatMulInteger", "ConvInteger", "QLinearConv", "QLinearMatMul",
    "QuantizeLinear", "DequantizeLinear", "Relu", "LeakyRelu", "PRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish",
    "Tanh", "Erf", "Softmax", "LayerNormalization", "BatchNormalization", "MaxPool", "AveragePool", "GlobalAveragePool",
    "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "ReduceMean", "Concat", "Split", "Slice", "Gather", "Reshape", "Flatten",
    "Transpose", "Squeeze", "Unsqueeze", "Pad", "Resize", "Shape", "ConstantOfShape", "Expand", "Where", "Equal", "Cast",
    "Identity"};

onnx::ModelProto read_model(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  onnx::ModelProto m;
  m.ParseFromIstream(&in);
  return m;
}

std::vector<std::string> selected_tests() {
  std::vector<std::string> r;
  if (!fs::is_directory(kNodeDir)) return r;
  for (const auto& e : fs::directory_iterator(kNodeDir)) {
    if (!fs::exists(e.path() / "model.onnx")) continue;
    onnx::ModelProto m = read_model((e.path() / "model.onnx").string());
    bool all_known = m.graph().node_size() > 0;
    for (const auto& n : m.graph().node()) all_known &= kOps.count(n.op_type()) != 0;
    if (all_known) r.push_back(e.path().filename().string());
  }
  std::sort(r.begin(), r.end());
  return r;
}

int onnx_opset(const onnx::ModelProto& m) {
  for (const auto& imp : m.opset_import())
    if (imp.domain().empty() || imp.domain() == "ai.onnx") return int(imp.version());
  return 1;
}

// One test looping over the suite (not one ctest per model): each test process would
// otherwise re-scan all ~900 backend models just to enumerate the cases.
LoadStats g_stats;  // summed over the suite, printed at the end

void check_node_test(const std::string& test_name) {
  SCOPED_TRACE(test_name);
  const std::string dir = kNodeDir + "/" + test_name;
  const std::string model_path = dir + "/model.onnx";
  onnx::ModelProto m = read_model(model_path);
  const std::string op = m.graph().node(0).op_type();
  if (onnx_opset(m) < 9) {
    // Outside the supported range: must be refused with a message naming the opset.
    try {
      load_onnx(model_path);
      FAIL() << "opset " << onnx_opset(m) << " model loaded";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
      EXPECT_NE(std::string(e.what()).find("opset"), std::string::npos) << e.what();
    }
    return;
  }
  for (const auto& vi : m.graph().input())
    if (!vi.type().has_tensor_type()) {
      // Sequences/optionals: refused with a message naming the input.
      try {
        load_onnx(model_path);
        FAIL() << "non-tensor input " << vi.name() << " loaded";
      } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
        EXPECT_NE(std::string(e.what()).find(vi.name()), std::string::npos) << e.what();
      }
      return;
    }
  auto inputs = read_test_data_dir(dir + "/test_data_set_0", "input_");
  auto outputs = read_test_data_dir(dir + "/test_data_set_0", "output_");

  // Inputs that decide output shapes (Reshape's shape, Slice's starts, Resize's scales...)
  // are graph inputs in these tests; bind them to their test values so shapes are static,
  // as they would be initializers in an exported network.
  LoadOptions opt;
  opt.stats = &g_stats;
  std::vector<std::string> input_names;
  for (const auto& vi : m.graph().input()) {
    bool is_init = false;
    for (const auto& t : m.graph().initializer()) is_init |= t.name() == vi.name();
    if (!is_init) input_names.push_back(vi.name());
  }
  ASSERT_EQ(input_names.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i].second;
    bool shape_like = (t.dtype == DType::I64 && i >= 1) || op == "ConstantOfShape" || (op == "Resize" && i >= 1);
    if (shape_like) opt.constants[input_names[i]] = t;
  }

  ir::Graph g = load_onnx(model_path, opt);
  ASSERT_EQ(g.outputs.size(), outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    const ir::Value& v = g.value(g.outputs[i]);
    EXPECT_EQ(v.shape, outputs[i].second.shape) << "output " << g.outputs[i];
    // numpy has no bfloat16: the ONNX test data stores bf16 results as uint16 bit patterns.
    DType want = outputs[i].second.dtype;
    if (want == DType::U16 && v.dtype == DType::BF16) want = DType::BF16;
    EXPECT_EQ(v.dtype, want) << "output " << g.outputs[i];
  }
  for (const auto& [name, v] : g.values)
    for (auto d : v.shape) EXPECT_GE(d, 0) << name;
  std::set<std::string> consumed;
  for (const auto& n : g.nodes) consumed.insert(n.inputs.begin(), n.inputs.end());
  for (const auto& in : g.inputs) {
    // Inputs that stayed network inputs keep the shapes the test data gives them (unused
    // inputs excluded: some CastLike tests declare a shape their data does not have).
    if (!consumed.count(in)) continue;
    auto it = std::find(input_names.begin(), input_names.end(), in);
    ASSERT_NE(it, input_names.end());
    EXPECT_EQ(g.value(in).shape, inputs[size_t(it - input_names.begin())].second.shape) << in;
  }
}

TEST(OnnxNodeSuite, EverySelectedModelLoadsWithExpectedOutputShapes) {
  auto tests = selected_tests();
  EXPECT_GE(tests.size(), 250u) << "libonnx-testdata missing or incomplete";
  for (const auto& t : tests) {
    try {
      check_node_test(t);
    } catch (const std::exception& e) {
      ADD_FAILURE() << t << ": " << e.what();
    }
  }
  std::printf("%zu models, %d nodes: %d Constant, %d folded, %d typed by ONNX inference, %d by the reference kernel\n",
              tests.size(), g_stats.nodes_in, g_stats.constant_nodes, g_stats.folded, g_stats.onnx_inferred,
              g_stats.reference_inferred);
  // Almost every shape must come from ONNX's inference; the zero-input fallback is rare.
  EXPECT_LT(g_stats.reference_inferred * 10, g_stats.onnx_inferred);
}

}  // namespace
}  // namespace cardsim
