// Compiler backend tests: structure (sync, regions, determinism), numerics against the
// reference interpreter through the SystemC-free program executor, capacity errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <map>

#include "compiler/backend/compile.h"
#include "compiler/backend/int_reference.h"
#include "compiler/intref/intref.h"
#include "compiler/frontend/onnx_loader.h"
#include "compiler/frontend/tensor_io.h"
#include "compiler/reference/ops.h"
#include "core/error.h"
#include "isa/loadable.h"
#include "isa/assembler.h"
#include <iostream>
#include "models/kernels/functional_run.h"
#include "sim/card_config.h"
#include "tests/compiler/graph_builder.h"

using namespace cardsim;
using namespace cardsim::testing;
using isa::Opcode;

namespace {

// ---- small networks ---------------------------------------------------------------------

// Conv(3x3)+bias+Relu -> MaxPool -> depthwise Conv(s2) -> BatchNorm -> Clip(0,6) ->
// GlobalAveragePool -> Flatten -> Gemm(transB) -> Softmax
ir::Graph conv_net(int64_t H = 12) {
  GraphBuilder b;
  auto x = b.input("x", {1, 3, H, H});
  auto c1 = b.node("Conv", {x, b.weight("w1", {8, 3, 3, 3}), b.weight("b1", {8})}, {1, 8, H, H},
                   {{"kernel_shape", ints({3, 3})}, {"pads", ints({1, 1, 1, 1})}});
  auto r1 = b.node("Relu", {c1}, {1, 8, H, H});
  auto p1 = b.node("MaxPool", {r1}, {1, 8, H / 2, H / 2}, {{"kernel_shape", ints({2, 2})}, {"strides", ints({2, 2})}});
  int64_t H2 = (H / 2 + 2 - 3) / 2 + 1;
  auto c2 = b.node("Conv", {p1, b.weight("w2", {8, 1, 3, 3})}, {1, 8, H2, H2},
                   {{"kernel_shape", ints({3, 3})}, {"pads", ints({1, 1, 1, 1})}, {"strides", ints({2, 2})}, {"group", i(8)}});
  auto bn = b.node("BatchNormalization",
                   {c2, b.weight("g", {8}, 0.5f, 1.5f), b.weight("beta", {8}), b.weight("mean", {8}), b.weight("var", {8}, 0.5f, 1.f)},
                   {1, 8, H2, H2});
  Tensor lo = Tensor::from_floats({}, {0.f}), hi = Tensor::from_floats({}, {6.f});
  auto cl = b.node("Clip", {bn, b.constant("lo", lo), b.constant("hi", hi)}, {1, 8, H2, H2});
  auto gp = b.node("GlobalAveragePool", {cl}, {1, 8, 1, 1});
  auto fl = b.node("Flatten", {gp}, {1, 8}, {{"axis", i(1)}});
  auto fc = b.node("Gemm", {fl, b.weight("wf", {10, 8}), b.weight("bf", {10})}, {1, 10}, {{"transB", i(1)}});
  auto sm = b.node("Softmax", {fc}, {1, 10}, {{"axis", i(-1)}});
  b.output(sm);
  b.g.name = "conv_net";
  return b.g;
}

// MatMul with weights + bias + LeakyRelu, then a batched activation x activation MatMul.
ir::Graph matmul_net() {
  GraphBuilder b;
  auto x = b.input("x", {2, 5, 16});
  auto m = b.node("MatMul", {x, b.weight("w", {16, 24})}, {2, 5, 24});
  auto a = b.node("Add", {m, b.weight("bias", {24})}, {2, 5, 24});
  auto l = b.node("LeakyRelu", {a}, {2, 5, 24}, {{"alpha", f(0.1f)}});
  auto t = b.node("Transpose", {l}, {2, 24, 5}, {{"perm", ints({0, 2, 1})}});
  auto s = b.node("MatMul", {l, t}, {2, 5, 5});
  auto sm = b.node("Softmax", {s}, {2, 5, 5}, {{"axis", i(-1)}});
  b.output(sm);
  b.output(l);
  b.g.name = "matmul_net";
  return b.g;
}

// Broadcast elementwise, data movement and a host operator (LRN).
ir::Graph elementwise_net() {
  GraphBuilder b;
  auto x = b.input("x", {1, 4, 6, 6});
  auto y = b.input("y", {1, 4, 1, 1});
  auto a = b.node("Add", {x, y}, {1, 4, 6, 6});
  auto m = b.node("Mul", {a, b.weight("s", {4, 1, 1})}, {1, 4, 6, 6});
  auto sg = b.node("Sigmoid", {m}, {1, 4, 6, 6});
  auto sb = b.node("Sub", {sg, x}, {1, 4, 6, 6});
  auto cc = b.node("Concat", {sb, x}, {1, 8, 6, 6}, {{"axis", i(1)}});
  Tensor st = Tensor::from_int64s({2}, {1, 2}), en = Tensor::from_int64s({2}, {7, 5}), ax = Tensor::from_int64s({2}, {1, 3});
  auto sl = b.node("Slice", {cc, b.constant("st", st), b.constant("en", en), b.constant("ax", ax)}, {1, 6, 6, 3});
  Tensor pads = Tensor::from_int64s({8}, {0, 0, 1, 0, 0, 0, 0, 2});
  auto pd = b.node("Pad", {sl, b.constant("pads", pads)}, {1, 6, 7, 5}, {}, DType::F32);
  auto tr = b.node("Transpose", {pd}, {1, 7, 5, 6}, {{"perm", ints({0, 2, 3, 1})}});
  auto lr = b.node("LRN", {tr}, {1, 7, 5, 6}, {{"size", i(3)}});
  auto rm = b.node("ReduceMean", {lr}, {1, 7, 5, 1}, {{"axes", ints({-1})}, {"keepdims", i(1)}});
  b.output(rm);
  b.g.name = "elementwise_net";
  return b.g;
}

// Split into two outputs, Gather with constant indices, Add of the pieces.
ir::Graph gather_split_net() {
  GraphBuilder b;
  auto x = b.input("x", {2, 6, 4});
  ir::Node split;
  split.name = "split";
  split.op_type = "Split";
  split.inputs = {x, b.constant("sizes", Tensor::from_int64s({2}, {2, 4}))};
  split.outputs = {"s0", "s1"};
  split.attrs["axis"] = i(1);
  b.g.values["s0"] = ir::Value{"s0", DType::F32, {2, 2, 4}};
  b.g.values["s1"] = ir::Value{"s1", DType::F32, {2, 4, 4}};
  b.g.nodes.push_back(split);
  auto ga = b.node("Gather", {"s1", b.constant("idx", Tensor::from_int64s({2}, {3, -4}))}, {2, 2, 4}, {{"axis", i(1)}});
  auto a = b.node("Add", {"s0", ga}, {2, 2, 4});
  b.output(a);
  b.g.name = "gather_split_net";
  return b.g;
}

std::map<std::string, std::function<ir::Graph()>> networks() {
  return {{"conv_net", [] { return conv_net(); }}, {"matmul_net", matmul_net}, {"elementwise_net", elementwise_net},
          {"gather_split_net", gather_split_net}};
}

CardConfig tiny_sram(CardConfig c, uint64_t sram, uint64_t acc) {
  c.sram.size_bytes = sram;
  c.accumulator.size_bytes = acc;
  c.name += "-tiny";
  return c;
}

std::vector<Tensor> reference(const ir::Graph& g, const std::vector<Tensor>& in) {
  std::map<std::string, Tensor> env;
  for (size_t k = 0; k < in.size(); ++k) env[g.inputs[k]] = in[k];
  auto out = ref::run_graph(g, env);
  std::vector<Tensor> r;
  for (auto& n : g.outputs) r.push_back(out.at(n));
  return r;
}

// An independent check of the synchronisation: runs the queues abstractly (no data),
// honouring wait/signal fields, sem.wait/sem.signal and barriers. Fails on deadlock and when
// a semaphore is not back to zero at the end.
void check_sync(const isa::Program& p) {
  size_t nq = p.queues.size();
  std::vector<size_t> pc(nq, 0);
  std::vector<int64_t> sem(p.num_semaphores + 1, 0);
  std::vector<bool> ended(nq, false);
  for (;;) {
    bool progress = false;
    for (size_t q = 0; q < nq; ++q) {
      while (!ended[q] && pc[q] < p.queues[q].size()) {
        const isa::Instr& in = p.queues[q][pc[q]];
        if (in.op == Opcode::End) { ended[q] = true; progress = true; break; }
        if (in.op == Opcode::Barrier) break;
        if (in.wait && sem[size_t(in.wait)] <= 0) break;
        if (in.op == Opcode::SemWait && sem[size_t(in.sem)] < in.count) break;
        if (in.wait) --sem[size_t(in.wait)];
        if (in.op == Opcode::SemWait) sem[size_t(in.sem)] -= in.count;
        if (in.op == Opcode::SemSignal) sem[size_t(in.sem)] += in.count;
        if (in.signal) ++sem[size_t(in.signal)];
        ++pc[q];
        progress = true;
      }
      ASSERT_TRUE(ended[q] || pc[q] < p.queues[q].size()) << "queue " << q << " runs past its end without 'end'";
    }
    // Barrier: every queue not ended must sit at a barrier with the same id.
    int64_t id = -1;
    bool all = true;
    for (size_t q = 0; q < nq; ++q) {
      if (ended[q]) continue;
      const isa::Instr& in = p.queues[q][pc[q]];
      if (in.op != Opcode::Barrier || (id >= 0 && in.id != id)) { all = false; break; }
      id = in.id;
    }
    if (all && id >= 0) {
      for (size_t q = 0; q < nq; ++q)
        if (!ended[q]) ++pc[q];
      progress = true;
    }
    bool done = true;
    for (size_t q = 0; q < nq; ++q) done = done && ended[q];
    if (done) break;
    if (!progress) {
      std::string where;
      for (size_t q = 0; q < nq; ++q) where += " q" + std::to_string(q) + "@" + std::to_string(pc[q]);
      FAIL() << "deadlock:" << where;
    }
  }
  for (size_t s = 0; s < sem.size(); ++s) EXPECT_EQ(sem[s], 0) << "semaphore " << s << " not balanced";
}

// Every DRAM access of every instruction stays inside a region with the right permission.
void check_regions(const isa::Program& p) {
  kernels::RegionChecker rc(p.regions);
  for (size_t q = 0; q < p.queues.size(); ++q)
    for (size_t k = 0; k < p.queues[q].size(); ++k) rc.check(p.queues[q][k], int(q), k);
}

void expect_close(const Tensor& got, const Tensor& want, double rtol, double atol, const std::string& what) {
  ASSERT_EQ(got.shape, want.shape) << what;
  size_t bad = 0;
  for (int64_t k = 0; k < want.numel(); ++k) {
    double g = got.get(size_t(k)), w = want.get(size_t(k));
    if (!(std::fabs(g - w) <= atol + rtol * std::fabs(w))) {
      if (bad++ < 5) ADD_FAILURE() << what << " element " << k << ": got " << g << " want " << w;
    }
  }
  EXPECT_EQ(bad, 0u) << what;
}

}  // namespace

