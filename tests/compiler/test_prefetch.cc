// Cross-layer weight prefetch (compiler/backend/README.md "Memory and schedule"): a matrix
// layer's parameter block (bias, requant table, resident weights) is loaded during the
// previous layer into SRAM that layer never touches. Checks: the loads really sit before the
// previous layer's closing barrier and really start before its last matmul ends on the card
// model; no SRAM byte a running layer uses is written by the next layer's prefetch; int8
// outputs stay bit-exact against the integer reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "compiler/backend/compile.h"
#include "compiler/backend/int_reference.h"
#include "core/error.h"
#include "models/card/card.h"
#include "models/card/observer.h"
#include "models/kernels/functional_run.h"
#include "models/kernels/kernels.h"
#include "sim/card_config.h"
#include "tests/compiler/graph_builder.h"

using namespace cardsim;
using namespace cardsim::testing;
using isa::Opcode;

namespace {
// One timing-only run of a compiled program with an observer (weights already in card DRAM).
card::RunResult run_observed(const isa::Program& p, const CardConfig& cfg, const ir::Graph& g, card::Observer& obs) {
  card::RunOptions ro;
  ro.mode = card::RunOptions::Mode::Timing;
  ro.warm = true;
  ro.observer = &obs;
  return card::run_program(p, cfg, inputs_for(g, 3), ro);
}


// Three Gemm+Relu layers, 512 wide, batch 64: every layer's weights are resident.
ir::Graph mlp(int64_t width = 512, int64_t batch = 64, int layers = 3) {
  GraphBuilder b;
  auto x = b.input("x", {batch, width});
  for (int l = 0; l < layers; ++l) {
    auto g = b.node("Gemm", {x, b.weight("w" + std::to_string(l), {width, width}), b.weight("b" + std::to_string(l), {width})},
                    {batch, width}, {{"transB", i(1)}});
    x = b.node("Relu", {g}, {batch, width});
  }
  b.output(x);
  b.g.name = "mlp";
  return b.g;
}

// Two 3x3 convs + a 1x1 conv: the conv path (chunked resident weights).
ir::Graph convs() {
  GraphBuilder b;
  auto x = b.input("x", {2, 16, 20, 20});
  auto c1 = b.node("Conv", {x, b.weight("w1", {32, 16, 3, 3}), b.weight("b1", {32})}, {2, 32, 20, 20},
                   {{"kernel_shape", ints({3, 3})}, {"pads", ints({1, 1, 1, 1})}});
  auto r1 = b.node("Relu", {c1}, {2, 32, 20, 20});
  auto c2 = b.node("Conv", {r1, b.weight("w2", {32, 32, 3, 3}), b.weight("b2", {32})}, {2, 32, 20, 20},
                   {{"kernel_shape", ints({3, 3})}, {"pads", ints({1, 1, 1, 1})}});
  auto c3 = b.node("Conv", {c2, b.weight("w3", {8, 32, 1, 1})}, {2, 8, 20, 20}, {{"kernel_shape", ints({1, 1})}});
  b.output(c3);
  b.g.name = "convs";
  return b.g;
}

struct Range {
  uint64_t lo, hi;
};

// SRAM ranges an instruction touches (written ones only if `writes_only`).
std::vector<Range> sram_ranges(const isa::Instr& in, bool writes_only) {
  std::vector<Range> r;
  kernels::for_each_run(in, [&](const kernels::Run& run) {
    if (run.space == isa::Space::Sram && (run.write || !writes_only)) r.push_back({run.addr, run.addr + run.bytes});
  });
  return r;
}

// Splits every queue at its barriers. In the segment closed by barrier b, instructions of the
// segment's own layer are the running layer; instructions carrying a later layer are that
// layer's prefetched loads (the weight FIFO may run ahead over several layers). Returns how
// many prefetched instructions were seen and fails if one writes SRAM that the running layer
// or any layer between it and the prefetching layer touches. `hosts` (if given) collects,
// per prefetching layer, the layers whose segments carry its loads.
size_t check_prefetch_disjoint(const isa::Program& p, std::map<int64_t, size_t>* per_layer = nullptr,
                               std::map<int64_t, std::set<int64_t>>* hosts = nullptr) {
  std::map<size_t, std::vector<const isa::Instr*>> segment;  // barrier index -> instructions
  for (auto& q : p.queues) {
    size_t seg = 0;
    for (auto& in : q) {
      if (in.op == Opcode::Barrier) ++seg;
      else segment[seg].push_back(&in);
    }
  }
  std::map<size_t, int64_t> running;  // segment -> the layer it closes: the smallest in it
  std::map<int64_t, std::vector<Range>> used;  // layer -> SRAM its own instructions touch
  for (auto& [seg, ins] : segment) {
    int64_t r = -1;
    for (auto* in : ins)
      if (in->op != Opcode::End) r = r < 0 ? in->layer : std::min(r, in->layer);
    running[seg] = r;
    for (auto* in : ins)
      if (in->layer == r)
        for (auto& u : sram_ranges(*in, false)) used[r].push_back(u);
  }
  size_t prefetched = 0;
  for (auto& [seg, ins] : segment) {
    const int64_t host = running[seg];
    for (auto* in : ins) {
      if (in->layer <= host || in->op == Opcode::End) continue;
      EXPECT_EQ(in->op, Opcode::DmaCopy) << "only weight loads of a later layer run ahead";
      ++prefetched;
      if (per_layer) ++(*per_layer)[in->layer];
      if (hosts) (*hosts)[in->layer].insert(host);
      for (int64_t between = host; between < in->layer; ++between)
        for (auto& w : sram_ranges(*in, true))
          for (auto& u : used[between])
            EXPECT_TRUE(w.hi <= u.lo || u.hi <= w.lo)
                << "layer " << in->layer << " prefetch (hosted by layer " << host << ") writes SRAM [" << w.lo << ", "
                << w.hi << ") while layer " << between << " uses [" << u.lo << ", " << u.hi << ")";
    }
  }
  return prefetched;
}

void expect_bit_exact(const ir::Graph& g, const isa::Program& p, const backend::CompileOptions& o) {
  auto in = inputs_for(g, 5);
  auto got = kernels::run_functional(p, in);
  auto want = backend::int8_reference(g, o, in);
  ASSERT_EQ(got.size(), want.size());
  for (size_t k = 0; k < want.size(); ++k) {
    ASSERT_EQ(got[k].shape, want[k].shape);
    size_t diff = 0;
    for (int64_t e = 0; e < want[k].numel(); ++e) diff += got[k].get(size_t(e)) != want[k].get(size_t(e));
    EXPECT_EQ(diff, 0u) << "output " << k;
  }
}

// Records the first start of layer `watch`'s DMA copies and the last end of layer
// `watch - 1`'s matrix-unit instructions.
struct PrefetchObserver : card::Observer {
  uint32_t watch = 0;
  double first_next_dma = 1e300, last_mxu = 0;
  void instruction(int, isa::Opcode op, uint32_t layer, double start_ns, double end_ns, uint64_t) override {
    if (layer == watch && op == isa::Opcode::DmaCopy) first_next_dma = std::min(first_next_dma, start_ns);
    if (layer + 1 == watch && op == isa::Opcode::MxuConv) last_mxu = std::max(last_mxu, end_ns);
  }
};

}  // namespace

