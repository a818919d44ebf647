// Semantics of each non-conv opcode against hand-computed values (ISA.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "kernel_test_util.h"

using namespace cardsim;
using namespace cardsim::test;
using isa::Fn;
using isa::Opcode;
using isa::Space;

TEST(DmaCopy, QuantizeRoundsHalfToEvenAndSaturates) {
  TestMem m;
  m.put<float>(Space::Dram, 0, {1.25f, -1.25f, 0.75f, 100.0f, -100.0f, 0.0f});
  auto in = elementwise(Opcode::DmaCopy, 6, Space::Sram, 64, DType::I8, Space::Dram, 0, DType::F32);
  in.d_scale = 0.5f;
  in.d_zp = 3;
  kernels::execute(in, m.mem);
  EXPECT_EQ(m.get<int8_t>(Space::Sram, 64, 6), (std::vector<int8_t>{5, 1, 5, 127, -128, 3}));
}

TEST(DmaCopy, Dequantize) {
  TestMem m;
  m.put<int8_t>(Space::Sram, 0, {-2, 0, 10, -128});
  auto in = elementwise(Opcode::DmaCopy, 4, Space::Dram, 0, DType::F32, Space::Sram, 0, DType::I8);
  in.a_scale = 0.25f;
  in.a_zp = -2;
  kernels::execute(in, m.mem);
  EXPECT_EQ(m.get<float>(Space::Dram, 0, 4), (std::vector<float>{0.0f, 0.5f, 3.0f, -31.5f}));
}

TEST(DmaCopy, UnscaledIntegerConversionsSaturate) {
  TestMem m;
  m.put<int32_t>(Space::Acc, 0, {1000, -1000, 5, 2147483647});
  auto in = elementwise(Opcode::DmaCopy, 4, Space::Sram, 0, DType::I8, Space::Acc, 0, DType::I32);
  kernels::execute(in, m.mem);
  EXPECT_EQ(m.get<int8_t>(Space::Sram, 0, 4), (std::vector<int8_t>{127, -128, 5, 127}));
  // i32 -> i32 stays exact (no detour through f32).
  auto in2 = elementwise(Opcode::DmaCopy, 4, Space::Dram, 0, DType::I32, Space::Acc, 0, DType::I32);
  in2.d_s0 = 1;
  m.put<int32_t>(Space::Acc, 0, {16777217, -16777217, 0, 1});
  kernels::execute(in2, m.mem);
  EXPECT_EQ(m.get<int32_t>(Space::Dram, 0, 4), (std::vector<int32_t>{16777217, -16777217, 0, 1}));
  // f32 -> u8 without scale: round half to even, clamp.
  m.put<float>(Space::Dram, 256, {2.5f, 3.5f, -1.0f, 256.7f});
  auto in3 = elementwise(Opcode::DmaCopy, 4, Space::Sram, 128, DType::U8, Space::Dram, 256, DType::F32);
  kernels::execute(in3, m.mem);
  EXPECT_EQ(m.get<uint8_t>(Space::Sram, 128, 4), (std::vector<uint8_t>{2, 4, 0, 255}));
}

TEST(DmaCopy, HalfAndBfloatRoundToNearestEven) {
  TestMem m;
  const float one = 1.0f;
  m.put<float>(Space::Dram, 0, {one + std::ldexp(1.0f, -11), one + 3 * std::ldexp(1.0f, -11), 65520.0f, -2.0f});
  auto in = elementwise(Opcode::DmaCopy, 4, Space::Sram, 0, DType::F16, Space::Dram, 0, DType::F32);
  kernels::execute(in, m.mem);
  EXPECT_EQ(m.get<uint16_t>(Space::Sram, 0, 4), (std::vector<uint16_t>{0x3C00, 0x3C02, 0x7C00, 0xC000}));
  m.put<float>(Space::Dram, 0, {one + std::ldexp(1.0f, -8), one + 3 * std::ldexp(1.0f, -8), -2.0f, 0.0f});
  in.d_type = t(DType::BF16);
  kernels::execute(in, m.mem);
  EXPECT_EQ(m.get<uint16_t>(Space::Sram, 0, 4), (std::vector<uint16_t>{0x3F80, 0x3F82, 0xC000, 0x0000}));
}

