// Roofline and monotonicity invariants over many seeded random layers and cards:
//  - cycles never beat the compute bound (MACs / (rows x cols)) nor the memory bound
//    (DRAM bytes / peak DRAM bandwidth);
//  - more DRAM bandwidth or a bigger array never makes a layer slower (a bigger array only
//    where the layer fills it: a systolic array's fill/drain grows with R + C, so a layer
//    smaller than the array is legitimately slower on a bigger one — SCALE-Sim agrees; the
//    test below shows the smallest such case);
//  - energy never decreases when a layer's action counts grow.
// Layer-level checks use kernels::cost (fast, thousands of cases); whole-program checks
// compile one-layer graphs and run them in timing mode on the SystemC card model (forked).
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <iostream>
#include <random>

#include <fmt/format.h>

#include "compiler/backend/compile.h"
#include "isa/isa.h"
#include "models/card/card.h"
#include "models/kernels/kernels.h"
#include "sim/card_config.h"
#include "sim/report/energy.h"
#include "sim/scalesim/scalesim.h"

using namespace cardsim;

namespace {

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

CardConfig card(int rows, int cols, const std::string& df, int weight_buffers = 2,
                std::vector<std::string> extra = {}) {
  std::vector<std::string> sets = {fmt::format("matrix.rows={}", rows), fmt::format("matrix.cols={}", cols),
                                   fmt::format("matrix.dataflows=[\"{}\"]", df),
                                   fmt::format("matrix.weight_buffers={}", weight_buffers)};
  sets.insert(sets.end(), extra.begin(), extra.end());
  return load_config(resolve_config_path("default"), sets);
}

isa::Instr conv_instr(std::mt19937& rng, const std::string& df) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  isa::Instr in;
  in.op = isa::Opcode::MxuConv;
  in.df = int64_t(df == "ws" ? isa::Dataflow::WS : df == "os" ? isa::Dataflow::OS : isa::Dataflow::IS);
  in.a_type = in.b_type = int64_t(DType::I8);
  in.a_space = in.b_space = int64_t(isa::Space::Sram);
  in.d_space = int64_t(isa::Space::Acc);
  const int k = std::array<int, 3>{1, 3, 5}[size_t(pick(0, 2))];
  in.k_h = in.k_w = k;
  in.out_h = pick(1, 64), in.out_w = pick(1, 64);
  in.in_h = in.out_h + k - 1, in.in_w = in.out_w + k - 1;
  in.in_c = pick(1, 600), in.out_c = pick(1, 600);
  return in;
}

uint64_t macs_of(const isa::Instr& in) {
  return uint64_t(in.out_h * in.out_w) * uint64_t(in.in_c * in.k_h * in.k_w) * uint64_t(in.out_c);
}

const char* kDataflows[] = {"ws", "os", "is"};

TEST(Invariants, CostNeverBeatsTheComputeBound) {
  std::mt19937 rng(11);
  const int sizes[] = {8, 16, 32, 64, 128, 256};
  int checked = 0;
  for (int t = 0; t < 600; ++t) {
    const char* df = kDataflows[t % 3];
    const int R = sizes[rng() % 6], C = sizes[rng() % 6];
    CardConfig cfg = card(R, C, df, 1 + int(rng() % 2));
    isa::Instr in = conv_instr(rng, df);
    auto c = kernels::cost(in, cfg);
    ASSERT_EQ(c.macs, macs_of(in));
    ASSERT_GE(c.cycles, ceil_div(c.macs, uint64_t(R) * uint64_t(C)))
        << df << " " << R << "x" << C << " out " << in.out_h << "x" << in.out_w << "x" << in.out_c << " in_c " << in.in_c
        << " k " << in.k_h;
    ++checked;
  }
  EXPECT_EQ(checked, 600);
}

// The stationary/streaming dimensions of an instruction for a dataflow (kernels/cost.cc).
void dims(const isa::Instr& in, uint64_t& Sr, uint64_t& Sc) {
  const uint64_t M = uint64_t(in.out_h * in.out_w), K = uint64_t(in.in_c * in.k_h * in.k_w), N = uint64_t(in.out_c);
  if (in.df == int64_t(isa::Dataflow::OS)) Sr = M, Sc = N;
  else if (in.df == int64_t(isa::Dataflow::IS)) Sr = K, Sc = M;
  else Sr = K, Sc = N;
}