TEST(Prefetch, SramOfPrefetchedWeightsNeverOverlapsTheRunningLayer) {
  for (std::string cfgname : {"default", "tpu-v1", "edge"}) {
    CardConfig cfg = preset(cfgname);
    for (auto [name, g] : {std::pair{"mlp", mlp()}, std::pair{"convs", convs()}}) {
      SCOPED_TRACE(cfgname + "/" + name);
      backend::CompileOptions o;
      o.precision = "int8";
      o.int8_mixed = backend::effective_int8_mixed(cfg, o.int8_mixed);  // tpu-v1 / edge: no i16
      isa::Program p = backend::compile(g, cfg, o);
      // Every matrix layer has room next to its predecessor here.
      std::map<int64_t, std::set<int64_t>> hosts;
      EXPECT_GT(check_prefetch_disjoint(p, nullptr, &hosts), 0u);
      // The first one's weights stream while the network input converts (layer 0).
      ASSERT_EQ(p.layers[0].op, "QuantizeInput");
      EXPECT_EQ(hosts[1], std::set<int64_t>{0}) << p.layers[1].name;
      expect_bit_exact(g, p, o);
    }
  }
  // Softmax uses all of SRAM for its slots: the Gemm after it cannot prefetch and loads its
  // block after the barrier. An elementwise layer sizes its slots to its tiles: the Gemm
  // after the Sigmoid prefetches.
  GraphBuilder b;
  auto x = b.input("x", {16, 64});
  auto sg = b.node("Sigmoid", {x}, {16, 64});
  auto g1 = b.node("Gemm", {sg, b.weight("w1", {64, 64}), b.weight("b1", {64})}, {16, 64}, {{"transB", i(1)}});
  auto sm = b.node("Softmax", {g1}, {16, 64}, {{"axis", i(-1)}});
  auto g2 = b.node("Gemm", {sm, b.weight("w2", {64, 64}), b.weight("b2", {64})}, {16, 64}, {{"transB", i(1)}});
  b.output(g2);
  b.g.name = "gemm_softmax_gemm";
  backend::CompileOptions o;
  o.precision = "int8";
  isa::Program p = backend::compile(b.g, preset("default"), o);
  std::map<int64_t, size_t> per_layer;
  check_prefetch_disjoint(p, &per_layer);
  std::vector<int64_t> gemms;
  for (size_t k = 0; k < p.layers.size(); ++k)
    if (p.layers[k].op.rfind("Gemm", 0) == 0) gemms.push_back(int64_t(k));
  ASSERT_EQ(gemms.size(), 2u);
  EXPECT_GT(per_layer[gemms[0]], 0u);
  EXPECT_EQ(per_layer[gemms[1]], 0u);
  expect_bit_exact(b.g, p, o);
}

