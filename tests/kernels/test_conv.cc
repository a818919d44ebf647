// mxu.conv against hand calculation, an independent naive convolution, and the fast paths
// against the generic ISA loop (bit-identical) on random shapes.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "core/error.h"
#include "kernel_test_util.h"
#include "models/kernels/conv.h"

using namespace cardsim;
using namespace cardsim::test;
using isa::Opcode;
using isa::Space;

namespace {

struct ConvCase {
  int64_t in_c, in_h, in_w, out_c, k_h, k_w, st_h, st_w, dl_h, dl_w, pad_t, pad_l;
  int64_t out_h() const { return (in_h + 2 * pad_t - dl_h * (k_h - 1) - 1) / st_h + 1; }
  int64_t out_w() const { return (in_w + 2 * pad_l - dl_w * (k_w - 1) - 1) / st_w + 1; }
};

// A in SRAM at 0 as HWC; B in SRAM at b_addr as OIHW; ACC at 0 as [pixel][co].
isa::Instr conv_instr(const ConvCase& c, DType at, DType bt, uint64_t b_addr) {
  isa::Instr in;
  in.op = Opcode::MxuConv;
  in.a_space = int64_t(Space::Sram);
  in.a_addr = 0;
  in.a_type = t(at);
  in.a_s0 = 1;
  in.a_s2 = c.in_c;
  in.a_s1 = c.in_w * c.in_c;
  in.b_space = int64_t(Space::Sram);
  in.b_addr = int64_t(b_addr);
  in.b_type = t(bt);
  in.b_s0 = c.in_c * c.k_h * c.k_w;
  in.b_s1 = c.k_h * c.k_w;
  in.b_s2 = c.k_w;
  in.b_s3 = 1;
  in.d_space = int64_t(Space::Acc);
  in.d_addr = 0;
  in.d_type = t(dtype_is_integer(at) ? DType::I32 : DType::F32);
  in.d_s0 = 1;
  in.d_s1 = c.out_c;
  in.in_c = c.in_c; in.in_h = c.in_h; in.in_w = c.in_w;
  in.out_c = c.out_c; in.out_h = c.out_h(); in.out_w = c.out_w();
  in.k_h = c.k_h; in.k_w = c.k_w; in.st_h = c.st_h; in.st_w = c.st_w;
  in.dl_h = c.dl_h; in.dl_w = c.dl_w; in.pad_t = c.pad_t; in.pad_l = c.pad_l;
  return in;
}

// Independent reference: NCHW-style indexing on plain arrays, int64 sums.
std::vector<int64_t> naive_int_conv(const ConvCase& c, const std::vector<int>& x /*HWC*/, const std::vector<int>& w /*OIHW*/,
                                    int azp, int bzp) {
  std::vector<int64_t> out(size_t(c.out_h() * c.out_w() * c.out_c), 0);
  for (int64_t oy = 0; oy < c.out_h(); ++oy)
    for (int64_t ox = 0; ox < c.out_w(); ++ox)
      for (int64_t o = 0; o < c.out_c; ++o) {
        int64_t s = 0;
        for (int64_t i = 0; i < c.in_c; ++i)
          for (int64_t ky = 0; ky < c.k_h; ++ky)
            for (int64_t kx = 0; kx < c.k_w; ++kx) {
              int64_t y = oy * c.st_h + ky * c.dl_h - c.pad_t, xx = ox * c.st_w + kx * c.dl_w - c.pad_l;
              if (y < 0 || y >= c.in_h || xx < 0 || xx >= c.in_w) continue;
              s += int64_t(x[size_t((y * c.in_w + xx) * c.in_c + i)] - azp) *
                   (w[size_t(((o * c.in_c + i) * c.k_h + ky) * c.k_w + kx)] - bzp);
            }
        out[size_t((oy * c.out_w() + ox) * c.out_c + o)] = s;
      }
  return out;
}

}  // namespace

