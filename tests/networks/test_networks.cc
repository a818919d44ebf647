// Real networks on the card: torchvision models exported by tools/export_models.py (logits by
// onnxruntime) and the digits CNN trained by tools/digits.py, prepared into the build tree by
// prepare.py (a CTest fixture). Environment:
//   CARDSIM_NETWORKS_DIR  the prepared folder (models/<name>/..., digits/...)
//   CARDSIM_NETWORK       the torchvision model the Net.* tests check (resnet18, ...)
// Checks (tolerances and their reasons: docs/CONFORMANCE.md):
//   fp32 logits vs onnxruntime: rtol 1e-3, atol 1e-4
//   fp16 / bf16 logits vs onnxruntime: cosine and max |diff| relative to max |logit|
//   int8 (calibrated on separate images, the test image held out): cosine >= 0.99 to the fp32
//   logits; the card's outputs (functional executor with the default card and with a tiny-SRAM
//   card, and the SystemC card) bit-identical to the independent integer reference
//   (compiler/intref)
//   digits: fp32 argmax == onnxruntime's on all 360 held-out images; int8 accuracy within one
//   percentage point of fp32.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>

#include <fmt/format.h>

#include "compiler/backend/compile.h"
#include "compiler/backend/int_reference.h"
#include "compiler/frontend/onnx_loader.h"
#include "compiler/frontend/tensor_io.h"
#include "compiler/intref/intref.h"
#include "core/error.h"
#include "models/card/card.h"
#include "models/kernels/functional_run.h"
#include "sim/card_config.h"

using namespace cardsim;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

fs::path networks_dir() { return env_or("CARDSIM_NETWORKS_DIR", CARDSIM_NETWORKS_DEFAULT_DIR); }

CardConfig default_card() { return load_config(resolve_config_path("default")); }
// A card whose SRAM and accumulator force many small tiles (and streamed weights).
CardConfig tiny_card() {
  CardConfig c = default_card();
  c.sram.size_bytes = 256 * 1024;
  c.accumulator.size_bytes = 32 * 1024;
  c.name += "-tiny-sram";
  return c;
}

isa::Program compile_for(const ir::Graph& g, const CardConfig& cfg, const std::string& precision,
                         const std::string& calibrate = "") {
  backend::CompileOptions o;
  o.precision = precision;
  o.calibrate_dir = calibrate;
  return backend::compile(g, cfg, o);
}

std::vector<float> floats(const Tensor& t) {
  Tensor f = t.dtype == DType::F32 ? t : t.cast(DType::F32);
  return std::vector<float>(f.ptr<float>(), f.ptr<float>() + f.numel());
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) ab += double(a[i]) * b[i], aa += double(a[i]) * a[i], bb += double(b[i]) * b[i];
  return ab / std::sqrt(aa * bb);
}

double max_abs(const std::vector<float>& a) {
  double m = 0;
  for (float x : a) m = std::max(m, double(std::fabs(x)));
  return m;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
  return m;
}

size_t argmax(const float* v, size_t n) { return size_t(std::max_element(v, v + n) - v); }

// Elements outside rtol/atol of the reference, with the worst one described.
std::string allclose(const std::vector<float>& got, const std::vector<float>& want, double rtol, double atol) {
  size_t bad = 0, worst = 0;
  double worst_excess = -1;
  for (size_t i = 0; i < want.size(); ++i) {
    double ex = std::fabs(double(got[i]) - want[i]) - (atol + rtol * std::fabs(want[i]));
    if (ex > 0 || std::isnan(got[i])) {
      ++bad;
      if (ex > worst_excess || std::isnan(got[i])) worst_excess = ex, worst = i;
    }
  }
  if (!bad) return "";
  return fmt::format("{} of {} elements beyond rtol {} atol {}; worst [{}]: got {:.7g}, expected {:.7g}", bad, want.size(),
                     rtol, atol, worst, got[worst], want[worst]);
}

// One exported torchvision model: graph, input, onnxruntime logits.
struct Network {
  std::string name;
  fs::path dir;
  ir::Graph graph;
  Tensor input, expected;
};