// ---- structure -----------------------------------------------------------------------------

TEST(CompilerStructure, EveryPresetEveryNetworkSyncsAndStaysInRegions) {
  for (std::string cfgname : {"default", "edge", "tpu-v1", "scalesim-32x32"}) {
    CardConfig cfg = preset(cfgname);
    for (auto& [name, make] : networks()) {
      for (std::string prec : {"fp32", "int8", "fp16"}) {
        bool ok = false;
        for (auto& d : cfg.matrix.dtypes) ok = ok || d == (prec == "int8" ? "i8" : prec == "fp16" ? "f16" : "f32");
        if (!ok) continue;
        SCOPED_TRACE(cfgname + "/" + name + "/" + prec);
        backend::CompileOptions o;
        o.precision = prec;
        isa::Program p = backend::compile(make(), cfg, o);
        EXPECT_NO_THROW(isa::check_program(p, name));
        check_sync(p);
        check_regions(p);
        EXPECT_EQ(p.queues.size(), size_t(2 + cfg.dma.dma_channels));
        EXPECT_LE(p.sram_bytes, cfg.sram.size_bytes);
        EXPECT_LE(p.acc_bytes, cfg.accumulator.size_bytes);
        EXPECT_EQ(p.metadata.at("precision"), prec);
      }
    }
  }
}