// The weight FIFO runs ahead over non-matrix layers: Gemm2's block is loaded during Gemm1
// and the Slice (a layer of DMA copies) between them, not after the Slice's barrier.
TEST(Prefetch, WeightsRunAheadOverCopyAndVectorLayers) {
  for (std::string cfgname : {"default", "tpu-v1"}) {
    SCOPED_TRACE(cfgname);
    GraphBuilder b;
    auto x = b.input("x", {16, 64});
    auto g1 = b.node("Gemm", {x, b.weight("w1", {128, 64}), b.weight("b1", {128})}, {16, 128}, {{"transB", i(1)}});
    Tensor st = Tensor::from_int64s({1}, {32}), en = Tensor::from_int64s({1}, {96}), ax = Tensor::from_int64s({1}, {1});
    auto sl = b.node("Slice", {g1, b.constant("st", st), b.constant("en", en), b.constant("ax", ax)}, {16, 64});
    auto g2 = b.node("Gemm", {sl, b.weight("w2", {64, 64}), b.weight("b2", {64})}, {16, 64}, {{"transB", i(1)}});
    auto sg = b.node("Sigmoid", {g2}, {16, 64});
    auto tn = b.node("Tanh", {sg}, {16, 64});
    auto g3 = b.node("Gemm", {tn, b.weight("w3", {64, 64}), b.weight("b3", {64})}, {16, 64}, {{"transB", i(1)}});
    b.output(g3);
    b.g.name = "gemm_slice_gemm";
    CardConfig cfg = preset(cfgname);
    backend::CompileOptions o;
    o.precision = "int8";
    o.int8_mixed = backend::effective_int8_mixed(cfg, o.int8_mixed);
    isa::Program p = backend::compile(b.g, cfg, o);
    std::map<int64_t, size_t> per_layer;
    std::map<int64_t, std::set<int64_t>> hosts;
    check_prefetch_disjoint(p, &per_layer, &hosts);
    std::vector<int64_t> gemms;
    for (size_t k = 0; k < p.layers.size(); ++k)
      if (p.layers[k].op.rfind("Gemm", 0) == 0) gemms.push_back(int64_t(k));
    ASSERT_EQ(gemms.size(), 3u);
    EXPECT_GT(gemms[1], gemms[0] + 1) << "the Slice is a layer of its own";
    EXPECT_GT(per_layer[gemms[1]], 0u) << "Gemm2 prefetches although a copy layer precedes it";
    // Gemm2's loads run during Gemm1 or the Slice, Gemm3's during Gemm2, Sigmoid or Tanh.
    for (int k : {1, 2}) {
      ASSERT_FALSE(hosts[gemms[k]].empty());
      EXPECT_GE(*hosts[gemms[k]].begin(), gemms[k - 1]);
      EXPECT_LT(*hosts[gemms[k]].rbegin(), gemms[k]);
    }
    expect_bit_exact(b.g, p, o);
  }
}