TEST(MxuConv, HandComputed2x2Kernel) {
  TestMem m;
  ConvCase c{1, 3, 3, 1, 2, 2, 1, 1, 1, 1, 0, 0};
  m.put<int8_t>(Space::Sram, 0, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  m.put<int8_t>(Space::Sram, 1024, {1, 2, 3, 4});
  auto in = conv_instr(c, DType::I8, DType::I8, 1024);
  kernels::execute(in, m.mem);
  EXPECT_EQ(m.get<int32_t>(Space::Acc, 0, 4), (std::vector<int32_t>{37, 47, 67, 77}));
  in.acc = 1;  // accumulate: doubles
  kernels::execute(in, m.mem);
  EXPECT_EQ(m.get<int32_t>(Space::Acc, 0, 4), (std::vector<int32_t>{74, 94, 134, 154}));
  kernels::mxu_conv_generic(in, m.mem);
  EXPECT_EQ(m.get<int32_t>(Space::Acc, 0, 4), (std::vector<int32_t>{111, 141, 201, 231}));
}

TEST(MxuConv, ZeroPointsPaddingStrideDilationAgainstNaive) {
  std::mt19937 rng(7);
  const ConvCase cases[] = {
      {3, 7, 6, 5, 3, 3, 1, 1, 1, 1, 1, 1},  // same padding
      {4, 9, 9, 6, 3, 3, 2, 2, 1, 1, 1, 1},  // stride 2
      {2, 8, 7, 3, 3, 2, 1, 2, 2, 1, 2, 0},  // dilation, asymmetric
      {16, 1, 1, 10, 1, 1, 1, 1, 1, 1, 0, 0},  // matmul (1x1)
      {5, 6, 6, 7, 1, 1, 2, 2, 1, 1, 0, 0},  // strided 1x1
  };
  for (const auto& c : cases) {
    for (bool u8 : {false, true}) {
      TestMem m(1 << 18);
      std::uniform_int_distribution<int> dx(u8 ? 0 : -128, u8 ? 255 : 127), dw(-128, 127);
      std::vector<int> x(size_t(c.in_h * c.in_w * c.in_c)), w(size_t(c.out_c * c.in_c * c.k_h * c.k_w));
      for (auto& v : x) v = dx(rng);
      for (auto& v : w) v = dw(rng);
      const int azp = u8 ? 128 : -3, bzp = 2;
      for (size_t i = 0; i < x.size(); ++i) m.bytes[2][i] = uint8_t(x[i]);
      for (size_t i = 0; i < w.size(); ++i) m.bytes[2][65536 + i] = uint8_t(w[i]);
      auto in = conv_instr(c, u8 ? DType::U8 : DType::I8, DType::I8, 65536);
      in.a_zp = azp;
      in.b_zp = bzp;
      auto want = naive_int_conv(c, x, w, azp, bzp);
      ASSERT_TRUE(kernels::mxu_conv_has_fast_path(in));
      kernels::mxu_conv(in, m.mem);
      auto fast = m.get<int32_t>(Space::Acc, 0, want.size());
      kernels::mxu_conv_generic(in, m.mem);
      auto gen = m.get<int32_t>(Space::Acc, 0, want.size());
      for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_EQ(fast[i], want[i]) << "fast, element " << i << " case in_c " << c.in_c << " u8 " << u8;
        ASSERT_EQ(gen[i], want[i]) << "generic, element " << i;
      }
    }
  }
}

// int8 mixed precision: i16 activations with i16 or i8 weights accumulate in int64 when
// d_type = i64 (sums far beyond int32 here), 8-byte accumulator elements, acc = 1 adds.
TEST(MxuConv, Int16OperandsAccumulateInInt64) {
  std::mt19937 rng(16);
  const ConvCase c{6, 7, 6, 5, 3, 3, 1, 1, 1, 1, 1, 1};
  for (DType bt : {DType::I16, DType::I8}) {
    TestMem m(1 << 18);
    const int wmax = bt == DType::I16 ? 32767 : 127;
    std::uniform_int_distribution<int> dx(-32768, 32767), dw(-wmax, wmax);
    std::vector<int> x(size_t(c.in_h * c.in_w * c.in_c)), w(size_t(c.out_c * c.in_c * c.k_h * c.k_w));
    for (auto& v : x) v = dx(rng);
    for (auto& v : w) v = dw(rng);
    for (size_t i = 0; i < x.size(); ++i) {
      int16_t v = int16_t(x[i]);
      std::memcpy(&m.bytes[2][2 * i], &v, 2);
    }
    for (size_t i = 0; i < w.size(); ++i) {
      if (bt == DType::I16) {
        int16_t v = int16_t(w[i]);
        std::memcpy(&m.bytes[2][65536 + 2 * i], &v, 2);
      } else {
        m.bytes[2][65536 + i] = uint8_t(int8_t(w[i]));
      }
    }
    auto in = conv_instr(c, DType::I16, bt, 65536);
    in.d_type = t(DType::I64);
    in.a_zp = 1000;
    auto want = naive_int_conv(c, x, w, 1000, 0);
    bool beyond_int32 = false;
    for (auto v : want) beyond_int32 = beyond_int32 || v > INT32_MAX || v < INT32_MIN;
    EXPECT_EQ(beyond_int32, bt == DType::I16) << "the case should need more than 32 bits with i16 weights";
    EXPECT_TRUE(kernels::mxu_conv_has_fast_path(in));
    kernels::execute(in, m.mem);  // the fast path
    EXPECT_EQ(m.get<int64_t>(Space::Acc, 0, want.size()), want);
    in.acc = 1;
    kernels::execute(in, m.mem);
    auto twice = m.get<int64_t>(Space::Acc, 0, want.size());
    for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(twice[i], 2 * want[i]) << "element " << i;
    in.acc = 0;
    kernels::mxu_conv_generic(in, m.mem);  // the ISA loop agrees
    EXPECT_EQ(m.get<int64_t>(Space::Acc, 0, want.size()), want);
  }
}