TEST(CompilerStructure, PlacementAndFusion) {
  backend::CompileOptions o;
  o.precision = "fp32";
  isa::Program p = backend::compile(conv_net(), preset("default"), o);
  // conv+relu, maxpool, dwconv(+bn folded)+clip, gap, flatten(alias), gemm, softmax
  ASSERT_EQ(p.layers.size(), 7u);
  for (auto& l : p.layers) EXPECT_EQ(l.placement, "card") << l.name;
  EXPECT_EQ(p.layers[0].op, "Conv+Relu");
  EXPECT_EQ(p.layers[0].macs, uint64_t(8 * 12 * 12 * 3 * 9));
  EXPECT_EQ(p.layers[2].op, "Conv+Clip");
  EXPECT_TRUE(p.host_ops.empty());
  size_t mxu = 0;
  for (auto& in : p.queues[isa::kQueueMxu]) mxu += in.op == Opcode::MxuConv;
  // first conv: 1 instr per tile; depthwise: one per group (8) per tile; gemm: 1
  EXPECT_GE(mxu, 10u);

  isa::Program e = backend::compile(elementwise_net(), preset("default"), o);
  ASSERT_EQ(e.host_ops.size(), 1u);
  EXPECT_EQ(e.host_ops[0].op_type, "LRN");
  size_t host_layers = 0;
  for (auto& l : e.layers) host_layers += l.placement == "host";
  EXPECT_EQ(host_layers, 1u);

  isa::Program gs = backend::compile(gather_split_net(), preset("default"), o);
  EXPECT_TRUE(gs.host_ops.empty());
  ASSERT_EQ(gs.layers.size(), 3u);
  EXPECT_EQ(gs.layers[0].op, "Split");
  EXPECT_EQ(gs.layers[1].op, "Gather");
}