TEST(Prefetch, NextLayersWeightsStreamWhileThisLayerComputes) {
  ir::Graph g = mlp(1024, 64, 2);
  CardConfig cfg = preset("tpu-v1");
  backend::CompileOptions o;
  o.precision = "int8";
  isa::Program p = backend::compile(g, cfg, o);
  uint32_t l1 = 0, l2 = 0;  // program layer indices of the two Gemm layers
  for (size_t k = 0, seen = 0; k < p.layers.size(); ++k)
    if (p.layers[k].op.rfind("Gemm", 0) == 0) (seen++ == 0 ? l1 : l2) = uint32_t(k);
  ASSERT_EQ(l2, l1 + 1);
  // In the program: some of layer 2's loads sit in the segment layer 1's barrier closes.
  std::map<size_t, std::vector<const isa::Instr*>> segment;
  for (auto& q : p.queues) {
    size_t seg = 0;
    for (auto& in : q) {
      if (in.op == Opcode::Barrier) ++seg;
      else if (in.op != Opcode::End) segment[seg].push_back(&in);
    }
  }
  bool before_barrier = false;
  for (auto& [seg, ins] : segment) {
    int64_t running = INT64_MAX;
    for (auto* in : ins) running = std::min(running, in->layer);
    if (running != int64_t(l1)) continue;
    for (auto* in : ins) before_barrier = before_barrier || (in->layer == int64_t(l2) && in->op == Opcode::DmaCopy);
  }
  EXPECT_TRUE(before_barrier);
  // On the card model: layer 2's first weight load starts before layer 1's last matmul ends.
  PrefetchObserver obs;
  obs.watch = l2;
  auto r = run_observed(p, cfg, g, obs);
  ASSERT_TRUE(r.complete) << r.error;
  ASSERT_GT(obs.last_mxu, 0.0);
  EXPECT_LT(obs.first_next_dma, obs.last_mxu);
}

namespace {
// tpu-v1 with GPU-class GDDR5 (configs/sweeps/tpu-v1-memory.json's second memory).
CardConfig tpu_v1_gddr5() {
  return load_config(resolve_config_path("tpu-v1"), {"dram.standard=GDDR5", "dram.speed_grade=GDDR5_7000",
                                                     "dram.channels=8", "dram.bus_width_bits=32"});
}

// Splits each queue at its barriers: segment index -> queue -> instructions (End left out).
std::map<size_t, std::map<int, std::vector<const isa::Instr*>>> segments(const isa::Program& p) {
  std::map<size_t, std::map<int, std::vector<const isa::Instr*>>> seg;
  for (int q = 0; q < int(p.queues.size()); ++q) {
    size_t s = 0;
    for (auto& in : p.queues[size_t(q)]) {
      if (in.op == Opcode::Barrier) ++s;
      else if (in.op != Opcode::End) seg[s][q].push_back(&in);
    }
  }
  return seg;
}
}  // namespace