TEST(DmaCopy, StridedTranspose) {
  TestMem m;
  m.put<float>(Space::Sram, 0, {1, 2, 3, 4, 5, 6});  // 2x3 row-major
  auto in = elementwise(Opcode::DmaCopy, 3, Space::Dram, 0, DType::F32, Space::Sram, 0, DType::F32);
  in.n1 = 2;
  in.a_s0 = 1;
  in.a_s1 = 3;
  in.d_s0 = 2;
  in.d_s1 = 1;
  kernels::execute(in, m.mem);
  EXPECT_EQ(m.get<float>(Space::Dram, 0, 6), (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

TEST(DmaCopy, ZeroExtentsReadAsOne) {
  TestMem m;
  m.put<float>(Space::Sram, 0, {7});
  auto in = elementwise(Opcode::DmaCopy, 1, Space::Dram, 0, DType::F32, Space::Sram, 0, DType::F32);
  in.n1 = in.n2 = in.n3 = 0;
  kernels::execute(in, m.mem);
  EXPECT_EQ(m.get<float>(Space::Dram, 0, 1)[0], 7.0f);
}

TEST(DmaFill, FillsStridedRegionWithQuantizedAlpha) {
  TestMem m;
  auto in = elementwise(Opcode::DmaFill, 3, Space::Sram, 0, DType::I8, Space::Sram, 0, DType::I8);
  in.d_s0 = 2;
  in.alpha = 1.0f;
  in.d_scale = 0.5f;
  in.d_zp = 1;
  kernels::execute(in, m.mem);
  EXPECT_EQ(m.get<int8_t>(Space::Sram, 0, 6), (std::vector<int8_t>{3, 0, 3, 0, 3, 0}));
}

TEST(VpuUnary, EveryFunctionMatchesItsFormula) {
  const std::vector<float> xs{-2.5f, -0.5f, 0.0f, 0.3f, 1.5f, 2.5f, 7.0f};
  struct Case {
    Fn fn;
    float alpha, beta;
    double (*f)(double, double, double);
  };
  const Case cases[] = {
      {Fn::Copy, 0, 0, [](double x, double, double) { return x; }},
      {Fn::Relu, 0, 0, [](double x, double, double) { return x > 0 ? x : 0.0; }},
      {Fn::LeakyRelu, 0.1f, 0, [](double x, double a, double) { return x < 0 ? a * x : x; }},
      {Fn::Clip, -1.0f, 2.0f, [](double x, double a, double b) { return x < a ? a : (x > b ? b : x); }},
      {Fn::Sigmoid, 0, 0, [](double x, double, double) { return 1.0 / (1.0 + std::exp(-x)); }},
      {Fn::HardSigmoid, 0.2f, 0.5f, [](double x, double a, double b) { return std::max(0.0, std::min(1.0, a * x + b)); }},
      {Fn::HardSwish, 0, 0, [](double x, double, double) { return x * std::max(0.0, std::min(1.0, x / 6 + 0.5)); }},
      {Fn::Tanh, 0, 0, [](double x, double, double) { return std::tanh(x); }},
      {Fn::Erf, 0, 0, [](double x, double, double) { return std::erf(x); }},
      {Fn::Exp, 0, 0, [](double x, double, double) { return std::exp(x); }},
      {Fn::Sqrt, 0, 0, [](double x, double, double) { return std::sqrt(x); }},
      {Fn::Log, 0, 0, [](double x, double, double) { return std::log(x); }},
      {Fn::Recip, 0, 0, [](double x, double, double) { return 1.0 / x; }},
      {Fn::Neg, 0, 0, [](double x, double, double) { return -x; }},
      {Fn::Abs, 0, 0, [](double x, double, double) { return std::fabs(x); }},
      {Fn::Gelu, 0, 0, [](double x, double, double) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }},
      {Fn::Floor, 0, 0, [](double x, double, double) { return std::floor(x); }},
      {Fn::Ceil, 0, 0, [](double x, double, double) { return std::ceil(x); }},
  };
  for (const auto& c : cases) {
    TestMem m;
    m.put<float>(Space::Sram, 0, xs);
    auto in = elementwise(Opcode::VpuUnary, int64_t(xs.size()), Space::Sram, 256, DType::F32, Space::Sram, 0, DType::F32);
    in.fn = int64_t(c.fn);
    in.alpha = c.alpha;
    in.beta = c.beta;
    kernels::execute(in, m.mem);
    auto out = m.get<float>(Space::Sram, 256, xs.size());
    for (size_t i = 0; i < xs.size(); ++i) {
      double want = c.f(xs[i], c.alpha, c.beta);
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(out[i])) << "fn " << int(c.fn) << " x " << xs[i];
      } else if (std::isinf(want)) {
        EXPECT_EQ(double(out[i]), want) << "fn " << int(c.fn) << " x " << xs[i];
      } else {
        EXPECT_NEAR(out[i], want, 2e-6 * std::max(1.0, std::fabs(want))) << "fn " << int(c.fn) << " x " << xs[i];
      }
    }
  }
  // Round: half to even.
  TestMem m;
  m.put<float>(Space::Sram, 0, {2.5f, 3.5f, -2.5f, 0.49f});
  auto in = elementwise(Opcode::VpuUnary, 4, Space::Sram, 64, DType::F32, Space::Sram, 0, DType::F32);
  in.fn = int64_t(Fn::Round);
  kernels::execute(in, m.mem);
  EXPECT_EQ(m.get<float>(Space::Sram, 64, 4), (std::vector<float>{2, 4, -2, 0}));
}