const Network& network() {
  static Network n = [] {
    Network r;
    r.name = env_or("CARDSIM_NETWORK", "squeezenet1_1");
    r.dir = networks_dir() / "models" / r.name;
    if (!fs::exists(r.dir / "model.onnx"))
      throw std::runtime_error(fmt::format("{}: missing; run tests/networks/prepare.py (the CTest fixture)", r.dir.string()));
    r.graph = load_onnx((r.dir / "model.onnx").string());
    r.input = read_tensor_pb((r.dir / "test_data_set_0" / "input_0.pb").string());
    r.expected = read_tensor_pb((r.dir / "test_data_set_0" / "output_0.pb").string());
    return r;
  }();
  return n;
}

std::vector<float> run_card_functional(const isa::Program& p, const Tensor& input) {
  auto outs = kernels::run_functional(p, {input});
  return floats(outs.at(0));
}

// The fp32 logits of the card (computed once; the int8 check compares against them).
const std::vector<float>& fp32_logits() {
  static std::vector<float> l = [] {
    const Network& n = network();
    return run_card_functional(compile_for(n.graph, default_card(), "fp32"), n.input);
  }();
  return l;
}

TEST(Net, Fp32MatchesOnnxruntime) {
  const Network& n = network();
  auto t0 = Clock::now();
  const auto& got = fp32_logits();
  auto want = floats(n.expected);
  ASSERT_EQ(got.size(), want.size());
  std::string bad = allclose(got, want, 1e-3, 1e-4);
  std::cout << fmt::format("[{}] fp32: max|diff| {:.3g} (max|logit| {:.3g}), cosine {:.9f}, top-1 {} vs onnxruntime {}, {:.1f} s\n",
                           n.name, max_abs_diff(got, want), max_abs(want), cosine(got, want), argmax(got.data(), got.size()),
                           argmax(want.data(), want.size()), seconds_since(t0));
  EXPECT_EQ(bad, "") << n.name;
}

// Reduced precision: every activation and weight rounded to 11 (fp16) or 8 (bf16) significant
// bits at each layer; errors grow with depth, so the bound is relative to the logit range.
void check_reduced(const std::string& precision, double min_cosine, double max_rel_diff) {
  const Network& n = network();
  auto t0 = Clock::now();
  auto got = run_card_functional(compile_for(n.graph, default_card(), precision), n.input);
  auto want = floats(n.expected);
  ASSERT_EQ(got.size(), want.size());
  double cos = cosine(got, want), rel = max_abs_diff(got, want) / max_abs(want);
  std::cout << fmt::format("[{}] {}: cosine {:.6f} (>= {}), max|diff|/max|logit| {:.4f} (<= {}), top-1 {} vs {}, {:.1f} s\n",
                           n.name, precision, cos, min_cosine, rel, max_rel_diff, argmax(got.data(), got.size()),
                           argmax(want.data(), want.size()), seconds_since(t0));
  EXPECT_GE(cos, min_cosine);
  EXPECT_LE(rel, max_rel_diff);
}

// Measured (default card): fp16 cosine >= 0.99986, max|diff| <= 1.8 % of max|logit| (mobilenet_v2,
// whose small logits come from large cancelling activations); bf16 (8x coarser) cosine >= 0.9948,
// <= 12.5 %. The bounds leave ~3x room; a wrong layer gives cosine near 0.
TEST(Net, Fp16WithinTolerance) { check_reduced("fp16", 0.9995, 0.05); }
TEST(Net, Bf16WithinTolerance) { check_reduced("bf16", 0.99, 0.25); }