// On a host layer that is one tile (one matmul), the next layer's prefetched weight loads
// must not sit behind a wait on a semaphore the host's matrix or vector unit signals: such
// a wait completes only once the host's matmul is done, so the pieces behind it would not
// overlap the host's compute at all (MLP0 on tpu-v1: half of each 4 MiB layer was behind
// the load queues' drain wait and the store queues' stores).
TEST(Prefetch, OneTileHostsPrefetchIsNotBehindItsCompute) {
  for (auto [cfgname, cfg] : {std::pair{"tpu-v1", preset("tpu-v1")}, std::pair{"tpu-v1-gddr5", tpu_v1_gddr5()}}) {
    SCOPED_TRACE(cfgname);
    ir::Graph g = mlp(1024, 64, 3);
    backend::CompileOptions o;
    o.precision = "int8";
    isa::Program p = backend::compile(g, cfg, o);
    size_t checked = 0, hosts = 0;
    for (auto& [s, queues] : segments(p)) {
      int64_t host = INT64_MAX;
      for (auto& [q, ins] : queues)
        for (auto* in : ins) host = std::min(host, in->layer);
      size_t matmuls = 0;
      std::set<int64_t> compute_sems;  // signalled by the host's matrix / vector unit
      for (int q : {isa::kQueueMxu, isa::kQueueVpu})
        for (auto* in : queues[q]) {
          if (in->layer != host) continue;
          matmuls += in->op == Opcode::MxuConv;
          if (in->signal) compute_sems.insert(in->signal);
          if (in->op == Opcode::SemSignal) compute_sems.insert(in->sem);
        }
      if (matmuls != 1) continue;
      ++hosts;
      for (auto& [q, ins] : queues) {
        if (q < isa::kQueueDma0) continue;
        bool behind = false;
        for (auto* in : ins) {
          behind = behind || compute_sems.count(in->wait) || (in->op == Opcode::SemWait && compute_sems.count(in->sem));
          if (in->layer <= host || in->op != Opcode::DmaCopy) continue;
          ++checked;
          EXPECT_FALSE(behind) << "dma" << q - isa::kQueueDma0 << ": layer " << in->layer << "'s prefetched load (hosted by layer "
                               << host << ") waits for the host's compute";
        }
      }
    }
    EXPECT_GE(hosts, 2u) << "the 1024-wide Gemms are one tile each";
    EXPECT_GT(checked, 0u);
    expect_bit_exact(g, p, o);
  }
}

// ... and on the card model, where the bandwidth allows it (the default card: 1 MiB of
// weights, 256 KiB a DMA queue, under a 512 x 1024 x 1024 matmul on its 128 x 128 array),
// the next layer's whole block is in SRAM before the host's one matmul ends. The host is
// the middle Gemm: its own block was prefetched, so its matmul starts at its barrier and
// the prefetch gets no head start.
TEST(Prefetch, OneTileHostsPrefetchFinishesUnderItsMatmul) {
  CardConfig cfg = preset("default");
  ir::Graph g = mlp(1024, 512, 3);
  backend::CompileOptions o;
  o.precision = "int8";
  isa::Program p = backend::compile(g, cfg, o);
  std::vector<uint32_t> gemms;
  for (size_t k = 0; k < p.layers.size(); ++k)
    if (p.layers[k].op.rfind("Gemm", 0) == 0) gemms.push_back(uint32_t(k));
  ASSERT_EQ(gemms.size(), 3u);
  const uint32_t host = gemms[1], next = gemms[2];
  ASSERT_EQ(next, host + 1);
  size_t prefetched = 0, matmuls = 0, own_weights = 0;  // in the segment the host's barrier closes
  for (auto& [s, queues] : segments(p)) {
    int64_t running = INT64_MAX;
    for (auto& [q, ins] : queues)
      for (auto* in : ins) running = std::min(running, in->layer);
    if (running != int64_t(host)) continue;
    for (auto& [q, ins] : queues)
      for (auto* in : ins) {
        prefetched += in->layer == int64_t(next) && in->op == Opcode::DmaCopy;
        matmuls += in->layer == int64_t(host) && in->op == Opcode::MxuConv;
        own_weights += in->layer == int64_t(host) && in->op == Opcode::DmaCopy && in->a_space == int64_t(isa::Space::Dram);
      }
  }
  ASSERT_EQ(matmuls, 1u);
  ASSERT_EQ(own_weights, 0u) << "the host's block was prefetched during the first Gemm";
  ASSERT_GT(prefetched, 0u);
  struct Obs : card::Observer {
    uint32_t host = 0, next = 0;
    double mxu_end = 0;
    std::vector<std::pair<double, double>> next_dma;  // start, end
    void instruction(int, isa::Opcode op, uint32_t layer, double start_ns, double end_ns, uint64_t) override {
      if (layer == host && op == isa::Opcode::MxuConv) mxu_end = std::max(mxu_end, end_ns);
      if (layer == next && op == isa::Opcode::DmaCopy) next_dma.push_back({start_ns, end_ns});
    }
  } obs;
  obs.host = host, obs.next = next;
  auto r = run_observed(p, cfg, g, obs);
  ASSERT_TRUE(r.complete) << r.error;
  ASSERT_GT(obs.mxu_end, 0.0);
  size_t started = 0;
  double done = 0;
  for (auto [b, e] : obs.next_dma)
    if (b < obs.mxu_end) ++started, done = std::max(done, e);
  EXPECT_EQ(started, prefetched) << "every prefetched piece starts before the host's matmul ends";
  EXPECT_LT(done, obs.mxu_end) << "the prefetch ends " << done - obs.mxu_end << " ns after the host's matmul";
}