TEST(VpuUnary, QuantizedReluInAndOut) {
  TestMem m;
  m.put<int8_t>(Space::Sram, 0, {-10, 0, 4, 20});
  auto in = elementwise(Opcode::VpuUnary, 4, Space::Sram, 64, DType::U8, Space::Sram, 0, DType::I8);
  in.fn = int64_t(Fn::Relu);
  in.a_scale = 0.5f;  // real = (x - 4) * 0.5 -> -7, -2, 0, 8
  in.a_zp = 4;
  in.d_scale = 0.25f;  // q = real / 0.25 + 10
  in.d_zp = 10;
  kernels::execute(in, m.mem);
  EXPECT_EQ(m.get<uint8_t>(Space::Sram, 64, 4), (std::vector<uint8_t>{10, 10, 10, 42}));
}

TEST(VpuBinary, BroadcastByZeroStride) {
  TestMem m;
  m.put<int8_t>(Space::Sram, 0, {2, 4, 6, -2, 0, 8});  // 2x3, scale 0.5
  m.put<float>(Space::Sram, 64, {10, 20, 30});
  auto in = elementwise(Opcode::VpuBinary, 3, Space::Sram, 128, DType::F32, Space::Sram, 0, DType::I8);
  in.n1 = 2;
  in.a_s1 = 3;
  in.a_scale = 0.5f;
  in.b_space = int64_t(Space::Sram);
  in.b_addr = 64;
  in.b_type = t(DType::F32);
  in.b_s0 = 1;
  in.b_s1 = 0;
  in.d_s1 = 3;
  in.fn = int64_t(Fn::Add);
  kernels::execute(in, m.mem);
  EXPECT_EQ(m.get<float>(Space::Sram, 128, 6), (std::vector<float>{11, 22, 33, 9, 20, 34}));
  in.fn = int64_t(Fn::PRelu);
  kernels::execute(in, m.mem);
  EXPECT_EQ(m.get<float>(Space::Sram, 128, 6), (std::vector<float>{1, 2, 3, -10, 0, 4}));
  in.fn = int64_t(Fn::Less);
  kernels::execute(in, m.mem);
  EXPECT_EQ(m.get<float>(Space::Sram, 128, 6), (std::vector<float>{1, 1, 1, 1, 1, 1}));
  in.fn = int64_t(Fn::Sub);
  kernels::execute(in, m.mem);
  EXPECT_EQ(m.get<float>(Space::Sram, 128, 6), (std::vector<float>{-9, -18, -27, -11, -20, -26}));
}