TEST(CompilerStructure, Deterministic) {
  for (auto& [name, make] : networks()) {
    backend::CompileOptions o;
    o.precision = "int8";
    auto a = isa::serialize_program(backend::compile(make(), preset("default"), o));
    auto b = isa::serialize_program(backend::compile(make(), preset("default"), o));
    EXPECT_EQ(a, b) << name;
  }
}

TEST(CompilerErrors, CapacityNamesTheLayer) {
  CardConfig c = tiny_sram(preset("default"), 256, 1 << 16);
  backend::CompileOptions o;
  o.precision = "fp32";
  try {
    backend::compile(conv_net(), c, o);
    FAIL() << "expected a capacity error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Capacity);
    EXPECT_NE(std::string(e.what()).find("Conv_0"), std::string::npos) << e.what();
  }
}

TEST(CompilerErrors, UnknownPrecision) {
  backend::CompileOptions o;
  o.precision = "int4";
  try {
    backend::compile(conv_net(), preset("default"), o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
  }
}

// ---- numerics ------------------------------------------------------------------------------

TEST(CompilerNumerics, Fp32MatchesReference) {
  for (auto& cfg : {preset("default"), tiny_sram(preset("default"), 8 << 10, 4 << 10)}) {
    for (auto& [name, make] : networks()) {
      SCOPED_TRACE(cfg.name + "/" + name);
      ir::Graph g = make();
      backend::CompileOptions o;
      o.precision = "fp32";
      isa::Program p = backend::compile(g, cfg, o);
      auto in = inputs_for(g, 11);
      auto got = kernels::run_functional(p, in);
      auto want = reference(g, in);
      ASSERT_EQ(got.size(), want.size());
      for (size_t k = 0; k < want.size(); ++k) expect_close(got[k], want[k], 1e-4, 1e-5, name + " output " + std::to_string(k));
    }
  }
}

TEST(CompilerNumerics, TiledConvWithLargerImage) {
  // A tiny SRAM forces row, channel and input-channel tiling plus streamed weights.
  ir::Graph g = conv_net(20);
  backend::CompileOptions o;
  o.precision = "fp32";
  isa::Program p = backend::compile(g, tiny_sram(preset("default"), 8 << 10, 2 << 10), o);
  isa::Program big = backend::compile(g, preset("default"), o);
  auto convs = [](const isa::Program& q) {
    size_t c = 0;
    for (auto& in : q.queues[isa::kQueueMxu]) c += in.op == Opcode::MxuConv;
    return c;
  };
  EXPECT_GT(convs(p), 2 * convs(big)) << "the tiny SRAM should force more tiles";
  auto in = inputs_for(g, 3);
  auto got = kernels::run_functional(p, in);
  auto want = reference(g, in);
  expect_close(got[0], want[0], 1e-4, 1e-5, "conv_net(20)");
}

// Pooling planes larger than a quarter of SRAM are tiled by output rows (one plane at a
// time, windows re-based onto the loaded rows; top/bottom padding only where it is real).
TEST(CompilerNumerics, PoolingPlaneLargerThanSramSlotIsRowTiled) {
  struct Case {
    std::string op;
    std::map<std::string, ir::Attr> attrs;
    Shape out;
  };
  // 2 x 3 planes of 37 x 29 f32 = 4292 bytes each; the 8 KiB card has 2 KiB slots.
  const std::vector<Case> cases{
      {"MaxPool", {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}}, {2, 3, 19, 15}},
      {"MaxPool", {{"kernel_shape", ints({3, 2})}, {"strides", ints({2, 2})}, {"ceil_mode", i(1)}}, {2, 3, 18, 15}},
      {"AveragePool", {{"kernel_shape", ints({3, 3})}, {"pads", ints({1, 1, 1, 1})}}, {2, 3, 37, 29}},
      {"AveragePool",
       {{"kernel_shape", ints({5, 3})}, {"strides", ints({3, 1})}, {"pads", ints({2, 1, 2, 1})}, {"count_include_pad", i(1)}},
       {2, 3, 13, 29}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.op + " -> " + shape_str(c.out));
    GraphBuilder b;
    auto x = b.input("x", {2, 3, 37, 29});
    b.output(b.node(c.op, {x}, c.out, c.attrs));
    b.g.name = "pool_net";
    backend::CompileOptions o;
    o.precision = "fp32";
    std::string explain;
    isa::Program p = backend::compile(b.g, tiny_sram(preset("default"), 8 << 10, 4 << 10), o, &explain);
    EXPECT_NE(explain.find("output rows of one 37x29 plane"), std::string::npos) << explain;
    auto in = inputs_for(b.g, 5);
    auto got = kernels::run_functional(p, in);
    auto want = reference(b.g, in);
    expect_close(got[0], want[0], 1e-6, 1e-6, c.op);
  }
}

