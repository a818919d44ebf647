// Speed of the matrix-unit kernel: a ResNet-50-like 3x3 conv tile (int8 and f32), fast path
// vs generic loop. Prints GMAC/s.
#include <chrono>
#include <cstring>
#include <cstdio>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "models/kernels/conv.h"

using namespace cardsim;

static double run(bool fast, DType type, int64_t hw, int64_t cin, int64_t cout, int64_t k, int reps) {
  std::vector<uint8_t> sram(size_t(8) << 20), acc(size_t(4) << 20);
  std::mt19937 rng(1);
  if (dtype_is_float(type)) {  // normal floats (denormals would measure the FPU's slow path)
    std::uniform_real_distribution<float> d(-1, 1);
    for (size_t i = 0; i + 4 <= sram.size(); i += 4) {
      float v = d(rng);
      if (type == DType::F32) std::memcpy(&sram[i], &v, 4);
      else { uint16_t h = f32_to_f16(v); std::memcpy(&sram[i], &h, 2); uint16_t h2 = f32_to_f16(d(rng)); std::memcpy(&sram[i + 2], &h2, 2); }
    }
  } else {
    for (auto& b : sram) b = uint8_t(rng());
  }
  kernels::Memories mem;
  mem.base[2] = sram.data();
  mem.size[2] = sram.size();
  mem.base[3] = acc.data();
  mem.size[3] = acc.size();
  isa::Instr in;
  in.op = isa::Opcode::MxuConv;
  in.a_space = in.b_space = int64_t(isa::Space::Sram);
  in.d_space = int64_t(isa::Space::Acc);
  in.a_type = in.b_type = int64_t(type);
  const int64_t es = int64_t(dtype_size(type));
  in.a_s0 = 1; in.a_s2 = cin; in.a_s1 = hw * cin;
  in.b_addr = (hw * hw * cin * es + 4095) / 4096 * 4096;
  in.b_s0 = cin * k * k; in.b_s1 = k * k; in.b_s2 = k; in.b_s3 = 1;
  in.d_s0 = 1; in.d_s1 = cout;
  in.in_c = cin; in.in_h = in.in_w = hw; in.out_c = cout; in.out_h = in.out_w = hw;
  in.k_h = in.k_w = k; in.pad_t = in.pad_l = k / 2;
  in.a_zp = 3;
  auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) {
    if (fast) kernels::mxu_conv(in, mem);
    else kernels::mxu_conv_generic(in, mem);
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double macs = double(hw * hw * cout * cin * k * k) * reps;
  return macs / s / 1e9;
}

int main() {
  std::printf("conv 28x28x128->128 3x3 int8 fast:    %.2f GMAC/s\n", run(true, DType::I8, 28, 128, 128, 3, 5));
  std::printf("conv 28x28x128->128 3x3 f32  fast:    %.2f GMAC/s\n", run(true, DType::F32, 28, 128, 128, 3, 3));
  std::printf("conv 28x28x128->128 3x3 f16  fast:    %.2f GMAC/s\n", run(true, DType::F16, 28, 128, 128, 3, 3));
  std::printf("conv 56x56x64->256 1x1 int8 fast:     %.2f GMAC/s\n", run(true, DType::I8, 56, 64, 256, 1, 5));
  std::printf("conv 14x14x256->256 3x3 int8 generic: %.2f GMAC/s\n", run(false, DType::I8, 14, 256, 256, 3, 1));
  return 0;
}