TEST(Net, Int8CloseToFp32AndBitExactToIntegerReference) {
  const Network& n = network();
  // Calibrated on prepare.py's calibration images (drawn like the test image, own seed): the
  // test image is held out, as in a real post-training quantization flow.
  std::string calib = (n.dir / "calibration").string();
  ASSERT_TRUE(fs::is_directory(calib)) << calib << ": missing; run tests/networks/prepare.py (the CTest fixture)";
  auto t0 = Clock::now();
  isa::Program p_default = compile_for(n.graph, default_card(), "int8", calib);
  isa::Program p_tiny = compile_for(n.graph, tiny_card(), "int8", calib);
  double t_compile = seconds_since(t0);
  t0 = Clock::now();
  auto out_default = kernels::run_functional(p_default, {n.input});
  auto out_tiny = kernels::run_functional(p_tiny, {n.input});
  double t_run = seconds_since(t0);
  t0 = Clock::now();
  intref::Options io;
  io.calibrate_dir = calib;
  auto ref = intref::run_int8(n.graph, {n.input}, io);
  double t_ref = seconds_since(t0);
  ASSERT_EQ(ref.size(), 1u);
  ASSERT_EQ(out_default.size(), 1u);
  auto int8 = floats(out_default[0]);
  double cos = cosine(int8, fp32_logits());
  size_t differ_tiny = 0, differ_ref = 0;
  auto r = floats(ref[0]), tiny = floats(out_tiny.at(0));
  for (size_t i = 0; i < int8.size(); ++i) differ_tiny += int8[i] != tiny[i], differ_ref += int8[i] != r[i];
  std::cout << fmt::format("[{}] int8: cosine to fp32 logits {:.5f}; default-card vs tiny-SRAM card: {} of {} differ; "
                           "card vs integer reference: {} differ; compile {:.1f} s, 2 runs {:.1f} s, intref {:.1f} s\n",
                           n.name, cos, differ_tiny, int8.size(), differ_ref, t_compile, t_run, t_ref);
  // The bound is 0.99. CARDSIM_INT8_MIN_COSINE lowers it for a network with a known,
  // documented quantization gap (docs/CONFORMANCE.md); the bit-exact checks below never relax.
  double min_cos = std::stod(env_or("CARDSIM_INT8_MIN_COSINE", "0.99"));
  if (min_cos < 0.99) std::cout << fmt::format("[{}] KNOWN GAP: int8 cosine bound lowered to {} (issue: 0.99)\n", n.name, min_cos);
  EXPECT_GE(cos, min_cos);
  EXPECT_EQ(out_default[0].data, out_tiny[0].data) << "tiling changed int8 results";
  EXPECT_EQ(out_default[0].data, ref[0].data) << "card differs from the integer reference";
  EXPECT_NE(p_default.queues, p_tiny.queues) << "the tiny card should have produced a different tiling";

  // The SystemC card (forked: SystemC elaborates once per process) must agree too.
  t0 = Clock::now();
  card::RunOptions ro;
  card::RunResult cr = card::run_program_forked(p_default, default_card(), {n.input}, ro);
  ASSERT_TRUE(cr.complete) << cr.error;
  ASSERT_EQ(cr.outputs.size(), 1u);
  EXPECT_EQ(cr.outputs[0].data, ref[0].data) << "SystemC card differs from the integer reference";
  std::cout << fmt::format("[{}] int8 on the SystemC card: bit-identical to the integer reference: {}, {:.1f} s\n", n.name,
                           cr.outputs[0].data == ref[0].data ? "yes" : "NO", seconds_since(t0));
}

// ---- digits: a trained network, accuracy on the held-out split ----------------------------

struct Digits {
  ir::Graph graph;  // batch 360
  Tensor images, labels, ort_logits;
  fs::path dir;
};

const Digits& digits() {
  static Digits d = [] {
    Digits r;
    r.dir = networks_dir() / "digits";
    if (!fs::exists(r.dir / "digits.json"))
      throw std::runtime_error(fmt::format("{}: missing; run tests/networks/prepare.py --digits", r.dir.string()));
    r.graph = load_onnx((r.dir / "eval" / "digits_float_b360.onnx").string());
    r.images = read_tensor_pb((r.dir / "heldout" / "input_0.pb").string());
    r.labels = read_tensor_pb((r.dir / "heldout" / "labels.pb").string());
    r.ort_logits = read_tensor_pb((r.dir / "heldout" / "float" / "output_0.pb").string());
    return r;
  }();
  return d;
}

double accuracy(const std::vector<float>& logits, const Tensor& labels) {
  size_t n = size_t(labels.numel()), ok = 0;
  for (size_t i = 0; i < n; ++i) ok += int64_t(argmax(&logits[i * 10], 10)) == int64_t(labels.get(i));
  return 100.0 * double(ok) / double(n);
}

const std::vector<float>& digits_fp32() {
  static std::vector<float> l = [] {
    const Digits& d = digits();
    return run_card_functional(compile_for(d.graph, default_card(), "fp32"), d.images);
  }();
  return l;
}