TEST(CompilerNumerics, Int8CloseToFloatAndIndependentOfTiling) {
  for (auto& [name, make] : networks()) {
    SCOPED_TRACE(name);
    ir::Graph g = make();
    backend::CompileOptions o;
    o.precision = "int8";
    isa::Program big = backend::compile(g, preset("default"), o);
    isa::Program small = backend::compile(g, tiny_sram(preset("default"), 8 << 10, 4 << 10), o);
    auto in = inputs_for(g, 5);
    auto a = kernels::run_functional(big, in);
    auto b = kernels::run_functional(small, in);
    auto want = reference(g, in);
    for (size_t k = 0; k < want.size(); ++k) {
      ASSERT_EQ(a[k].data, b[k].data) << "int8 result changed with tiling, output " << k;
      // Calibrated on random inputs of the same distribution: a few quantization steps.
      double mx = 0;
      for (int64_t e = 0; e < want[k].numel(); ++e) mx = std::max(mx, std::fabs(want[k].get(size_t(e))));
      expect_close(a[k], want[k], 0.0, 0.1 * mx + 1e-3, name + " int8 output " + std::to_string(k));
    }
  }
}

TEST(CompilerNumerics, Fp16AndBf16CloseToFloat) {
  for (std::string prec : {"fp16", "bf16"}) {
    ir::Graph g = conv_net();
    backend::CompileOptions o;
    o.precision = prec;
    isa::Program p = backend::compile(g, preset("default"), o);
    auto in = inputs_for(g, 9);
    auto got = kernels::run_functional(p, in);
    auto want = reference(g, in);
    expect_close(got[0], want[0], prec == "fp16" ? 1e-2 : 5e-2, 1e-3, prec);
  }
}


TEST(CompilerNumerics, Int8BitExactAgainstIntegerReference) {
  for (auto& cfg : {preset("default"), tiny_sram(preset("default"), 8 << 10, 4 << 10), preset("edge")}) {
    for (auto& [name, make] : networks()) {
      SCOPED_TRACE(cfg.name + "/" + name);
      ir::Graph g = make();
      backend::CompileOptions o;
      o.precision = "int8";
      isa::Program p = backend::compile(g, cfg, o);
      auto in = inputs_for(g, 21);
      auto got = kernels::run_functional(p, in);
      o.int8_mixed = backend::effective_int8_mixed(cfg, o.int8_mixed);  // edge: no i16, pure int8
      auto want = backend::int8_reference(g, o, in);
      ASSERT_EQ(got.size(), want.size());
      for (size_t k = 0; k < want.size(); ++k) {
        ASSERT_EQ(got[k].shape, want[k].shape);
        size_t diff = 0;
        for (int64_t e = 0; e < want[k].numel(); ++e)
          if (got[k].get(size_t(e)) != want[k].get(size_t(e)) && diff++ < 3)
            ADD_FAILURE() << name << " output " << k << " element " << e << ": card " << got[k].get(size_t(e))
                          << " integer reference " << want[k].get(size_t(e));
        EXPECT_EQ(diff, 0u);
      }
    }
  }
}