namespace {
isa::Instr requant_base() {
  auto in = elementwise(Opcode::VpuRequant, 4, Space::Sram, 0, DType::I8, Space::Acc, 0, DType::I32);
  in.c_space = int64_t(Space::Sram);
  in.c_addr = 256;
  in.c_dim = 0;
  in.b_addr = int64_t(isa::kNoAddr);
  in.mult = 3;
  in.shift = 4;
  in.d_zp = -1;
  return in;
}
}  // namespace

TEST(VpuRequant, IntegerPathPerTensor) {
  TestMem m;
  m.put<int32_t>(Space::Acc, 0, {100, -50, 37, 1000});
  m.put<int32_t>(Space::Sram, 256, {10, 20, -5, 0});
  auto in = requant_base();
  kernels::execute(in, m.mem);
  EXPECT_EQ(m.get<int8_t>(Space::Sram, 0, 4), (std::vector<int8_t>{20, -7, 5, 127}));
  in.fn = int64_t(Fn::Relu);
  kernels::execute(in, m.mem);
  EXPECT_EQ(m.get<int8_t>(Space::Sram, 0, 4), (std::vector<int8_t>{20, -1, 5, 127}));
  in.fn = int64_t(Fn::Clip);
  in.d_scale = 0.1f;
  in.alpha = 0.0f;
  in.beta = 0.6f;
  kernels::execute(in, m.mem);
  EXPECT_EQ(m.get<int8_t>(Space::Sram, 0, 4), (std::vector<int8_t>{5, -1, 5, 5}));
}

TEST(VpuRequant, IntegerPathPerChannelPairs) {
  TestMem m;
  m.put<int32_t>(Space::Acc, 0, {100, -50, 37, 1000});
  m.put<int32_t>(Space::Sram, 512, {3, 4, 1, 0, 2, 1, 1, 2});
  auto in = requant_base();
  in.c_addr = int64_t(isa::kNoAddr);
  in.b_space = int64_t(Space::Sram);
  in.b_addr = 512;
  in.d_type = t(DType::U8);
  in.d_zp = 0;
  kernels::execute(in, m.mem);
  EXPECT_EQ(m.get<uint8_t>(Space::Sram, 0, 4), (std::vector<uint8_t>{19, 0, 37, 250}));
}

// i64 accumulator (int8 mixed precision): i64 bias, (acc + bias) * M in 128 bits, i16 output.
TEST(VpuRequant, Int64AccumulatorTo16Bit) {
  TestMem m;
  const std::vector<int64_t> acc{int64_t(1) << 40, -(int64_t(3) << 33), 123456789, -5};
  const std::vector<int64_t> bias{7, 1ll << 36, -100, 0};
  m.put<int64_t>(Space::Acc, 0, acc);
  m.put<int64_t>(Space::Sram, 256, bias);
  auto in = requant_base();
  in.a_type = t(DType::I64);
  in.d_type = t(DType::I16);
  in.mult = 1 << 30;  // (acc + bias) * 2^30 needs more than 64 bits for the first elements
  in.shift = 60;
  in.d_zp = 3;
  kernels::execute(in, m.mem);
  std::vector<int16_t> want;
  for (size_t i = 0; i < acc.size(); ++i) {
    __int128 v = (__int128(acc[i]) + bias[i]) * in.mult;
    v = (v + (__int128(1) << 59)) >> 60;
    want.push_back(int16_t(std::clamp<int64_t>(int64_t(v) + 3, -32768, 32767)));
  }
  EXPECT_EQ(m.get<int16_t>(Space::Sram, 0, 4), want);
  EXPECT_EQ(want[0], 1024 + 3);
  // An i64 accumulator needs an integer destination.
  in.d_type = t(DType::F32);
  EXPECT_THROW(kernels::execute(in, m.mem), Error);
}