TEST(Invariants, BiggerArrayNeverSlowerWhenTheLayerFillsIt) {
  std::mt19937 rng(12);
  int checked = 0;
  for (int t = 0; t < 20000 && checked < 400; ++t) {
    const char* df = kDataflows[t % 3];
    const int R = 8 << (rng() % 5), C = 8 << (rng() % 5);
    const bool grow_rows = rng() % 2;
    const int R2 = grow_rows ? 2 * R : R, C2 = grow_rows ? C : 2 * C;
    isa::Instr in = conv_instr(rng, df);
    // Round the layer to whole multiples of 8 so that exact-fold cases are common.
    in.out_w = (in.out_w + 7) / 8 * 8, in.in_w = in.out_w + in.k_w - 1;
    in.in_c = (in.in_c + 63) / 64 * 64, in.out_c = (in.out_c + 63) / 64 * 64;
    uint64_t Sr, Sc;
    dims(in, Sr, Sc);
    // The layer must fill the bigger array in whole folds: a partial last fold (Sc = 266 on
    // 256 columns) pays a full fold's fill/drain for 10 columns, and a bigger array is then
    // legitimately slower (IS 8x128 -> 8x256, K=4779, M=266, N=82: 3 folds of 216 cycles vs
    // 2 of 344) — SCALE-Sim's model behaves the same.
    if (Sr < uint64_t(R2) || Sc < uint64_t(C2) || Sr % uint64_t(R2) || Sc % uint64_t(C2)) continue;
    const int wb = 1 + int(rng() % 2);
    auto small = kernels::cost(in, card(R, C, df, wb)).cycles;
    auto big = kernels::cost(in, card(R2, C2, df, wb)).cycles;
    // With pipelined folds (weight_buffers >= 2, WS/IS) the fill and drain are paid once per
    // instruction, not per fold, so the bigger array's steady state is never slower but its
    // one-off pipeline latency is longer by (R2 - R) + (C2 - C): a weight-fill-bound layer
    // (T <= R) streams the same weight bytes at C per cycle on both arrays.
    const uint64_t latency = (wb >= 2 && std::string(df) != "os") ? uint64_t(R2 - R) + uint64_t(C2 - C) : 0;
    ASSERT_LE(big, small + latency) << df << " " << R << "x" << C << " -> " << R2 << "x" << C2 << " Sr " << Sr << " Sc " << Sc
                          << " out " << in.out_h << "x" << in.out_w << "x" << in.out_c << " in_c " << in.in_c << " k "
                          << in.k_h;
    ++checked;
  }
  EXPECT_GE(checked, 100);
}

TEST(Invariants, SmallestLayerSlowerOnABiggerArrayIsFillDrain) {
  // Not a bug but physics, shown so the restriction above is honest: a 1x1 conv with 8 output
  // pixels, 8 input and 8 output channels on WS: 8x8 -> R + 1 * (R + C + T - 2) = 8 + 22 = 30;
  // 16x16 (same single fold, longer pipeline) -> 16 + (16 + 16 + 8 - 2) = 54.
  isa::Instr in;
  in.op = isa::Opcode::MxuConv;
  in.df = int64_t(isa::Dataflow::WS);
  in.a_type = in.b_type = int64_t(DType::I8);
  in.k_h = in.k_w = 1, in.out_h = 1, in.out_w = 8, in.in_h = 1, in.in_w = 8, in.in_c = 8, in.out_c = 8;
  EXPECT_EQ(kernels::cost(in, card(8, 8, "ws")).cycles, 30u);
  EXPECT_EQ(kernels::cost(in, card(16, 16, "ws")).cycles, 54u);
}

// ---- whole-program timing on the card model ------------------------------------------------

struct LayerRun {
  bool ok = false;
  std::string error;
  card::RunStats stats;
};