TEST(CompilerStructure, DramBuffersAreReusedAfterTheirLastReader) {
  GraphBuilder b;
  std::string v = b.input("x", {1, 64, 32, 32});
  // Adds are separate layers (only activations fuse), each reading the previous result.
  for (int k = 0; k < 6; ++k) v = b.node(k % 2 ? "Add" : "Mul", {v, "x"}, {1, 64, 32, 32});
  b.output(v);
  backend::CompileOptions o;
  o.precision = "fp32";
  isa::Program p = backend::compile(b.g, preset("default"), o);
  uint64_t act = 0;
  for (auto& r : p.regions)
    if (r.name == "activations") act = r.size;
  // 5 intermediates of 256 KiB, at most two alive at once (reader + writer).
  EXPECT_LE(act, 2u * 64 * 32 * 32 * 4);
  EXPECT_GT(act, 0u);
  auto in = inputs_for(b.g, 1);
  expect_close(kernels::run_functional(p, in)[0], reference(b.g, in)[0], 1e-5, 1e-6, "add/mul chain");
}

TEST(CompilerNumerics, QdqModelKeepsItsScales) {
  // x -> Q/DQ (scale 1/64, zp 3) -> Conv with DQ'd int8 weights -> Q/DQ (scale 1/32, u8 zp 128)
  GraphBuilder b;
  auto x = b.input("x", {1, 2, 5, 5});
  auto sx = b.constant("sx", Tensor::from_floats({}, {1.f / 64})), sy = b.constant("sy", Tensor::from_floats({}, {1.f / 32}));
  Tensor zx(DType::I8, {}), zy(DType::U8, {}), zw(DType::I8, {}), wq(DType::I8, {3, 2, 3, 3});
  zx.set(0, 3), zy.set(0, 128);
  for (int64_t k = 0; k < wq.numel(); ++k) wq.set(size_t(k), double((k * 37) % 255) - 127);
  auto q = b.node("QuantizeLinear", {x, sx, b.constant("zx", zx)}, {1, 2, 5, 5}, {}, DType::I8);
  auto dq = b.node("DequantizeLinear", {q, sx, "zx"}, {1, 2, 5, 5});
  auto w = b.node("DequantizeLinear", {b.constant("wq", wq), b.constant("sw", Tensor::from_floats({}, {0.01f})), b.constant("zw", zw)}, {3, 2, 3, 3});
  auto c = b.node("Conv", {dq, w}, {1, 3, 5, 5}, {{"kernel_shape", ints({3, 3})}, {"pads", ints({1, 1, 1, 1})}});
  auto q2 = b.node("QuantizeLinear", {c, sy, b.constant("zy", zy)}, {1, 3, 5, 5}, {}, DType::U8);
  auto y = b.node("DequantizeLinear", {q2, sy, "zy"}, {1, 3, 5, 5});
  b.output(y);
  for (std::string prec : {"fp32", "int8"}) {
    backend::CompileOptions o;
    o.precision = prec;
    isa::Program p = backend::compile(b.g, preset("default"), o);
    for (auto& l : p.layers) EXPECT_EQ(l.placement, "card") << l.name << " " << l.op;
    auto in = inputs_for(b.g, 4);
    auto got = kernels::run_functional(p, in);
    auto want = reference(b.g, in);
    // fp32: fake quantization is exact up to rounding ties; int8: the requant rounds once
    // more, so at most one output step (1/32) apart.
    expect_close(got[0], want[0], 0, prec == "fp32" ? 1e-6 : 1.0 / 32 + 1e-6, prec);
    if (prec == "int8") {
      auto iref = backend::int8_reference(b.g, o, in);
      EXPECT_EQ(got[0].data, iref[0].data);
    }
  }
}