TEST(MxuConv, FloatAgainstNaiveDouble) {
  ConvCase c{3, 6, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1};
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> d(-1, 1);
  TestMem m(1 << 18);
  std::vector<float> x(size_t(c.in_h * c.in_w * c.in_c)), w(size_t(c.out_c * c.in_c * c.k_h * c.k_w));
  for (auto& v : x) v = d(rng);
  for (auto& v : w) v = d(rng);
  m.put<float>(Space::Sram, 0, x);
  m.put<float>(Space::Sram, 65536, w);
  auto in = conv_instr(c, DType::F32, DType::F32, 65536);
  kernels::execute(in, m.mem);
  auto got = m.get<float>(Space::Acc, 0, size_t(c.out_h() * c.out_w() * c.out_c));
  for (int64_t oy = 0; oy < c.out_h(); ++oy)
    for (int64_t ox = 0; ox < c.out_w(); ++ox)
      for (int64_t o = 0; o < c.out_c; ++o) {
        double s = 0;
        for (int64_t i = 0; i < c.in_c; ++i)
          for (int64_t ky = 0; ky < 3; ++ky)
            for (int64_t kx = 0; kx < 3; ++kx) {
              int64_t y = oy + ky - 1, xx = ox + kx - 1;
              if (y < 0 || y >= c.in_h || xx < 0 || xx >= c.in_w) continue;
              s += double(x[size_t((y * c.in_w + xx) * c.in_c + i)]) * w[size_t(((o * c.in_c + i) * 3 + ky) * 3 + kx)];
            }
        EXPECT_NEAR(got[size_t((oy * c.out_w() + ox) * c.out_c + o)], s, 1e-5);
      }
}

TEST(MxuConv, FastPathBitIdenticalToGenericOnRandomShapes) {
  std::mt19937 rng(11);
  auto r = [&](int lo, int hi) { return int64_t(std::uniform_int_distribution<int>(lo, hi)(rng)); };
  const DType types[][2] = {{DType::I8, DType::I8}, {DType::U8, DType::I8}, {DType::F32, DType::F32},
                            {DType::F16, DType::F16}, {DType::BF16, DType::BF16}};
  for (int iter = 0; iter < 40; ++iter) {
    ConvCase c{r(1, 9), r(1, 9), r(1, 9), r(1, 40), r(1, 3), r(1, 3), r(1, 2), r(1, 2), r(1, 2), r(1, 2), r(0, 2), r(0, 2)};
    if (c.out_h() <= 0 || c.out_w() <= 0) continue;
    const auto& ty = types[iter % 5];
    TestMem m(1 << 18);
    std::uniform_int_distribution<int> byte(0, 255);
    for (size_t i = 0; i < 65536 + 20000; ++i) m.bytes[2][i] = uint8_t(byte(rng));
    if (dtype_is_float(ty[0])) {  // keep floats finite: random small values
      std::uniform_real_distribution<float> d(-2, 2);
      for (size_t i = 0; i < 20000; ++i) {
        float v = d(rng), u = d(rng);
        if (ty[0] == DType::F32) {
          std::memcpy(&m.bytes[2][4 * i], &v, 4);
          if (4 * i < 20000) std::memcpy(&m.bytes[2][65536 + 4 * i], &u, 4);
        } else {
          uint16_t hv = ty[0] == DType::F16 ? f32_to_f16(v) : f32_to_bf16(v);
          uint16_t hu = ty[0] == DType::F16 ? f32_to_f16(u) : f32_to_bf16(u);
          if (2 * i + 2 <= 65536) std::memcpy(&m.bytes[2][2 * i], &hv, 2);
          if (2 * i + 2 <= 20000) std::memcpy(&m.bytes[2][65536 + 2 * i], &hu, 2);
        }
      }
    }
    auto in = conv_instr(c, ty[0], ty[1], 65536);
    if (dtype_is_integer(ty[0])) {
      in.a_zp = r(-5, 5);
      in.b_zp = r(-5, 5);
    }
    in.acc = iter % 3 == 0;
    // ACC starts with the same random contents for both runs.
    const size_t nacc = size_t(c.out_h() * c.out_w() * c.out_c);
    std::vector<uint8_t> acc0(nacc * 4);
    for (auto& b : acc0) b = uint8_t(byte(rng) & 0x3f);  // small finite floats / ints
    std::memcpy(m.bytes[3].data(), acc0.data(), acc0.size());
    ASSERT_TRUE(kernels::mxu_conv_has_fast_path(in));
    kernels::mxu_conv(in, m.mem);
    auto fast = m.get<uint32_t>(Space::Acc, 0, nacc);
    std::memcpy(m.bytes[3].data(), acc0.data(), acc0.size());
    kernels::mxu_conv_generic(in, m.mem);
    auto gen = m.get<uint32_t>(Space::Acc, 0, nacc);
    ASSERT_EQ(fast, gen) << "iteration " << iter << " type " << dtype_name(ty[0]) << " in_c " << c.in_c << " out_c "
                         << c.out_c << " k " << c.k_h << "x" << c.k_w;
  }
}