TEST(DmaCopy, Int16QuantizeAndDequantize) {
  TestMem m;
  m.put<float>(Space::Sram, 0, {0.5f, -1000.f, 1000.f, 0.00025f});
  auto in = elementwise(Opcode::DmaCopy, 4, Space::Sram, 64, DType::I16, Space::Sram, 0, DType::F32);
  in.d_scale = 0.001f;
  in.d_zp = 10;
  kernels::execute(in, m.mem);
  EXPECT_EQ(m.get<int16_t>(Space::Sram, 64, 4), (std::vector<int16_t>{510, -32768, 32767, 10}));
  auto back = elementwise(Opcode::DmaCopy, 4, Space::Sram, 128, DType::F32, Space::Sram, 64, DType::I16);
  back.a_scale = 0.001f;
  back.a_zp = 10;
  kernels::execute(back, m.mem);
  auto f = m.get<float>(Space::Sram, 128, 4);
  EXPECT_FLOAT_EQ(f[0], 0.5f);
  EXPECT_FLOAT_EQ(f[1], float(-32778) * 0.001f);
}

TEST(VpuRequant, ChannelIndexFromOuterDimension) {
  TestMem m;
  m.put<int32_t>(Space::Acc, 0, {1, 2, 3, 4, 5, 6});  // 2 channels (dim 1) x 3
  m.put<int32_t>(Space::Sram, 256, {100, -100});
  auto in = requant_base();
  in.n0 = 3;
  in.n1 = 2;
  in.a_s1 = 3;
  in.d_s1 = 3;
  in.c_dim = 1;
  in.mult = 1;
  in.shift = 0;
  in.d_zp = 0;
  kernels::execute(in, m.mem);
  EXPECT_EQ(m.get<int8_t>(Space::Sram, 0, 6), (std::vector<int8_t>{101, 102, 103, -96, -95, -94}));
}

TEST(VpuRequant, FloatPath) {
  TestMem m;
  m.put<float>(Space::Acc, 0, {1.5f, -2.0f, 0.25f});
  m.put<float>(Space::Sram, 256, {0.5f, 0.5f, 0.5f});
  auto in = elementwise(Opcode::VpuRequant, 3, Space::Sram, 0, DType::I8, Space::Acc, 0, DType::F32);
  in.c_space = int64_t(Space::Sram);
  in.c_addr = 256;
  in.a_scale = 2.0f;
  in.fn = int64_t(Fn::Relu);
  in.d_scale = 0.5f;
  kernels::execute(in, m.mem);
  EXPECT_EQ(m.get<int8_t>(Space::Sram, 0, 3), (std::vector<int8_t>{8, 0, 3}));
}

TEST(VpuReduce, AllFunctionsOverDimensionZero) {
  struct Case {
    Fn fn;
    std::vector<float> want;
  };
  for (const auto& c : {Case{Fn::Sum, {10, 6}}, Case{Fn::Mean, {2.5f, 1.5f}}, Case{Fn::RMax, {4, 5}},
                        Case{Fn::RMin, {1, -1}}, Case{Fn::SumSq, {30, 30}}}) {
    TestMem m;
    m.put<float>(Space::Sram, 0, {1, 2, 3, 4, -1, 5, 0, 2});
    auto in = elementwise(Opcode::VpuReduce, 4, Space::Sram, 256, DType::F32, Space::Sram, 0, DType::F32);
    in.n1 = 2;
    in.a_s1 = 4;
    in.d_s1 = 1;
    in.fn = int64_t(c.fn);
    kernels::execute(in, m.mem);
    EXPECT_EQ(m.get<float>(Space::Sram, 256, 2), c.want) << "fn " << int(c.fn);
  }
}