// The stream goes where the DRAM would otherwise idle: Gemm2's block may stream under
// Gemm1 (a compute-bound matmul), the Slice after it (SRAM copies, no compute) and the
// Sigmoid (a short vector layer). The window reaches back to Gemm1, which carries the
// largest share; the Slice, which leaves no idle DRAM time, none.
TEST(Prefetch, StreamGoesToTheHostsThatLeaveTheDramIdle) {
  GraphBuilder b;
  auto x = b.input("x", {64, 1024});
  auto g0 = b.node("Gemm", {x, b.weight("w0", {1024, 1024}), b.weight("b0", {1024})}, {64, 1024}, {{"transB", i(1)}});
  auto g1 = b.node("Gemm", {g0, b.weight("w1", {2048, 1024}), b.weight("b1", {2048})}, {64, 2048}, {{"transB", i(1)}});
  Tensor st = Tensor::from_int64s({1}, {512}), en = Tensor::from_int64s({1}, {1536}), ax = Tensor::from_int64s({1}, {1});
  auto sl = b.node("Slice", {g1, b.constant("st", st), b.constant("en", en), b.constant("ax", ax)}, {64, 1024});
  auto sg = b.node("Sigmoid", {sl}, {64, 1024});
  auto g2 = b.node("Gemm", {sg, b.weight("w2", {1024, 1024}), b.weight("b2", {1024})}, {64, 1024}, {{"transB", i(1)}});
  b.output(g2);
  b.g.name = "gemm_slice_sigmoid_gemm";
  CardConfig cfg = preset("tpu-v1");
  backend::CompileOptions o;
  o.precision = "int8";
  isa::Program p = backend::compile(b.g, cfg, o);
  int64_t gemm1 = -1, slice = -1, sigmoid = -1, gemm2 = -1;
  for (size_t k = 0; k < p.layers.size(); ++k) {
    const std::string& op = p.layers[k].op;
    if (op.rfind("Gemm", 0) == 0) gemm1 = gemm2, gemm2 = int64_t(k);
    if (op == "Slice") slice = int64_t(k);
    if (op == "Sigmoid") sigmoid = int64_t(k);
  }
  ASSERT_EQ(gemm2, gemm1 + 3) << "Gemm1, Slice, Sigmoid, Gemm2";
  ASSERT_EQ(slice, gemm1 + 1);
  ASSERT_EQ(sigmoid, gemm1 + 2);
  std::map<int64_t, uint64_t> bytes;  // host layer -> Gemm2's prefetched bytes in its segment
  uint64_t total = 0;
  for (auto& [s, queues] : segments(p)) {
    int64_t host = INT64_MAX;
    for (auto& [q, ins] : queues)
      for (auto* in : ins) host = std::min(host, in->layer);
    for (auto& [q, ins] : queues)
      for (auto* in : ins)
        if (in->layer == gemm2 && host < gemm2 && in->op == Opcode::DmaCopy) {
          const uint64_t n = uint64_t(in->n0 * in->n1 * in->n2 * in->n3) * dtype_size(DType(in->d_type));
          bytes[host] += n, total += n;
        }
  }
  ASSERT_GE(total, uint64_t(1) << 20) << "Gemm2's 1 MiB of weights are prefetched";
  EXPECT_EQ(bytes[slice], 0u) << "the Slice leaves no idle DRAM time";
  EXPECT_GT(bytes[gemm1], bytes[sigmoid]);
  EXPECT_GE(double(bytes[gemm1]), 0.75 * double(total)) << "Gemm1 carries " << bytes[gemm1] << " of " << total << " bytes";
  check_prefetch_disjoint(p);
  expect_bit_exact(b.g, p, o);
}