TEST(DigitsCnn, Fp32ArgmaxEqualsOnnxruntimeOnEveryImage) {
  const Digits& d = digits();
  const auto& got = digits_fp32();
  auto want = floats(d.ort_logits);
  ASSERT_EQ(got.size(), want.size());
  size_t differ = 0;
  for (size_t i = 0; i < got.size() / 10; ++i) differ += argmax(&got[i * 10], 10) != argmax(&want[i * 10], 10);
  std::cout << fmt::format("[digits] fp32 on the card: accuracy {:.2f} % (onnxruntime {:.2f} %), argmax differs on {} of {} images, "
                           "max|diff| {:.3g}\n",
                           accuracy(got, d.labels), accuracy(want, d.labels), differ, got.size() / 10, max_abs_diff(got, want));
  EXPECT_EQ(differ, 0u);
  EXPECT_EQ(allclose(got, want, 1e-3, 1e-4), "");
}

TEST(DigitsCnn, Int8AccuracyWithinOnePointOfFp32) {
  const Digits& d = digits();
  std::string calib = (d.dir / "calibration").string();  // training images (prepare.py)
  isa::Program p = compile_for(d.graph, default_card(), "int8", calib);
  auto outs = kernels::run_functional(p, {d.images});
  auto int8 = floats(outs.at(0));
  double a8 = accuracy(int8, d.labels), a32 = accuracy(digits_fp32(), d.labels);
  intref::Options io;
  io.calibrate_dir = calib;
  auto ref = intref::run_int8(d.graph, {d.images}, io);
  std::cout << fmt::format("[digits] int8 accuracy {:.2f} %, fp32 {:.2f} % (difference {:+.2f} points); "
                           "card vs integer reference bit-identical: {}\n",
                           a8, a32, a8 - a32, outs[0].data == ref.at(0).data ? "yes" : "NO");
  EXPECT_LE(std::fabs(a8 - a32), 1.0);
  EXPECT_GE(a32, 95.0);
  EXPECT_EQ(outs[0].data, ref.at(0).data);
}

}  // namespace

// ---- the integer reference on small graphs (no fixture needed) ---------------------------