// ONNX backend node tests (libonnx-testdata) through the frontend, the compiler and the
// executor, against the expected outputs shipped with each test.
TEST(CompilerOnnxNodeTests, CardLoweredOperators) {
  const std::string root = "/usr/share/libonnx-testdata/data/node/";
  if (!std::filesystem::exists(root)) GTEST_SKIP() << "libonnx-testdata not installed";
  for (std::string t : {"test_add_bcast", "test_averagepool_2d_pads", "test_batchnorm_epsilon", "test_concat_3d_axis_1",
                        "test_conv_with_strides_padding", "test_gather_0", "test_gemm_all_attributes", "test_gemm_transposeB",
                        "test_hardswish", "test_leakyrelu", "test_matmul_4d", "test_maxpool_2d_ceil",
                        "test_maxpool_2d_pads", "test_reduce_mean_keepdims_example", "test_relu", "test_sigmoid",
                        "test_softmax_axis_1", "test_split_equal_parts_1d", "test_transpose_all_permutations_2"}) {
    SCOPED_TRACE(t);
    ir::Graph g = load_onnx(root + t + "/model.onnx", {});
    auto ins = read_test_data_dir(root + t + "/test_data_set_0", "input_");
    auto outs = read_test_data_dir(root + t + "/test_data_set_0", "output_");
    backend::CompileOptions o;
    o.precision = "fp32";
    isa::Program p = backend::compile(g, preset("default"), o);
    check_sync(p);
    std::vector<Tensor> in;
    for (auto& [n, x] : ins) in.push_back(x);
    auto got = kernels::run_functional(p, in);
    ASSERT_EQ(got.size(), outs.size());
    for (size_t k = 0; k < outs.size(); ++k) expect_close(got[k], outs[k].second, 1e-4, 1e-5, t);
  }
}

// int8 mixed precision (--int8-mixed): on the default card (i16 in matrix.dtypes) "auto"
// holds conv_net's high-resolution front in int16 (int16 weights, i64 accumulators) and the
// card equals both integer references bit for bit; "off", and a card without i16 (edge),
// compile pure int8.
TEST(CompilerNumerics, Int8MixedPrecisionSelectedSwitchableAndBitExact) {
  ir::Graph g = conv_net();
  auto in = inputs_for(g, 33);
  auto mixed_ops = [](const isa::Program& p) {
    size_t i16_layers = 0, wide_convs = 0;
    for (auto& l : p.layers) i16_layers += l.op.find(" [i16]") != std::string::npos;
    for (auto& q : p.queues)
      for (auto& ins : q)
        wide_convs += ins.op == isa::Opcode::MxuConv && DType(uint8_t(ins.d_type)) == DType::I64;
    return std::pair{i16_layers, wide_convs};
  };
  for (std::string mode : {"auto", "off"}) {
    for (std::string card : {"default", "edge"}) {
      SCOPED_TRACE(mode + " on " + card);
      CardConfig cfg = preset(card);
      backend::CompileOptions o;
      o.precision = "int8";
      o.int8_mixed = mode;
      isa::Program p = backend::compile(g, cfg, o);
      auto [i16_layers, wide_convs] = mixed_ops(p);
      const bool mixed = mode == "auto" && card == "default";
      EXPECT_EQ(i16_layers > 0, mixed) << i16_layers << " layers write int16";
      EXPECT_EQ(wide_convs > 0, mixed) << wide_convs << " mxu.conv with an i64 accumulator";
      EXPECT_EQ(p.metadata.at("int8_mixed").find("(0 values") == std::string::npos, mixed) << p.metadata.at("int8_mixed");
      auto got = kernels::run_functional(p, in);
      o.int8_mixed = backend::effective_int8_mixed(cfg, mode);
      auto want = backend::int8_reference(g, o, in);
      intref::Options io;
      io.int8_mixed = o.int8_mixed;
      auto want_i = intref::run_int8(g, in, io);
      ASSERT_EQ(got.size(), want.size());
      for (size_t k = 0; k < want.size(); ++k) {
        EXPECT_EQ(got[k].data, want[k].data) << "output " << k << " vs int8_reference";
        EXPECT_EQ(got[k].data, want_i[k].data) << "output " << k << " vs intref";
      }
    }
  }
  backend::CompileOptions bad;
  bad.precision = "int8";
  bad.int8_mixed = "sometimes";
  EXPECT_THROW(backend::compile(g, preset("default"), bad), Error);
}
