// for_each_run and cost against hand calculation.
#include <gtest/gtest.h>

#include "core/error.h"
#include "kernel_test_util.h"
#include "sim/card_config.h"

using namespace cardsim;
using namespace cardsim::test;
using isa::Opcode;
using isa::Space;

namespace {
std::vector<kernels::Run> runs_of(const isa::Instr& in) {
  std::vector<kernels::Run> v;
  kernels::for_each_run(in, [&](const kernels::Run& r) { v.push_back(r); });
  return v;
}
}  // namespace

TEST(Runs, TileRowsFromDramMergeOnTheContiguousSide) {
  // 4 rows x 8 f32 from a DRAM matrix with row stride 16 elements into contiguous SRAM.
  auto in = elementwise(Opcode::DmaCopy, 8, Space::Sram, 0, DType::F32, Space::Dram, 1000, DType::F32);
  in.n1 = 4;
  in.a_s1 = 16;
  in.d_s1 = 8;
  auto r = runs_of(in);
  ASSERT_EQ(r.size(), 5u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(r[size_t(i)].space, Space::Dram);
    EXPECT_EQ(r[size_t(i)].addr, 1000u + 64u * uint64_t(i));
    EXPECT_EQ(r[size_t(i)].bytes, 32u);
    EXPECT_FALSE(r[size_t(i)].write);
  }
  EXPECT_EQ(r[4].space, Space::Sram);
  EXPECT_EQ(r[4].addr, 0u);
  EXPECT_EQ(r[4].bytes, 128u);
  EXPECT_TRUE(r[4].write);
}

TEST(Runs, BroadcastIsReadOnceAndCompressedSourceReadsCbytes) {
  auto in = elementwise(Opcode::VpuBinary, 16, Space::Sram, 0, DType::I8, Space::Sram, 100, DType::I8);
  in.b_space = int64_t(Space::Sram);
  in.b_addr = 500;
  in.b_type = t(DType::I8);
  in.b_s0 = 0;  // scalar broadcast
  auto r = runs_of(in);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].addr, 100u);
  EXPECT_EQ(r[0].bytes, 16u);
  EXPECT_EQ(r[1].addr, 500u);
  EXPECT_EQ(r[1].bytes, 1u);
  EXPECT_EQ(r[2].bytes, 16u);
  auto c = elementwise(Opcode::DmaCopy, 4096, Space::Sram, 0, DType::I8, Space::Dram, 64, DType::I8);
  c.cbytes = 1000;
  auto rc = runs_of(c);
  ASSERT_EQ(rc.size(), 2u);
  EXPECT_EQ(rc[0].bytes, 1000u);
  EXPECT_EQ(rc[1].bytes, 4096u);
}

TEST(Runs, TransposedStridesWalkSmallestStrideFirst) {
  // Reading a column-major 3x2 block: a_s0 = 2 (strided), a_s1 = 1: two dims cover 6
  // contiguous elements in total, so one run.
  auto in = elementwise(Opcode::DmaCopy, 3, Space::Sram, 0, DType::F32, Space::Dram, 0, DType::F32);
  in.n1 = 2;
  in.a_s0 = 2;
  in.a_s1 = 1;
  in.d_s1 = 3;
  auto r = runs_of(in);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].bytes, 24u);
  EXPECT_EQ(r[1].bytes, 24u);
}

namespace {
isa::Instr conv(int64_t df, int64_t M_h, int64_t M_w, int64_t in_c, int64_t k, int64_t N, DType type) {
  isa::Instr in;
  in.op = Opcode::MxuConv;
  in.df = df;
  in.a_type = in.b_type = t(type);
  in.a_space = in.b_space = int64_t(Space::Sram);
  in.d_space = int64_t(Space::Acc);
  in.out_h = M_h;
  in.out_w = M_w;
  in.in_h = M_h + k - 1;
  in.in_w = M_w + k - 1;
  in.in_c = in_c;
  in.k_h = in.k_w = k;
  in.out_c = N;
  return in;
}
}  // namespace