namespace {
isa::Instr pool_4x4(Fn fn, int64_t out, int64_t k, int64_t stride, int64_t pad) {
  auto in = elementwise(Opcode::VpuPool, out, Space::Sram, 256, DType::F32, Space::Sram, 0, DType::F32);
  in.n1 = out;
  in.n2 = 1;
  in.fn = int64_t(fn);
  in.a_s0 = 1;
  in.a_s1 = 4;
  in.a_s2 = 16;
  in.in_h = in.in_w = 4;
  in.k_h = in.k_w = k;
  in.st_h = in.st_w = stride;
  in.pad_t = in.pad_l = in.pad_b = in.pad_r = pad;
  in.d_s0 = 1;
  in.d_s1 = out;
  in.d_s2 = out * out;
  return in;
}
}  // namespace

TEST(VpuPool, MaxAndAverageWithPadding) {
  TestMem m;
  std::vector<float> x(16);
  for (int i = 0; i < 16; ++i) x[size_t(i)] = float(i);
  m.put<float>(Space::Sram, 0, x);
  kernels::execute(pool_4x4(Fn::MaxPool, 2, 2, 2, 0), m.mem);
  EXPECT_EQ(m.get<float>(Space::Sram, 256, 4), (std::vector<float>{5, 7, 13, 15}));
  kernels::execute(pool_4x4(Fn::AvgPool, 4, 3, 1, 1), m.mem);
  auto avg = m.get<float>(Space::Sram, 256, 16);
  EXPECT_FLOAT_EQ(avg[0], 10.0f / 4);   // corner: 0,1,4,5 in range
  EXPECT_FLOAT_EQ(avg[5], 45.0f / 9);   // interior (1,1)
  EXPECT_FLOAT_EQ(avg[15], (10 + 11 + 14 + 15) / 4.0f);
  auto counted = pool_4x4(Fn::AvgPool, 4, 3, 1, 1);
  counted.beta = 1;  // count padding
  kernels::execute(counted, m.mem);
  EXPECT_FLOAT_EQ(m.get<float>(Space::Sram, 256, 1)[0], 10.0f / 9);
  // Dilation 2, kernel 2: output (0,0) covers (0,0),(0,2),(2,0),(2,2).
  auto dil = pool_4x4(Fn::MaxPool, 1, 2, 1, 0);
  dil.dl_h = dil.dl_w = 2;
  kernels::execute(dil, m.mem);
  EXPECT_EQ(m.get<float>(Space::Sram, 256, 1)[0], 10.0f);
}

TEST(Execute, AccessOutsideMemoryIsAFaultNamingOpcodeOperandAndAddress) {
  TestMem m(4096);
  auto in = elementwise(Opcode::DmaCopy, 16, Space::Sram, 0, DType::F32, Space::Dram, 4090, DType::F32);
  try {
    kernels::execute(in, m.mem);
    FAIL() << "expected a fault";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Fault);
    std::string msg = e.what();
    EXPECT_NE(msg.find("dma.copy"), std::string::npos) << msg;
    EXPECT_NE(msg.find("operand a"), std::string::npos) << msg;
    EXPECT_NE(msg.find("dram"), std::string::npos) << msg;
    EXPECT_NE(msg.find("0xffa"), std::string::npos) << msg;
  }
  // Negative strides reaching below address 0 fault too.
  auto neg = elementwise(Opcode::VpuUnary, 4, Space::Sram, 0, DType::F32, Space::Sram, 4, DType::F32);
  neg.a_s0 = -1;
  EXPECT_THROW(kernels::execute(neg, m.mem), Error);
}