namespace {

// Float node tests whose int8 lowering covers each layer kind: conv (padding, strides,
// groups), gemm / matmul (weights and activation x activation), pooling, softmax,
// broadcasting elementwise, reductions and data movement. `weights`: inputs after the first
// are bound as constants (as an exported network has its weights), so conv / gemm run on the
// matrix unit with int8 weights instead of on the host.
struct IntrefCase {
  const char* name;
  bool weights;
};
const IntrefCase kIntrefCases[] = {
    {"test_basic_conv_with_padding", true}, {"test_conv_with_strides_and_asymmetric_padding", true},
    {"test_conv_with_strides_padding", true}, {"test_basic_conv_without_padding", true},
    {"test_gemm_default_matrix_bias", true}, {"test_gemm_transposeB", true}, {"test_gemm_default_vector_bias", true},
    {"test_gemm_all_attributes", true}, {"test_matmul_2d", false}, {"test_matmul_4d", false}, {"test_matmul_3d", false},
    {"test_maxpool_2d_pads", false}, {"test_maxpool_2d_strides", false}, {"test_averagepool_2d_pads", false},
    {"test_averagepool_2d_pads_count_include_pad", false}, {"test_softmax_axis_1", false},
    {"test_softmax_default_axis", false}, {"test_add_bcast", false}, {"test_mul_bcast", false}, {"test_relu", false},
    {"test_sigmoid", false}, {"test_leakyrelu", false}, {"test_clip_default_inbounds", false},
    {"test_concat_3d_axis_1", false}, {"test_transpose_all_permutations_3", false},
    {"test_reduce_mean_do_not_keepdims_example", false}, {"test_prelu_broadcast", true}, {"test_hardswish", false},
    {"test_tanh", false}, {"test_div_bcast", false}, {"test_sub_bcast", false}};

TEST(IntegerReference, NodeModelsTiledAndUntiledAgreeBitForBit) {
  const fs::path node = "/usr/share/libonnx-testdata/data/node";
  size_t checked = 0;
  size_t on_matrix_unit = 0;
  for (const auto& c : kIntrefCases) {
    const char* name = c.name;
    fs::path dir = node / name;
    if (!fs::exists(dir / "model.onnx")) {
      ADD_FAILURE() << dir << " missing (libonnx-testdata)";
      continue;
    }
    SCOPED_TRACE(name);
    try {
    auto files = read_test_data_dir((dir / "test_data_set_0").string(), "input_");
    LoadOptions lo;
    std::vector<Tensor> in;
    {
      ir::Graph probe = load_onnx((dir / "model.onnx").string());
      for (size_t k = 0; k < files.size(); ++k) {
        if (c.weights && k > 0) lo.constants[probe.inputs[k]] = files[k].second;
        else in.push_back(files[k].second);
      }
    }
    ir::Graph g = load_onnx((dir / "model.onnx").string(), lo);
    std::string calib = (dir / "test_data_set_0").string();
    isa::Program p_default = compile_for(g, default_card(), "int8", calib);
    CardConfig small = default_card();
    small.sram.size_bytes = 64 * 1024;  // f32 pooling planes of the suite need 4 x 16 KiB
    small.accumulator.size_bytes = 512;  // forces output-channel / row tiles
    isa::Program p_small = compile_for(g, small, "int8", calib);
    for (const auto& l : p_default.layers) on_matrix_unit += (l.op.rfind("Conv", 0) == 0 || l.op.rfind("Gemm", 0) == 0 || l.op.rfind("MatMul", 0) == 0) && l.placement == "card";
    auto a = kernels::run_functional(p_default, in);
    auto b = kernels::run_functional(p_small, in);
    intref::Options io;
    io.calibrate_dir = calib;
    auto r = intref::run_int8(g, in, io);
    ASSERT_EQ(a.size(), r.size()) << name;
    // The backend's own untiled reference (written separately by the compiler's author).
    backend::CompileOptions co;
    co.precision = "int8";
    co.calibrate_dir = calib;
    auto rb = backend::int8_reference(g, co, in);
    ASSERT_EQ(rb.size(), r.size()) << name;
    for (size_t i = 0; i < r.size(); ++i) EXPECT_EQ(rb[i].data, r[i].data) << name << ": the two integer references disagree";
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].data, b[i].data) << name << ": output " << i << " changes with the tiling";
      size_t differ = 0, first = 0;
      for (int64_t k = 0; k < a[i].numel(); ++k)
        if (a[i].get(size_t(k)) != r[i].get(size_t(k)) && !differ++) first = size_t(k);
      EXPECT_EQ(differ, 0u) << name << ": output " << i << " differs from the integer reference in " << differ
                            << " elements; first [" << first << "]: card " << (differ ? a[i].get(first) : 0) << ", intref "
                            << (differ ? r[i].get(first) : 0);
    }
    ++checked;
    } catch (const Error& e) {
      ADD_FAILURE() << name << ": " << e.what();
    }
  }
  EXPECT_GE(on_matrix_unit, 10u) << "conv / gemm / matmul layers should run on the card's matrix unit";
  std::cout << "integer reference: " << on_matrix_unit << " matrix-unit layers; " << checked << " node models checked (default card, 64 KiB SRAM / 512 B accumulator card, intref)\n";
}

}  // namespace

namespace {

// The QDQ export of the same CNN (tools/digits.py: int8 weights and activation scales chosen
// by the exporter) keeps its own scales on the card; onnxruntime runs the same QDQ graph.
TEST(DigitsCnn, QdqModelAgreesWithOnnxruntime) {
  const Digits& d = digits();
  ir::Graph g = load_onnx((d.dir / "eval" / "digits_qdq_b360.onnx").string());
  Tensor ort = read_tensor_pb((d.dir / "heldout" / "qdq" / "output_0.pb").string());
  isa::Program p = compile_for(g, default_card(), "int8");
  auto got = floats(kernels::run_functional(p, {d.images}).at(0));
  auto want = floats(ort);
  ASSERT_EQ(got.size(), want.size());
  size_t differ = 0;
  for (size_t i = 0; i < got.size() / 10; ++i) differ += argmax(&got[i * 10], 10) != argmax(&want[i * 10], 10);
  double a_card = accuracy(got, d.labels), a_ort = accuracy(want, d.labels);
  std::cout << fmt::format("[digits] QDQ int8 on the card: accuracy {:.2f} % (onnxruntime {:.2f} %), argmax differs on {} of {}, "
                           "max|diff| {:.3g} (logit max {:.3g})\n",
                           a_card, a_ort, differ, got.size() / 10, max_abs_diff(got, want), max_abs(want));
  EXPECT_LE(std::fabs(a_card - a_ort), 1.0);
  EXPECT_LE(differ, 2u);  // rounding ties between float and integer requantization may flip a near-tie
}

}  // namespace