TEST(MxuConv, MixedIntegerAndFloatOperandsAreRejected) {
  TestMem m;
  ConvCase c{1, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0};
  auto in = conv_instr(c, DType::I8, DType::F32, 1024);
  EXPECT_THROW(kernels::execute(in, m.mem), Error);
}

TEST(MxuConv, WeightOutsideSramFaults) {
  TestMem m(4096);
  ConvCase c{8, 4, 4, 8, 3, 3, 1, 1, 1, 1, 1, 1};
  auto in = conv_instr(c, DType::I8, DType::I8, 4000);
  try {
    kernels::execute(in, m.mem);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Fault);
    EXPECT_NE(std::string(e.what()).find("operand b"), std::string::npos) << e.what();
  }
}

TEST(MxuConv, FastPathWithChwInputAndTransposedAccumulator) {
  // A stored CHW (a_s0 = H*W, a_s1 = W, a_s2 = 1), B stored [kh][kw][ci][co], ACC as
  // [co][pixel] (d_s0 = pixels, d_s1 = 1): exercises the strided gathers and ACC rows.
  std::mt19937 rng(5);
  for (int iter = 0; iter < 12; ++iter) {
    const DType ty = iter % 3 == 0 ? DType::F32 : (iter % 3 == 1 ? DType::I8 : DType::U8);
    ConvCase c{int64_t(1 + rng() % 7), int64_t(2 + rng() % 6), int64_t(2 + rng() % 6), int64_t(1 + rng() % 21),
               3, 3, 1, 1, 1, 1, 1, 1};
    TestMem m(1 << 18);
    auto in = conv_instr(c, ty, ty == DType::U8 ? DType::I8 : ty, 65536);
    in.a_s0 = c.in_h * c.in_w;
    in.a_s1 = c.in_w;
    in.a_s2 = 1;
    in.b_s3 = c.in_c * c.out_c;        // kw
    in.b_s2 = 3 * c.in_c * c.out_c;    // kh
    in.b_s1 = c.out_c;                 // ci
    in.b_s0 = 1;                       // co
    const int64_t P = c.out_h() * c.out_w();
    in.d_s0 = P;
    in.d_s1 = 1;
    in.acc = iter % 2;
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_real_distribution<float> d(-1, 1);
    for (size_t i = 0; i < 65536 + 20000; i += 4) {
      if (ty == DType::F32) {
        float v = d(rng);
        std::memcpy(&m.bytes[2][i], &v, 4);
      } else {
        for (int k = 0; k < 4; ++k) m.bytes[2][i + size_t(k)] = uint8_t(byte(rng));
      }
    }
    in.a_zp = dtype_is_integer(ty) ? 3 : 0;
    const size_t nacc = size_t(P * c.out_c);
    std::vector<uint8_t> acc0(nacc * 4, 0);
    for (size_t i = 0; i < nacc; ++i) {
      float f = d(rng);
      int32_t v = int32_t(byte(rng)) - 128;
      if (ty == DType::F32) std::memcpy(&acc0[4 * i], &f, 4);
      else std::memcpy(&acc0[4 * i], &v, 4);
    }
    std::memcpy(m.bytes[3].data(), acc0.data(), acc0.size());
    kernels::mxu_conv(in, m.mem);
    auto fast = m.get<uint32_t>(Space::Acc, 0, nacc);
    std::memcpy(m.bytes[3].data(), acc0.data(), acc0.size());
    kernels::mxu_conv_generic(in, m.mem);
    auto gen = m.get<uint32_t>(Space::Acc, 0, nacc);
    ASSERT_EQ(fast, gen) << "iteration " << iter << " type " << dtype_name(ty);
  }
}