// ---- activations kept on chip (compiler/backend/README.md "Memory and schedule") ----------

namespace {
// Per program layer: does it write DRAM / read the activations region of DRAM?
struct DramUse {
  bool writes = false, reads_activations = false;
};
std::map<int64_t, DramUse> dram_use(const isa::Program& p) {
  uint64_t lo = 0, hi = 0;
  for (auto& r : p.regions)
    if (r.name == "activations") lo = r.base, hi = r.base + r.size;
  std::map<int64_t, DramUse> use;
  for (auto& q : p.queues)
    for (auto& in : q)
      kernels::for_each_run(in, [&](const kernels::Run& r) {
        if (r.space != isa::Space::Dram) return;
        if (r.write) use[in.layer].writes = true;
        else if (r.addr < hi && r.addr + r.bytes > lo) use[in.layer].reads_activations = true;
      });
  return use;
}
}  // namespace

TEST(OnChip, ActivationsStayInTheSramArenaForTheirLiveRange) {
  backend::CompileOptions o;
  o.precision = "int8";
  // Gemm -> Gemm -> Gemm: the converted input and the two intermediate values never touch DRAM.
  ir::Graph g = mlp();
  isa::Program p = backend::compile(g, preset("default"), o);
  std::vector<int64_t> gemms;
  for (size_t k = 0; k < p.layers.size(); ++k)
    if (p.layers[k].op.rfind("Gemm", 0) == 0) gemms.push_back(int64_t(k));
  ASSERT_EQ(gemms.size(), 3u);
  auto use = dram_use(p);
  ASSERT_EQ(p.layers[0].op, "QuantizeInput");
  EXPECT_FALSE(use[0].writes);  // the converted input goes to the arena too
  EXPECT_FALSE(use[gemms[0]].reads_activations);
  EXPECT_FALSE(use[gemms[0]].writes);
  EXPECT_FALSE(use[gemms[1]].writes);
  EXPECT_FALSE(use[gemms[1]].reads_activations);
  EXPECT_FALSE(use[gemms[2]].reads_activations);
  EXPECT_TRUE(use[gemms[2]].writes);  // the graph output
  expect_bit_exact(g, p, o);
  check_prefetch_disjoint(p);

  // A value read by two layers (a residual) stays on chip for its whole live range: the
  // first conv's output is read by the second conv and by the Add, and neither it nor the
  // second conv's output touches DRAM.
  GraphBuilder b;
  auto x = b.input("x", {1, 8, 12, 12});
  auto a = b.node("Conv", {x, b.weight("wa", {8, 8, 3, 3})}, {1, 8, 12, 12},
                  {{"kernel_shape", ints({3, 3})}, {"pads", ints({1, 1, 1, 1})}});
  auto c = b.node("Conv", {a, b.weight("wb", {8, 8, 1, 1})}, {1, 8, 12, 12}, {{"kernel_shape", ints({1, 1})}});
  auto s = b.node("Add", {a, c}, {1, 8, 12, 12});
  b.output(s);
  b.g.name = "residual";
  isa::Program r = backend::compile(b.g, preset("default"), o);
  std::vector<int64_t> convs;
  int64_t add = -1;
  for (size_t k = 0; k < r.layers.size(); ++k) {
    if (r.layers[k].op == "Conv" || r.layers[k].op.rfind("Conv+", 0) == 0 || r.layers[k].op.rfind("Conv [", 0) == 0)
      convs.push_back(int64_t(k));  // "Conv", "Conv+Relu", "Conv [i16]" (mixed precision)
    if (r.layers[k].op.rfind("Add", 0) == 0) add = int64_t(k);
  }
  ASSERT_EQ(convs.size(), 2u);
  ASSERT_GE(add, 0);
  auto ru = dram_use(r);
  EXPECT_FALSE(ru[convs[0]].writes);             // read by the second conv and by the Add
  EXPECT_FALSE(ru[convs[1]].reads_activations);
  EXPECT_FALSE(ru[convs[1]].writes);
  EXPECT_FALSE(ru[add].reads_activations);       // both operands come from the SRAM arena
  expect_bit_exact(b.g, r, o);
  check_prefetch_disjoint(r);
  // The residual's SRAM region (written by the first conv, read by the Add's loads) is never
  // written while the second conv runs: the arena lies above that layer's working set.
  std::vector<Range> written0, residual;
  for (auto& q : r.queues)
    for (auto& in : q)
      if (in.layer == convs[0])
        for (auto& w : sram_ranges(in, true)) written0.push_back(w);
  for (auto& q : r.queues)
    for (auto& in : q) {
      if (in.layer != add || in.op != Opcode::DmaCopy) continue;
      kernels::for_each_run(in, [&](const kernels::Run& run) {
        if (run.space != isa::Space::Sram || run.write) return;
        for (auto& w : written0)
          if (run.addr < w.hi && w.lo < run.addr + run.bytes)
            residual.push_back({std::max(run.addr, w.lo), std::min(run.addr + run.bytes, w.hi)});
      });
    }
  ASSERT_FALSE(residual.empty());
  for (auto& q : r.queues)
    for (auto& in : q) {
      if (in.layer != convs[1]) continue;
      for (auto& w : sram_ranges(in, true))
        for (auto& u : residual)
          EXPECT_TRUE(w.hi <= u.lo || u.hi <= w.lo)
              << "the second conv writes SRAM [" << w.lo << ", " << w.hi << ") inside the residual [" << u.lo << ", " << u.hi << ")";
    }
  // Small SRAM (a 64 KiB card): the arena takes at most half. Regions are placed in order:
  // the converted input (32 KiB, live in the first Gemm) takes it, so the first Gemm's output
  // (live at the same time) falls back to DRAM; the second Gemm's output fits again.
  CardConfig small = preset("default");
  small.sram.size_bytes = 64 << 10;
  small.name += "-small";
  isa::Program t = backend::compile(g, small, o);
  ASSERT_EQ(t.layers[0].op, "QuantizeInput");
  auto tu = dram_use(t);
  EXPECT_FALSE(tu[0].writes);
  EXPECT_FALSE(tu[gemms[0]].reads_activations);
  EXPECT_TRUE(tu[gemms[0]].writes);
  EXPECT_TRUE(tu[gemms[1]].reads_activations);
  EXPECT_FALSE(tu[gemms[1]].writes);
  EXPECT_FALSE(tu[gemms[2]].reads_activations);
  expect_bit_exact(g, t, o);
  // Tiny SRAM (32 KiB): no value fits in half of it; everything goes through DRAM, still exact.
  CardConfig tiny = preset("default");
  tiny.sram.size_bytes = 32 << 10;
  tiny.name += "-tiny";
  isa::Program tt = backend::compile(g, tiny, o);
  auto ttu = dram_use(tt);
  EXPECT_TRUE(ttu[gemms[0]].writes);
  EXPECT_TRUE(ttu[gemms[1]].reads_activations);
  expect_bit_exact(g, tt, o);
}