LayerRun run_layer(const scalesim::Layer& l, const CardConfig& cfg) {
  LayerRun r;
  try {
    ir::Graph g = scalesim::layer_graph(l);
    backend::CompileOptions opts;
    opts.int8_mixed = "off";  // the invariants are about the pure int8 array
    isa::Program prog = backend::compile(g, cfg, opts);
    std::vector<Tensor> in;
    in.emplace_back(DType::F32, g.values.at("x").shape);
    card::RunOptions ro;
    ro.mode = card::RunOptions::Mode::Timing;
    ro.warm = true;
    auto res = card::run_program_forked(prog, cfg, in, ro);
    r.ok = res.complete;
    r.error = res.error;
    r.stats = res.stats;
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  return r;
}

scalesim::Layer random_layer(std::mt19937& rng) {
  auto pick = [&](int lo, int hi) { return int64_t(std::uniform_int_distribution<int>(lo, hi)(rng)); };
  scalesim::Layer l;
  l.name = "L";
  if (rng() % 4 == 0) {  // GEMM row
    l.gemm = true;
    l.M = pick(1, 256), l.N = pick(8, 512), l.K = pick(8, 512);
    l.ifmap_h = l.M, l.ifmap_w = l.K, l.filter_h = 1, l.filter_w = l.K, l.channels = 1, l.num_filters = l.N;
    return l;
  }
  const int64_t k = std::array<int64_t, 3>{1, 3, 5}[size_t(pick(0, 2))];
  l.filter_h = l.filter_w = k;
  l.ifmap_h = l.ifmap_w = pick(k, 40);
  l.channels = pick(1, 256), l.num_filters = pick(1, 256);
  l.stride_h = l.stride_w = pick(1, 2);
  return l;
}

uint64_t dram_bytes(const card::RunStats& s) { return s.dram.bytes_read + s.dram.bytes_written; }

TEST(Invariants, CardRunsRespectRooflineAndMonotonicity) {
  std::mt19937 rng(13);
  int runs = 0;
  for (int t = 0; t < 12; ++t) {
    scalesim::Layer l = random_layer(rng);
    const char* df = kDataflows[t % 3];
    const int R = 16 << (rng() % 3), C = 16 << (rng() % 3);
    const CardConfig base = card(R, C, df);
    const LayerRun a = run_layer(l, base);
    ASSERT_TRUE(a.ok) << a.error;
    ++runs;
    const std::string what = fmt::format("layer {}x{}x{} k{} s{} -> {} filters{} on {}x{} {}", l.ifmap_h, l.ifmap_w,
                                         l.channels, l.filter_h, l.stride_h, l.num_filters, l.gemm ? " (gemm)" : "", R, C, df);
    // Compute bound.
    EXPECT_GE(double(a.stats.total_cycles), double(l.macs()) / double(R * C)) << what;
    // Memory bound: every DRAM byte moved within the simulation at no more than peak.
    ASSERT_GT(a.stats.dram.peak_gbps, 0);
    EXPECT_GE(a.stats.simulated_ns, double(dram_bytes(a.stats)) / a.stats.dram.peak_gbps) << what;
    // More DRAM bandwidth (twice the channels, same standard) never slower — up to 2%, refresh
    // off on both sides. Another channel count maps addresses to other banks, so concurrent
    // DMA streams meet in other banks: a compute-bound layer can wait a row cycle or two
    // longer for one weight piece (16x16x47 k3 s2 -> 243 filters on 32x32 IS was 8557 ->
    // 8648 cycles, +1.1%, with 16 instead of 8 HBM2e channels, while copies split over the
    // DMA channels in 256-byte blocks; 8520 -> 8530 with 4 KiB blocks). A refresh
    // (tRFC 350 ns on HBM2e, all banks of a channel) that falls into a transfer on one side
    // only would add up to 4% to layers this small.
    const std::string no_refresh = "dram.refresh=false";
    const LayerRun narrow = run_layer(l, card(R, C, df, 2, {no_refresh}));
    const LayerRun wide =
        run_layer(l, card(R, C, df, 2, {no_refresh, fmt::format("dram.channels={}", base.dram.channels * 2)}));
    ASSERT_TRUE(narrow.ok && wide.ok) << narrow.error << wide.error;
    runs += 2;
    EXPECT_LE(double(wide.stats.total_cycles), double(narrow.stats.total_cycles) * 1.02) << what << " with 2x DRAM channels";
    if (wide.stats.total_cycles > narrow.stats.total_cycles)
      std::cout << "anomaly (within 2%): " << what << ": " << narrow.stats.total_cycles << " -> " << wide.stats.total_cycles
                << " cycles with 2x DRAM channels\n";
    // More PCIe bandwidth never slower end to end.
    const LayerRun pcie = run_layer(l, card(R, C, df, 2, {"pcie.gen=5"}));
    ASSERT_TRUE(pcie.ok) << pcie.error;
    ++runs;
    EXPECT_LE(pcie.stats.simulated_ns, a.stats.simulated_ns * (1 + 1e-9)) << what << " with PCIe gen5";
  }
  EXPECT_EQ(runs, 48);
}

// ---- energy ---------------------------------------------------------------------------------

card::RunStats random_stats(std::mt19937_64& rng, int channels) {
  auto n = [&](uint64_t hi) { return std::uniform_int_distribution<uint64_t>(0, hi)(rng); };
  card::RunStats s;
  s.macs_by_type["i8"] = n(1ull << 30);
  s.macs_by_type["f16"] = n(1ull << 20);
  s.vector_elems_by_fn["relu"] = n(1 << 24);
  s.vector_elems_by_fn["requant"] = n(1 << 24);
  s.vector_elems_by_fn["exp"] = n(1 << 20);
  s.memory.sram_read_bytes = n(1ull << 30), s.memory.sram_write_bytes = n(1ull << 30);
  s.memory.acc_read_bytes = n(1ull << 28), s.memory.acc_write_bytes = n(1ull << 28);
  s.instruction_fetch_bytes = n(1 << 20);
  s.dram.channels.resize(size_t(channels));
  for (auto& ch : s.dram.channels) {
    ch.bytes_read = n(1ull << 28), ch.bytes_written = n(1ull << 28);
    ch.activates = n(1 << 20), ch.refreshes = n(1 << 10);
  }
  s.pcie.h2d.wire_bytes = n(1ull << 26), s.pcie.d2h.wire_bytes = n(1ull << 26);
  return s;
}

TEST(Invariants, EnergyNeverDecreasesWhenActionCountsGrow) {
  std::mt19937_64 rng(14);
  const CardConfig cfg = load_config(resolve_config_path("default"));
  const int channels = cfg.dram.channels;
  for (int t = 0; t < 500; ++t) {
    card::RunStats s = random_stats(rng, channels);
    const double ns = double(rng() % 10000000);
    const auto before = report::compute_energy(s, cfg, ns);
    card::RunStats g = s;
    const uint64_t add = 1 + rng() % 100000;
    const int which = int(rng() % 12);
    switch (which) {
      case 0: g.macs_by_type["i8"] += add; break;
      case 1: g.macs_by_type["f16"] += add; break;
      case 2: g.vector_elems_by_fn["relu"] += add; break;
      case 3: g.vector_elems_by_fn["exp"] += add; break;
      case 4: g.memory.sram_read_bytes += add; break;
      case 5: g.memory.acc_write_bytes += add; break;
      case 6: g.instruction_fetch_bytes += add; break;
      case 7: g.dram.channels[0].bytes_read += add; break;
      case 8: g.dram.channels[size_t(channels - 1)].activates += add; break;
      case 9: g.dram.channels[0].refreshes += add; break;
      case 10: g.pcie.h2d.wire_bytes += add; break;
      default: g.vector_elems_by_fn["requant"] += add; break;
    }
    const auto after = report::compute_energy(g, cfg, ns + double(rng() % 1000));  // time may grow too
    ASSERT_GE(after.total_fj, before.total_fj) << "action " << which << " +" << add;
    for (const auto& [comp, fj] : before.by_component_fj)
      ASSERT_GE(after.by_component_fj.at(comp), fj) << comp << " after action " << which << " +" << add;
    // The breakdown adds up exactly.
    uint64_t sum = 0;
    for (const auto& [comp, fj] : after.by_component_fj) sum += fj;
    ASSERT_EQ(sum, after.total_fj);
  }
}

}  // namespace