TEST(Cost, MatrixUnitFormulas) {
  CardConfig cfg;
  cfg.matrix.rows = 4;
  cfg.matrix.cols = 4;
  cfg.matrix.dataflows = {"ws", "os", "is"};
  // M = 2*5 = 10 pixels, K = 8 (in_c 8, 1x1), N = 6.
  auto ws = conv(0, 2, 5, 8, 1, 6, DType::I8);
  cfg.matrix.weight_buffers = 1;
  auto c = kernels::cost(ws, cfg);
  EXPECT_EQ(c.folds, 4u);                       // ceil(8/4) * ceil(6/4)
  EXPECT_EQ(c.cycles, 4u * (8 + 4 + 10 - 2));   // folds * (2R + C + T - 2)
  EXPECT_EQ(c.macs, 10u * 8 * 6);
  cfg.matrix.weight_buffers = 2;
  // Pipelined folds (double-buffered weights): first fill R = 4, then folds 1..3 each occupy
  // max(T, R) = 10 cycles, then the last fold streams T = 10 rows and drains R + C - 2 = 6:
  // 4 + 3 * 10 + 16 = 50 (unpipelined: 80).
  EXPECT_EQ(kernels::cost(ws, cfg).cycles, 50u);
  // A stream shorter than the fill (T = 2 pixels < R = 4): the next fill sets the cadence,
  // 4 + 3 * 4 + (2 + 4 + 4 - 2) = 24 (unpipelined: 4 * (8 + 4 + 2 - 2) = 48).
  auto ws_short = conv(0, 1, 2, 8, 1, 6, DType::I8);
  EXPECT_EQ(kernels::cost(ws_short, cfg).cycles, 24u);
  EXPECT_GE(kernels::cost(ws_short, cfg).cycles, (kernels::cost(ws_short, cfg).macs + 15) / 16);
  // One fold: nothing to overlap, the same as SCALE-Sim's R + (R + C + T - 2) after the fill.
  auto ws_one = conv(0, 1, 3, 4, 1, 4, DType::I8);
  EXPECT_EQ(kernels::cost(ws_one, cfg).cycles, 4u + (4 + 4 + 3 - 2));
  auto os = conv(1, 2, 5, 8, 1, 6, DType::I8);
  auto co = kernels::cost(os, cfg);
  EXPECT_EQ(co.folds, 6u);                      // ceil(10/4) * ceil(6/4)
  EXPECT_EQ(co.cycles, 6u * (8 + 4 + 4 - 2));   // folds * (T + R + C - 2)
  auto is = conv(2, 2, 5, 8, 1, 6, DType::I8);
  cfg.matrix.weight_buffers = 1;
  auto ci = kernels::cost(is, cfg);
  EXPECT_EQ(ci.folds, 6u);                      // ceil(8/4) * ceil(10/4)
  EXPECT_EQ(ci.cycles, 6u * (8 + 4 + 6 - 2));
  // fp32 at a quarter rate, fp16 at half.
  cfg.matrix.weight_buffers = 1;
  EXPECT_EQ(kernels::cost(conv(0, 2, 5, 8, 1, 6, DType::F32), cfg).cycles, 4u * 80);
  EXPECT_EQ(kernels::cost(conv(0, 2, 5, 8, 1, 6, DType::F16), cfg).cycles, 2u * 80);
  // 16-bit integer operands (int8 mixed precision): bytes(a) * bytes(b) passes of the 8-bit
  // array, each pass a full set of 8-bit MACs; the i64 accumulator moves 8-byte elements.
  auto i8 = kernels::cost(conv(0, 2, 5, 8, 1, 6, DType::I8), cfg);
  auto w16 = conv(0, 2, 5, 8, 1, 6, DType::I16);
  w16.d_type = t(DType::I64);
  auto c16 = kernels::cost(w16, cfg);
  EXPECT_EQ(c16.cycles, 4 * i8.cycles);
  EXPECT_EQ(c16.macs, i8.macs);
  EXPECT_EQ(c16.array_macs, 4 * i8.macs);
  EXPECT_EQ(c16.acc_write_bytes, 2 * i8.acc_write_bytes);
  w16.b_type = t(DType::I8);
  EXPECT_EQ(kernels::cost(w16, cfg).cycles, 2 * i8.cycles);
  EXPECT_EQ(i8.array_macs, i8.macs);
  // 3x3 kernel: K = in_c * 9.
  auto k3 = kernels::cost(conv(0, 2, 5, 2, 3, 6, DType::I8), cfg);
  EXPECT_EQ(k3.folds, 5u * 2);  // ceil(18/4) * ceil(6/4)
  // A dataflow the card lacks is rejected.
  cfg.matrix.dataflows = {"ws"};
  EXPECT_THROW(kernels::cost(os, cfg), Error);
}

TEST(Cost, VectorUnitAndDma) {
  CardConfig cfg;
  cfg.vector.lanes = 4;
  cfg.vector.cost["relu"] = 2;
  cfg.vector.latency["relu"] = 3;
  auto in = elementwise(Opcode::VpuUnary, 10, Space::Sram, 0, DType::I8, Space::Sram, 64, DType::I8);
  in.fn = int64_t(isa::Fn::Relu);
  auto c = kernels::cost(in, cfg);
  EXPECT_EQ(c.cycles, 3u * 2 + 3);  // ceil(10/4) * cost + latency
  EXPECT_EQ(c.sram_read_bytes, 10u);
  EXPECT_EQ(c.sram_write_bytes, 10u);
  auto d = elementwise(Opcode::DmaCopy, 100, Space::Sram, 0, DType::F32, Space::Dram, 0, DType::F32);
  cfg.dma.setup_cycles = 32;
  auto cd = kernels::cost(d, cfg);
  EXPECT_EQ(cd.cycles, 32u);
  EXPECT_EQ(cd.sram_write_bytes, 400u);
}
