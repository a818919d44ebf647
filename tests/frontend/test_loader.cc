// The ONNX loader on small hand-built models: folding, cleanup, dims, and bad input.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "compiler/frontend/onnx_loader.h"
#include "compiler/frontend/tensor_io.h"
#include "core/error.h"
#include "tests/frontend/model_builder.h"
#include <gtest/gtest.h>

namespace cardsim {
namespace {

using test::ModelBuilder;
using test::add_int_attr;
using test::add_ints_attr;

struct Caught {
  ErrorKind kind = ErrorKind::Internal;
  std::string msg;
  bool thrown = false;
};

template <typename F>
Caught catch_error(F&& f) {
  Caught c;
  try {
    f();
  } catch (const Error& e) {
    c = {e.kind(), e.what(), true};
  }
  return c;
}

#define EXPECT_MSG_HAS(c, text) EXPECT_NE((c).msg.find(text), std::string::npos) << (c).msg

std::vector<std::string> op_types(const ir::Graph& g) {
  std::vector<std::string> r;
  for (const auto& n : g.nodes) r.push_back(n.op_type);
  return r;
}

std::string save(const ModelBuilder& b, const std::string& tag) {
  std::string path = test::temp_dir(tag) + "/model.onnx";
  b.save(path);
  return path;
}

TEST(Loader, PytorchShapePlumbingFoldsAway) {
  // y = x.reshape(x.shape[0], -1), spelled the way torch.onnx exports it.
  ModelBuilder b;
  b.input("x", DType::F32, {2, 3, 4, 5}).output("y");
  b.initializer("zero", Tensor::from_int64s({}, {0}));
  b.initializer("axes0", Tensor::from_int64s({1}, {0}));
  b.initializer("minus1", Tensor::from_int64s({1}, {-1}));
  b.node("Shape", {"x"}, {"s"});
  add_int_attr(b.node("Gather", {"s", "zero"}, {"n"}), "axis", 0);
  b.node("Unsqueeze", {"n", "axes0"}, {"n1"});
  add_int_attr(b.node("Concat", {"n1", "minus1"}, {"shape"}), "axis", 0);
  b.node("Reshape", {"x", "shape"}, {"y"});
  ir::Graph g = load_onnx_bytes(b.bytes(), "plumbing.onnx");
  ASSERT_EQ(op_types(g), std::vector<std::string>{"Reshape"});
  const auto& shape_in = g.nodes[0].inputs[1];
  ASSERT_TRUE(g.is_constant(shape_in));
  EXPECT_EQ(g.value(shape_in).constant->to_int64s(), (std::vector<int64_t>{2, -1}));
  EXPECT_EQ(g.value("y").shape, (Shape{2, 60}));
  EXPECT_EQ(g.value("y").dtype, DType::F32);
  EXPECT_EQ(g.inputs, std::vector<std::string>{"x"});
  EXPECT_EQ(g.outputs, std::vector<std::string>{"y"});
}

TEST(Loader, OnnxInferenceGivesShapesWithoutFolding) {
  ModelBuilder b;
  b.input("x", DType::F32, {2, 8}).input("w", DType::F32, {8, 4}).output("y");
  b.initializer("w", Tensor(DType::F32, {8, 4}));  // initializer also listed as input
  b.initializer("bias", Tensor(DType::F32, {4}));
  b.node("MatMul", {"x", "w"}, {"m"}, "mm");
  b.node("Add", {"m", "bias"}, {"a"}, "add");
  b.node("Relu", {"a"}, {"y"}, "relu");
  ir::Graph g = load_onnx_bytes(b.bytes(), "mlp.onnx");
  EXPECT_EQ(op_types(g), (std::vector<std::string>{"MatMul", "Add", "Relu"}));
  EXPECT_EQ(g.inputs, std::vector<std::string>{"x"});  // "w" is an initializer, not a network input
  EXPECT_TRUE(g.is_constant("w"));
  EXPECT_EQ(g.value("m").shape, (Shape{2, 4}));
  EXPECT_EQ(g.value("y").shape, (Shape{2, 4}));
  EXPECT_EQ(g.opset, 13);
  EXPECT_EQ(g.nodes[0].opset, 13);
}

TEST(Loader, IdentityDeadNodesAndGeneratedNames) {
  ModelBuilder b;
  b.input("x", DType::F32, {2, 3}).output("y");
  b.node("Relu", {"x"}, {"r"});                  // unnamed -> Relu_1 ("Relu_0" is taken)
  b.node("Sigmoid", {"r"}, {"s"}, "Relu_0");
  b.node("Identity", {"s"}, {"y"}, "id");        // y keeps its name, Sigmoid writes it
  b.node("Relu", {"x"}, {"unused"});             // dead
  b.node("Identity", {"x"}, {"x2"}, "id2");      // dead too
  ir::Graph g = load_onnx_bytes(b.bytes(), "cleanup.onnx");
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[0].name, "Relu_1");
  EXPECT_EQ(g.nodes[1].name, "Relu_0");
  EXPECT_EQ(g.nodes[1].outputs, std::vector<std::string>{"y"});
  EXPECT_EQ(g.outputs, std::vector<std::string>{"y"});
  EXPECT_FALSE(g.values.count("s"));
  EXPECT_FALSE(g.values.count("unused"));
  EXPECT_EQ(g.value("y").shape, (Shape{2, 3}));
}

TEST(Loader, IdentityInsideTheGraphIsBypassed) {
  ModelBuilder b;
  b.input("x", DType::F32, {4}).output("y");
  b.node("Identity", {"x"}, {"i"}, "id");
  b.node("Relu", {"i"}, {"y"}, "relu");
  ir::Graph g = load_onnx_bytes(b.bytes(), "id.onnx");
  ASSERT_EQ(op_types(g), std::vector<std::string>{"Relu"});
  EXPECT_EQ(g.nodes[0].inputs, std::vector<std::string>{"x"});
}

TEST(Loader, ConstantNodesBecomeConstants) {
  ModelBuilder b;
  b.input("x", DType::F32, {2, 6}).output("y");
  auto& c = b.node("Constant", {}, {"shape"}, "const");
  add_ints_attr(c, "value_ints", {3, 4});
  b.node("Reshape", {"x", "shape"}, {"y"}, "reshape");
  ir::Graph g = load_onnx_bytes(b.bytes(), "const.onnx");
  ASSERT_EQ(op_types(g), std::vector<std::string>{"Reshape"});
  EXPECT_EQ(g.value("shape").constant->to_int64s(), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(g.value("y").shape, (Shape{3, 4}));
}

TEST(Loader, WholeConstantSubgraphFolds) {
  // (a + b) * 2 with a, b initializers: evaluated at load time, output is a constant.
  ModelBuilder b;
  b.input("x", DType::F32, {2}).output("y");
  b.initializer("a", Tensor::from_floats({2}, {1.f, 2.f}));
  b.initializer("b", Tensor::from_floats({2}, {10.f, 20.f}));
  b.initializer("two", Tensor::from_floats({}, {2.f}));
  b.node("Add", {"a", "b"}, {"ab"});
  b.node("Mul", {"ab", "two"}, {"k"});
  b.node("Add", {"x", "k"}, {"y"});
  ir::Graph g = load_onnx_bytes(b.bytes(), "fold.onnx");
  ASSERT_EQ(op_types(g), std::vector<std::string>{"Add"});
  EXPECT_EQ(g.value("k").constant->to_doubles(), (std::vector<double>{22, 44}));
}

TEST(Loader, QuantizedWeightsStayQuantizedByDefault) {
  ModelBuilder b;
  b.input("x", DType::F32, {4}).output("y");
  Tensor w(DType::I8, {4});
  for (int i = 0; i < 4; ++i) w.set(size_t(i), i - 2);
  b.initializer("w", w);
  b.initializer("scale", Tensor::from_floats({}, {0.5f}));
  b.node("DequantizeLinear", {"w", "scale"}, {"wf"});
  b.node("Add", {"x", "wf"}, {"y"});
  ir::Graph kept = load_onnx_bytes(b.bytes(), "qdq.onnx");
  EXPECT_EQ(op_types(kept), (std::vector<std::string>{"DequantizeLinear", "Add"}));
  EXPECT_EQ(kept.value("wf").shape, (Shape{4}));
  LoadOptions fold;
  fold.keep_quantized_weights = false;
  ir::Graph folded = load_onnx_bytes(b.bytes(), "qdq.onnx", fold);
  EXPECT_EQ(op_types(folded), std::vector<std::string>{"Add"});
  EXPECT_EQ(folded.value("wf").constant->to_doubles(), (std::vector<double>{-1, -0.5, 0, 0.5}));
}

TEST(Loader, DynamicBatchNeedsBatchOrShape) {
  ModelBuilder b;
  b.input("x", DType::F32, {-1, 3}).output("y");
  b.node("Relu", {"x"}, {"y"}, "relu");
  auto c = catch_error([&] { load_onnx_bytes(b.bytes(), "dyn.onnx"); });
  ASSERT_TRUE(c.thrown);
  EXPECT_EQ(c.kind, ErrorKind::Unsupported);
  EXPECT_MSG_HAS(c, "dyn.onnx");
  EXPECT_MSG_HAS(c, "'x'");
  EXPECT_MSG_HAS(c, "--batch N");
  EXPECT_MSG_HAS(c, "--shape x=Nx3");

  LoadOptions batch;
  batch.batch = 4;
  EXPECT_EQ(load_onnx_bytes(b.bytes(), "dyn.onnx", batch).value("y").shape, (Shape{4, 3}));
  LoadOptions shape;
  shape.shapes["x"] = {5, 3};
  EXPECT_EQ(load_onnx_bytes(b.bytes(), "dyn.onnx", shape).value("y").shape, (Shape{5, 3}));

  LoadOptions wrong_rank;
  wrong_rank.shapes["x"] = {5, 3, 1};
  c = catch_error([&] { load_onnx_bytes(b.bytes(), "dyn.onnx", wrong_rank); });
  EXPECT_EQ(c.kind, ErrorKind::Usage);
  EXPECT_MSG_HAS(c, "rank");
  LoadOptions fixed_conflict;
  fixed_conflict.shapes["x"] = {5, 4};
  c = catch_error([&] { load_onnx_bytes(b.bytes(), "dyn.onnx", fixed_conflict); });
  EXPECT_EQ(c.kind, ErrorKind::Usage);
  LoadOptions unknown_name;
  unknown_name.shapes["input"] = {1, 3};
  c = catch_error([&] { load_onnx_bytes(b.bytes(), "dyn.onnx", unknown_name); });
  EXPECT_EQ(c.kind, ErrorKind::Usage);
  EXPECT_MSG_HAS(c, "inputs: x");
}

TEST(Loader, RuntimeShapeInputIsAClearError) {
  ModelBuilder b;
  b.input("x", DType::F32, {2, 6}).input("shape", DType::I64, {2}).output("y");
  b.node("Reshape", {"x", "shape"}, {"y"}, "reshape");
  auto c = catch_error([&] { load_onnx_bytes(b.bytes(), "rt.onnx"); });
  ASSERT_TRUE(c.thrown);
  EXPECT_EQ(c.kind, ErrorKind::Unsupported);
  EXPECT_MSG_HAS(c, "'reshape'");
  EXPECT_MSG_HAS(c, "'shape'");
  // Binding the input to a value makes it a constant and the shape static.
  LoadOptions bind;
  bind.constants["shape"] = Tensor::from_int64s({2}, {3, 4});
  ir::Graph g = load_onnx_bytes(b.bytes(), "rt.onnx", bind);
  EXPECT_EQ(g.inputs, std::vector<std::string>{"x"});
  EXPECT_EQ(g.value("y").shape, (Shape{3, 4}));
}

TEST(Loader, ReferenceKernelTypesOpsOnnxCannot) {
  // Gelu has no schema in ONNX 1.12 (it arrives in opset 20), so ONNX inference gives
  // nothing; the reference kernel on zeros supplies the shape.
  ModelBuilder b;
  b.input("x", DType::F32, {2, 3}).output("y");
  b.node("Gelu", {"x"}, {"y"}, "gelu");
  LoadStats stats;
  LoadOptions opt;
  opt.stats = &stats;
  ir::Graph g = load_onnx_bytes(b.bytes(), "gelu.onnx", opt);
  EXPECT_EQ(g.value("y").shape, (Shape{2, 3}));
  EXPECT_EQ(g.value("y").dtype, DType::F32);
  EXPECT_EQ(stats.reference_inferred, 1);
  EXPECT_EQ(stats.onnx_inferred, 0);
}

TEST(Loader, StatsCountWhatHappened) {
  ModelBuilder b;
  b.input("x", DType::F32, {2, 3}).output("y");
  b.initializer("two", Tensor::from_floats({}, {2.f}));
  auto& c = b.node("Constant", {}, {"one"});
  auto* a = c.add_attribute();
  a->set_name("value_float");
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(1.f);
  b.node("Add", {"one", "two"}, {"three"});   // folded
  b.node("Mul", {"x", "three"}, {"m"});        // ONNX inference
  b.node("Identity", {"m"}, {"y"});            // removed (y renames m)
  b.node("Relu", {"x"}, {"dead"});             // dead
  LoadStats stats;
  LoadOptions opt;
  opt.stats = &stats;
  ir::Graph g = load_onnx_bytes(b.bytes(), "stats.onnx", opt);
  EXPECT_EQ(stats.nodes_in, 5);
  EXPECT_EQ(stats.constant_nodes, 1);
  EXPECT_EQ(stats.folded, 1);
  EXPECT_EQ(stats.onnx_inferred, 3);  // Mul, Identity, Relu (before cleanup)
  EXPECT_EQ(stats.identities_removed, 1);
  EXPECT_EQ(stats.dead_removed, 1);
  EXPECT_EQ(op_types(g), std::vector<std::string>{"Mul"});
  EXPECT_EQ(g.value("three").constant->to_doubles(), std::vector<double>{3.0});
}

TEST(Loader, InferAndFoldRerunsAfterRewrites) {
  ModelBuilder b;
  b.input("x", DType::F32, {1, 2, 5, 5}).output("y");
  b.initializer("w", Tensor(DType::F32, {4, 2, 3, 3}));
  b.node("Conv", {"x", "w"}, {"c"}, "conv");
  b.node("Relu", {"c"}, {"y"}, "relu");
  ir::Graph g = load_onnx_bytes(b.bytes(), "rerun.onnx");
  // A pass fuses Conv+Relu into a cardsim op no schema or kernel knows, and adds a node
  // with constant inputs; re-running keeps the fused op's shape and folds the new node.
  g.nodes[0].op_type = "ConvAct";
  g.nodes[0].domain = "cardsim";
  g.nodes[0].outputs = {"y"};
  g.nodes.pop_back();
  g.values.erase("c");
  g.values["k"].name = "k";
  g.values["k"].dtype = DType::Undefined;
  g.values["k"].shape = {-1};
  ir::Node neg;
  neg.name = "neg";
  neg.op_type = "Neg";
  neg.inputs = {"w"};
  neg.outputs = {"k"};
  g.nodes.insert(g.nodes.begin(), neg);
  g.outputs.push_back("k");
  infer_and_fold(g);
  ASSERT_EQ(op_types(g), std::vector<std::string>{"ConvAct"});
  EXPECT_EQ(g.value("y").shape, (Shape{1, 4, 3, 3}));
  ASSERT_TRUE(g.is_constant("k"));
  EXPECT_EQ(g.value("k").shape, (Shape{4, 2, 3, 3}));
}

TEST(Loader, UnknownOpNamesNodeOpAndOpset) {
  ModelBuilder b;
  b.input("x", DType::F32, {2}).output("y");
  b.node("FancyNewOp", {"x"}, {"y"}, "mystery");
  auto c = catch_error([&] { load_onnx_bytes(b.bytes(), "unknown.onnx"); });
  ASSERT_TRUE(c.thrown);
  EXPECT_EQ(c.kind, ErrorKind::Unsupported);
  EXPECT_MSG_HAS(c, "'mystery'");
  EXPECT_MSG_HAS(c, "FancyNewOp");
  EXPECT_MSG_HAS(c, "opset 13");
  EXPECT_MSG_HAS(c, "Relu");  // the list of supported ops
}

TEST(Loader, UnsupportedOpsetIsNamed) {
  for (int opset : {7, 18}) {
    ModelBuilder b(opset);
    b.input("x", DType::F32, {2}).output("y");
    b.node("Relu", {"x"}, {"y"});
    auto c = catch_error([&] { load_onnx_bytes(b.bytes(), "old.onnx"); });
    EXPECT_EQ(c.kind, ErrorKind::Unsupported);
    EXPECT_MSG_HAS(c, "opset " + std::to_string(opset));
    EXPECT_MSG_HAS(c, "9-17");
  }
}

TEST(Loader, TruncatedRandomAndEmptyFiles) {
  ModelBuilder b;
  b.input("x", DType::F32, {1000}).output("y");
  b.initializer("w", Tensor(DType::F32, {1000}));
  b.node("Add", {"x", "w"}, {"y"});
  std::string dir = test::temp_dir("bad");
  std::string bytes = b.bytes();
  std::ofstream(dir + "/truncated.onnx", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  auto c = catch_error([&] { load_onnx(dir + "/truncated.onnx"); });
  ASSERT_TRUE(c.thrown);
  EXPECT_EQ(c.kind, ErrorKind::Format);
  EXPECT_MSG_HAS(c, "truncated.onnx");
  EXPECT_MSG_HAS(c, "byte offset");

  std::mt19937 rng(0);
  std::string noise(4096, '\0');
  for (auto& ch : noise) ch = char(rng() & 0xff);
  std::ofstream(dir + "/random.onnx", std::ios::binary) << noise;
  c = catch_error([&] { load_onnx(dir + "/random.onnx"); });
  ASSERT_TRUE(c.thrown);
  EXPECT_EQ(c.kind, ErrorKind::Format);
  EXPECT_MSG_HAS(c, "random.onnx");

  std::ofstream(dir + "/empty.onnx", std::ios::binary).flush();
  c = catch_error([&] { load_onnx(dir + "/empty.onnx"); });
  EXPECT_EQ(c.kind, ErrorKind::Format);
  EXPECT_MSG_HAS(c, "empty");

  c = catch_error([&] { load_onnx(dir + "/does_not_exist.onnx"); });
  EXPECT_EQ(c.kind, ErrorKind::Io);
  EXPECT_MSG_HAS(c, "does_not_exist.onnx");
}

TEST(Loader, ExternalDataFromModelFolder) {
  ModelBuilder b;
  b.input("x", DType::F32, {3}).output("y");
  auto* w = b.model.mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(1);
  w->add_dims(3);
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* loc = w->add_external_data();
  loc->set_key("location");
  loc->set_value("weights/w.bin");
  auto* off = w->add_external_data();
  off->set_key("offset");
  off->set_value("4");
  b.node("Add", {"x", "w"}, {"y"});
  std::string path = save(b, "ext");
  std::string dir = std::filesystem::path(path).parent_path().string();

  auto c = catch_error([&] { load_onnx(path); });
  ASSERT_TRUE(c.thrown);
  EXPECT_EQ(c.kind, ErrorKind::Io);
  EXPECT_MSG_HAS(c, "weights/w.bin");
  EXPECT_MSG_HAS(c, "'w'");

  std::filesystem::create_directories(dir + "/weights");
  float v[4] = {0, 1.5f, 2.5f, -3.f};
  {
    std::ofstream out(dir + "/weights/w.bin", std::ios::binary);
    out.write(reinterpret_cast<const char*>(v), 8);  // too short: 8 bytes, need 4 + 12
  }
  c = catch_error([&] { load_onnx(path); });
  EXPECT_EQ(c.kind, ErrorKind::Format);
  EXPECT_MSG_HAS(c, "short read");
  {
    std::ofstream out(dir + "/weights/w.bin", std::ios::binary);
    out.write(reinterpret_cast<const char*>(v), 16);
  }
  ir::Graph g = load_onnx(path);
  EXPECT_EQ(g.value("w").constant->to_doubles(), (std::vector<double>{1.5, 2.5, -3}));
}

TEST(Loader, SourceSha256MatchesSha256sum) {
  ModelBuilder b;
  b.input("x", DType::F32, {2}).output("y");
  b.node("Relu", {"x"}, {"y"});
  std::string path = save(b, "sha");
  ir::Graph g = load_onnx(path);
  FILE* p = popen(("sha256sum " + path).c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[65] = {};
  ASSERT_EQ(fread(buf, 1, 64, p), 64u);
  pclose(p);
  EXPECT_EQ(g.source_sha256, std::string(buf, 64));
  EXPECT_EQ(g.name, "test_graph");
}

TEST(Loader, AttributesArrive) {
  ModelBuilder b;
  b.input("x", DType::F32, {1, 2, 5, 5}).output("y");
  b.initializer("w", Tensor(DType::F32, {4, 2, 3, 3}));
  auto& conv = b.node("Conv", {"x", "w"}, {"y"}, "conv");
  add_ints_attr(conv, "pads", {1, 1, 1, 1});
  add_ints_attr(conv, "strides", {2, 2});
  ir::Graph g = load_onnx_bytes(b.bytes(), "conv.onnx");
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].attr_ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(g.nodes[0].attr_ints("strides"), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(g.value("y").shape, (Shape{1, 4, 3, 3}));  // (5 + 2 - 3) / 2 + 1 = 3
}

TEST(Loader, UndefinedInputIsFormatError) {
  ModelBuilder b;
  b.input("x", DType::F32, {2}).output("y");
  b.node("Add", {"x", "ghost"}, {"y"}, "add");
  auto c = catch_error([&] { load_onnx_bytes(b.bytes(), "ghost.onnx"); });
  EXPECT_EQ(c.kind, ErrorKind::Format);
  EXPECT_MSG_HAS(c, "'ghost'");
  EXPECT_MSG_HAS(c, "'add'");
}

}  // namespace
}  // namespace cardsim
