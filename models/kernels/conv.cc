// mxu.conv: implicit-GEMM convolution of one tile into the accumulator.
// The fast paths gather a block of output pixels' input windows into a contiguous im2col
// block (k = (ci*k_h + kh)*k_w + kw, the ISA's ci-major order) and run a tight loop over
// out_c against weights packed per instruction as [k][co]. Float sums keep the exact
// per-element order of the generic loop (and FP contraction is off for this library), so
// both paths give bit-identical results.
#include "models/kernels/conv.h"

#include <cstdlib>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "models/kernels/operand.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(CARDSIM_NO_CLONES)
#define CARDSIM_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CARDSIM_CLONES
#endif

namespace cardsim::kernels {
namespace {

using detail::Operand;

struct ConvShape {
  int64_t in_c, in_h, in_w, out_h, out_w, out_c, k_h, k_w, st_h, st_w, dl_h, dl_w, pad_t, pad_l;
  int64_t K() const { return in_c * k_h * k_w; }
  int64_t pixels() const { return out_h * out_w; }
};

ConvShape shape_of(const isa::Instr& in) {
  auto one = [](int64_t v) { return v <= 0 ? int64_t(1) : v; };
  return ConvShape{one(in.in_c), one(in.in_h), one(in.in_w), one(in.out_h), one(in.out_w), one(in.out_c),
                   one(in.k_h),  one(in.k_w),  one(in.st_h), one(in.st_w),  one(in.dl_h),  one(in.dl_w),
                   in.pad_t,     in.pad_l};
}

// Operands bound and bounds-checked. The accumulator operand is i32 / f32 (4-byte elements),
// or i64 (8-byte) when d_type says so: 16-bit integer operands (int8 mixed precision) need
// more than 32 bits (a 16 x 16-bit product alone takes 31).
struct Bound {
  ConvShape sh;
  Operand a, b, acc;
  bool integer;
  bool wide;  // i64 accumulator
};

Bound bind(const isa::Instr& in, Memories& mem) {
  Bound r;
  r.sh = shape_of(in);
  r.a = detail::operand_a(in);
  r.b = detail::operand_b(in);
  const bool ai = dtype_is_integer(r.a.type), bi = dtype_is_integer(r.b.type);
  if (ai != bi)
    fail(ErrorKind::Unsupported, "mxu.conv (layer {}): a_type {} and b_type {} mix integer and float",
         in.layer, dtype_name(r.a.type), dtype_name(r.b.type));
  r.integer = ai;
  r.acc.name = 'd';
  r.acc.space = isa::Space(in.d_space & 3);
  r.wide = r.integer && DType(uint8_t(in.d_type)) == DType::I64;
  r.acc.addr = uint64_t(in.d_addr) & ~uint64_t(r.wide ? 7 : 3);
  r.acc.type = r.wide ? DType::I64 : r.integer ? DType::I32 : DType::F32;
  r.acc.esize = r.wide ? 8 : 4;
  r.acc.s[0] = in.d_s0;
  r.acc.s[1] = in.d_s1;
  const ConvShape& s = r.sh;
  int64_t an[4] = {s.in_c, s.in_h, s.in_w, 1};
  int64_t bn[4] = {s.out_c, s.in_c, s.k_h, s.k_w};
  int64_t dn[4] = {s.out_c, s.pixels(), 1, 1};
  // a strides: a_s0 = ci, a_s1 = ih, a_s2 = iw (the operand helper uses s[0..3] in that order)
  detail::check_and_bind(r.a, an, in, mem);
  detail::check_and_bind(r.b, bn, in, mem);
  detail::check_and_bind(r.acc, dn, in, mem);
  return r;
}

template <typename Acc>
void generic_impl(const isa::Instr& in, const Bound& r) {
  const ConvShape& s = r.sh;
  const int64_t ea = int64_t(r.a.esize), eb = int64_t(r.b.esize);
  for (int64_t oh = 0; oh < s.out_h; ++oh)
    for (int64_t ow = 0; ow < s.out_w; ++ow)
      for (int64_t co = 0; co < s.out_c; ++co) {
        uint8_t* accp = r.acc.base + ((oh * s.out_w + ow) * r.acc.s[1] + co * r.acc.s[0]) * int64_t(sizeof(Acc));
        Acc sum = 0;
        if (in.acc) std::memcpy(&sum, accp, sizeof(Acc));
        for (int64_t ci = 0; ci < s.in_c; ++ci)
          for (int64_t kh = 0; kh < s.k_h; ++kh)
            for (int64_t kw = 0; kw < s.k_w; ++kw) {
              const int64_t ih = oh * s.st_h - s.pad_t + kh * s.dl_h;
              const int64_t iw = ow * s.st_w - s.pad_l + kw * s.dl_w;
              const uint8_t* wp = r.b.base + (co * r.b.s[0] + ci * r.b.s[1] + kh * r.b.s[2] + kw * r.b.s[3]) * eb;
              if constexpr (std::is_same_v<Acc, int32_t>) {
                int32_t x = 0;
                if (ih >= 0 && ih < s.in_h && iw >= 0 && iw < s.in_w)
                  x = int32_t(detail::load_int(r.a.base + (ci * r.a.s[0] + ih * r.a.s[1] + iw * r.a.s[2]) * ea,
                                               r.a.type)) - r.a.zp;
                int32_t w = int32_t(detail::load_int(wp, r.b.type)) - r.b.zp;
                sum = int32_t(uint32_t(sum) + uint32_t(x) * uint32_t(w));  // int32, wrapping
              } else if constexpr (std::is_same_v<Acc, int64_t>) {
                int64_t x = 0;
                if (ih >= 0 && ih < s.in_h && iw >= 0 && iw < s.in_w)
                  x = detail::load_int(r.a.base + (ci * r.a.s[0] + ih * r.a.s[1] + iw * r.a.s[2]) * ea, r.a.type) - r.a.zp;
                int64_t w = detail::load_int(wp, r.b.type) - r.b.zp;
                sum = int64_t(uint64_t(sum) + uint64_t(x) * uint64_t(w));  // int64, wrapping
              } else {
                float x = 0;
                if (ih >= 0 && ih < s.in_h && iw >= 0 && iw < s.in_w)
                  x = detail::load_raw(r.a.base + (ci * r.a.s[0] + ih * r.a.s[1] + iw * r.a.s[2]) * ea, r.a.type) -
                      float(r.a.zp);
                float w = detail::load_raw(wp, r.b.type) - float(r.b.zp);
                float p = x * w;
                sum = sum + p;
              }
            }
        std::memcpy(accp, &sum, sizeof(Acc));
      }
}

constexpr int kPixelBlock = 4;

// s[p][co] += x[p][k] * w[k][co] for a block of kPixelBlock pixels. Integer: Acc = int32 for
// int16 operands (int32 wrapping accumulators), Acc = int64 for the 16-bit operands of int8
// mixed precision (X = int32: x - zp can exceed int16; exact int64 products and sums); GCC
// multiversions each instantiation. Float (f32, no contraction) below.
template <typename Acc, typename X>
CARDSIM_CLONES void block_kernel_int(Acc* __restrict s, const X* __restrict x, const X* __restrict w, int64_t K,
                                     int64_t N) {
  Acc* __restrict s0 = s;
  Acc* __restrict s1 = s + N;
  Acc* __restrict s2 = s + 2 * N;
  Acc* __restrict s3 = s + 3 * N;
  for (int64_t k = 0; k < K; ++k) {
    const Acc x0 = x[k], x1 = x[K + k], x2 = x[2 * K + k], x3 = x[3 * K + k];
    if ((x0 | x1 | x2 | x3) == 0) continue;  // padding / zero activations: exact to skip
    const X* __restrict wk = w + k * N;
    for (int64_t co = 0; co < N; ++co) {
      const Acc wv = wk[co];
      s0[co] += x0 * wv;
      s1[co] += x1 * wv;
      s2[co] += x2 * wv;
      s3[co] += x3 * wv;
    }
  }
}

CARDSIM_CLONES
void block_kernel_f32(float* __restrict s, const float* __restrict x, const float* __restrict w, int64_t K,
                      int64_t N) {
  float* __restrict s0 = s;
  float* __restrict s1 = s + N;
  float* __restrict s2 = s + 2 * N;
  float* __restrict s3 = s + 3 * N;
  for (int64_t k = 0; k < K; ++k) {
    const float x0 = x[k], x1 = x[K + k], x2 = x[2 * K + k], x3 = x[3 * K + k];
    const float* __restrict wk = w + k * N;
    for (int64_t co = 0; co < N; ++co) {
      const float wv = wk[co];
      s0[co] = s0[co] + x0 * wv;
      s1[co] = s1[co] + x1 * wv;
      s2[co] = s2[co] + x2 * wv;
      s3[co] = s3[co] + x3 * wv;
    }
  }
}

// Typed gathers used to build the im2col block and the packed weights: n elements at a
// source stride (elements) into dst at a destination stride, minus the zero point.
template <typename T>
using Gather = void (*)(const uint8_t* src, int64_t sstride, T* dst, int64_t dstride, int64_t n, int32_t zp);

template <typename T, typename Load>
inline void gather_with(const uint8_t* src, int64_t sstride, T* dst, int64_t dstride, int64_t n, int32_t zp,
                        Load load) {
  for (int64_t i = 0; i < n; ++i) dst[i * dstride] = load(src, i * sstride, zp);
}
void gather_i8(const uint8_t* s, int64_t ss, int16_t* d, int64_t ds, int64_t n, int32_t zp) {
  gather_with(s, ss, d, ds, n, zp, [](const uint8_t* p, int64_t i, int32_t z) { return int16_t(int8_t(p[i]) - z); });
}
void gather_u8(const uint8_t* s, int64_t ss, int16_t* d, int64_t ds, int64_t n, int32_t zp) {
  gather_with(s, ss, d, ds, n, zp, [](const uint8_t* p, int64_t i, int32_t z) { return int16_t(int32_t(p[i]) - z); });
}
void gather_f32(const uint8_t* s, int64_t ss, float* d, int64_t ds, int64_t n, int32_t zp) {
  gather_with(s, ss, d, ds, n, zp, [](const uint8_t* p, int64_t i, int32_t z) {
    float v;
    std::memcpy(&v, p + 4 * i, 4);
    return v - float(z);
  });
}
void gather_f16(const uint8_t* s, int64_t ss, float* d, int64_t ds, int64_t n, int32_t zp) {
  gather_with(s, ss, d, ds, n, zp, [](const uint8_t* p, int64_t i, int32_t z) {
    uint16_t v;
    std::memcpy(&v, p + 2 * i, 2);
    return f16_to_f32(v) - float(z);
  });
}
void gather_bf16(const uint8_t* s, int64_t ss, float* d, int64_t ds, int64_t n, int32_t zp) {
  gather_with(s, ss, d, ds, n, zp, [](const uint8_t* p, int64_t i, int32_t z) {
    uint16_t v;
    std::memcpy(&v, p + 2 * i, 2);
    return bf16_to_f32(v) - float(z);
  });
}
Gather<int16_t> int_gather(DType t) { return t == DType::I8 ? gather_i8 : gather_u8; }
void gather_i8_32(const uint8_t* s, int64_t ss, int32_t* d, int64_t ds, int64_t n, int32_t zp) {
  gather_with(s, ss, d, ds, n, zp, [](const uint8_t* p, int64_t i, int32_t z) { return int32_t(int8_t(p[i])) - z; });
}
void gather_u8_32(const uint8_t* s, int64_t ss, int32_t* d, int64_t ds, int64_t n, int32_t zp) {
  gather_with(s, ss, d, ds, n, zp, [](const uint8_t* p, int64_t i, int32_t z) { return int32_t(p[i]) - z; });
}
void gather_i16_32(const uint8_t* s, int64_t ss, int32_t* d, int64_t ds, int64_t n, int32_t zp) {
  gather_with(s, ss, d, ds, n, zp, [](const uint8_t* p, int64_t i, int32_t z) {
    int16_t v;
    std::memcpy(&v, p + 2 * i, 2);
    return int32_t(v) - z;
  });
}
Gather<int32_t> wide_gather(DType t) {
  return t == DType::I16 ? gather_i16_32 : t == DType::I8 ? gather_i8_32 : gather_u8_32;
}
Gather<float> float_gather(DType t) {
  return t == DType::F32 ? gather_f32 : t == DType::F16 ? gather_f16 : gather_bf16;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define CARDSIM_HAVE_MADD512 1
// Integer kernel on AVX-512BW: weights packed as k-pairs [k/2][co][2] (int16), so one
// vpmaddwd does 32 MACs; 4 pixels share each weight vector. Sums are exact int32 (wrapping),
// so the k order (kh, kw, ci here) does not change the result.
__attribute__((target("avx512f,avx512bw"))) void block_kernel_madd512(int32_t* s, const int16_t* x,
                                                                      const int16_t* w2, int64_t K2, int64_t N) {
  auto pair = [&](int64_t row, int64_t kp) {
    int32_t v;
    std::memcpy(&v, x + row * K2 + 2 * kp, 4);
    return v;
  };
  const int64_t pairs = K2 / 2;
  for (int64_t co = 0; co < N; co += 16) {
    const int64_t left = N - co;
    const __mmask16 m16 = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
    const __mmask32 m32 = left >= 16 ? __mmask32(0xFFFFFFFFu) : __mmask32((1ull << (2 * left)) - 1);
    __m512i a0 = _mm512_maskz_loadu_epi32(m16, s + co);
    __m512i a1 = _mm512_maskz_loadu_epi32(m16, s + N + co);
    __m512i a2 = _mm512_maskz_loadu_epi32(m16, s + 2 * N + co);
    __m512i a3 = _mm512_maskz_loadu_epi32(m16, s + 3 * N + co);
    const int16_t* wp = w2 + 2 * co;
    for (int64_t kp = 0; kp < pairs; ++kp, wp += 2 * N) {
      const int32_t x0 = pair(0, kp), x1 = pair(1, kp), x2 = pair(2, kp), x3 = pair(3, kp);
      if ((x0 | x1 | x2 | x3) == 0) continue;  // padding / zero activations
      const __m512i wv = _mm512_maskz_loadu_epi16(m32, wp);
      a0 = _mm512_add_epi32(a0, _mm512_madd_epi16(_mm512_set1_epi32(x0), wv));
      a1 = _mm512_add_epi32(a1, _mm512_madd_epi16(_mm512_set1_epi32(x1), wv));
      a2 = _mm512_add_epi32(a2, _mm512_madd_epi16(_mm512_set1_epi32(x2), wv));
      a3 = _mm512_add_epi32(a3, _mm512_madd_epi16(_mm512_set1_epi32(x3), wv));
    }
    _mm512_mask_storeu_epi32(s + co, m16, a0);
    _mm512_mask_storeu_epi32(s + N + co, m16, a1);
    _mm512_mask_storeu_epi32(s + 2 * N + co, m16, a2);
    _mm512_mask_storeu_epi32(s + 3 * N + co, m16, a3);
  }
}
bool have_madd512() {
  static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          std::getenv("CARDSIM_NO_AVX512") == nullptr;
  return yes;
}
#else
bool have_madd512() { return false; }
#endif

// Integer: k = (kh*k_w + kw)*in_c + ci (channels contiguous: cheap gathers). Float: the ISA's
// k = (ci*k_h + kh)*k_w + kw, which fixes the summation order.
template <typename T, typename Acc, typename Kernel>
void fast_impl(const isa::Instr& in, const Bound& r, Kernel kernel, Gather<T> gather_a, Gather<T> gather_b,
               bool pairs) {
  const ConvShape& s = r.sh;
  const bool integer = std::is_integral_v<T>;
  constexpr int64_t ES = int64_t(sizeof(Acc));  // accumulator element bytes (4, or 8 for i64)
  const int64_t K = s.K(), N = s.out_c, P = s.pixels();
  const int64_t K2 = pairs ? (K + 1) / 2 * 2 : K;  // k-pair layout needs an even K (zero pad)
  const int64_t ea = int64_t(r.a.esize), eb = int64_t(r.b.esize);
  const int64_t ci_stride = integer ? 1 : s.k_h * s.k_w;
  auto kbase = [&](int64_t kh, int64_t kw) { return integer ? (kh * s.k_w + kw) * s.in_c : kh * s.k_w + kw; };
  // Pack weights: [k][co], or [k/2][co][2] for the pair kernel.
  std::vector<T> w(static_cast<size_t>(K2 * N), T(0));
  std::vector<T> tmp(static_cast<size_t>(s.in_c));
  for (int64_t co = 0; co < N; ++co)
    for (int64_t kh = 0; kh < s.k_h; ++kh)
      for (int64_t kw = 0; kw < s.k_w; ++kw) {
        const uint8_t* src = r.b.base + (co * r.b.s[0] + kh * r.b.s[2] + kw * r.b.s[3]) * eb;
        const int64_t k0 = kbase(kh, kw);
        if (!pairs) {
          gather_b(src, r.b.s[1], w.data() + k0 * N + co, ci_stride * N, s.in_c, r.b.zp);
        } else {
          gather_b(src, r.b.s[1], tmp.data(), 1, s.in_c, r.b.zp);
          for (int64_t ci = 0; ci < s.in_c; ++ci) {
            const int64_t k = k0 + ci * ci_stride;
            w[size_t((k / 2) * 2 * N + 2 * co + (k & 1))] = tmp[size_t(ci)];
          }
        }
      }
  std::vector<T> x(static_cast<size_t>(kPixelBlock * K2));
  std::vector<Acc> sum(static_cast<size_t>(kPixelBlock * N));
  const bool contiguous_acc = r.acc.s[0] == 1;
  for (int64_t p0 = 0; p0 < P; p0 += kPixelBlock) {
    const int64_t np = std::min<int64_t>(kPixelBlock, P - p0);
    // im2col of the block; padding and rows past the tile stay zero.
    std::fill(x.begin(), x.end(), T(0));
    for (int64_t pb = 0; pb < np; ++pb) {
      const int64_t oh = (p0 + pb) / s.out_w, ow = (p0 + pb) % s.out_w;
      T* xr = x.data() + pb * K2;
      for (int64_t kh = 0; kh < s.k_h; ++kh) {
        const int64_t ih = oh * s.st_h - s.pad_t + kh * s.dl_h;
        if (ih < 0 || ih >= s.in_h) continue;
        for (int64_t kw = 0; kw < s.k_w; ++kw) {
          const int64_t iw = ow * s.st_w - s.pad_l + kw * s.dl_w;
          if (iw < 0 || iw >= s.in_w) continue;
          gather_a(r.a.base + (ih * r.a.s[1] + iw * r.a.s[2]) * ea, r.a.s[0], xr + kbase(kh, kw), ci_stride, s.in_c,
                   r.a.zp);
        }
      }
    }
    // Accumulator rows in.
    for (int64_t pb = 0; pb < kPixelBlock; ++pb) {
      Acc* sr = sum.data() + pb * N;
      if (pb >= np || !in.acc) {
        std::fill(sr, sr + N, Acc(0));
        continue;
      }
      const uint8_t* accp = r.acc.base + (p0 + pb) * r.acc.s[1] * ES;
      if (contiguous_acc) std::memcpy(sr, accp, size_t(N * ES));
      else for (int64_t co = 0; co < N; ++co) std::memcpy(&sr[co], accp + co * r.acc.s[0] * ES, size_t(ES));
    }
    kernel(sum.data(), x.data(), w.data(), K2, N);
    for (int64_t pb = 0; pb < np; ++pb) {
      const Acc* sr = sum.data() + pb * N;
      uint8_t* accp = r.acc.base + (p0 + pb) * r.acc.s[1] * ES;
      if (contiguous_acc) std::memcpy(accp, sr, size_t(N * ES));
      else for (int64_t co = 0; co < N; ++co) std::memcpy(accp + co * r.acc.s[0] * ES, &sr[co], size_t(ES));
    }
  }
}

bool small_int(DType t) { return t == DType::I8 || t == DType::U8; }
bool small_float(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }
bool zp_fits(int64_t zp) { return zp >= -32000 && zp <= 32000; }

}  // namespace

bool mxu_conv_has_fast_path(const isa::Instr& in) {
  const DType a = DType(uint8_t(in.a_type)), b = DType(uint8_t(in.b_type));
  auto int16ish = [](DType t) { return small_int(t) || t == DType::I16; };
  if (DType(uint8_t(in.d_type)) == DType::I64) return int16ish(a) && int16ish(b);  // int32 operands, int64 sums
  if (small_int(a) && small_int(b)) return zp_fits(in.a_zp) && zp_fits(in.b_zp);
  return small_float(a) && small_float(b);
}

void mxu_conv_generic(const isa::Instr& in, Memories& mem) {
  Bound r = bind(in, mem);
  if (r.wide) generic_impl<int64_t>(in, r);
  else if (r.integer) generic_impl<int32_t>(in, r);
  else generic_impl<float>(in, r);
}

void mxu_conv(const isa::Instr& in, Memories& mem) {
  Bound r = bind(in, mem);
  if (r.wide) {
    if (!mxu_conv_has_fast_path(in)) return generic_impl<int64_t>(in, r);
    return fast_impl<int32_t, int64_t>(in, r, block_kernel_int<int64_t, int32_t>, wide_gather(r.a.type), wide_gather(r.b.type), false);
  }
  if (!mxu_conv_has_fast_path(in)) {
    if (r.integer) generic_impl<int32_t>(in, r);
    else generic_impl<float>(in, r);
    return;
  }
  if (r.integer) {
    if (have_madd512())
      fast_impl<int16_t, int32_t>(in, r, block_kernel_madd512, int_gather(r.a.type), int_gather(r.b.type), true);
    else
      fast_impl<int16_t, int32_t>(in, r, block_kernel_int<int32_t, int16_t>, int_gather(r.a.type), int_gather(r.b.type), false);
  } else {
    fast_impl<float, float>(in, r, block_kernel_f32, float_gather(r.a.type), float_gather(r.b.type), false);
  }
}

}  // namespace cardsim::kernels
