// Functional semantics of every instruction (isa/ISA.md "Semantics").
#include <cmath>
#include <vector>

#include "models/kernels/conv.h"
#include "models/kernels/kernels.h"
#include "models/kernels/operand.h"

namespace cardsim::kernels {
namespace {

using detail::Operand;
using isa::Fn;
using isa::Instr;
using isa::Opcode;

float unary_fn(Fn f, float x, float alpha, float beta) {
  switch (f) {
    case Fn::Copy: return x;
    case Fn::Relu: return x < 0 ? 0.0f : x;
    case Fn::LeakyRelu: return x < 0 ? alpha * x : x;
    case Fn::Clip: return std::fmin(std::fmax(x, alpha), beta);
    case Fn::Sigmoid: return 1.0f / (1.0f + std::exp(-x));
    case Fn::HardSigmoid: return std::fmax(0.0f, std::fmin(1.0f, alpha * x + beta));
    case Fn::HardSwish: return x * std::fmax(0.0f, std::fmin(1.0f, x * (1.0f / 6.0f) + 0.5f));
    case Fn::Tanh: return std::tanh(x);
    case Fn::Erf: return std::erf(x);
    case Fn::Exp: return std::exp(x);
    case Fn::Log: return std::log(x);
    case Fn::Sqrt: return std::sqrt(x);
    case Fn::Recip: return 1.0f / x;
    case Fn::Neg: return -x;
    case Fn::Abs: return std::fabs(x);
    case Fn::Gelu: return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
    case Fn::Floor: return std::floor(x);
    case Fn::Ceil: return std::ceil(x);
    case Fn::Round: return std::nearbyint(x);
    default: return x;
  }
}
bool is_unary(Fn f) { return int(f) <= int(Fn::Round); }

float binary_fn(Fn f, float a, float b) {
  switch (f) {
    case Fn::Add: return a + b;
    case Fn::Sub: return a - b;
    case Fn::Mul: return a * b;
    case Fn::Div: return a / b;
    case Fn::Max: return std::fmax(a, b);
    case Fn::Min: return std::fmin(a, b);
    case Fn::Pow: return std::pow(a, b);
    case Fn::Equal: return a == b ? 1.0f : 0.0f;
    case Fn::Less: return a < b ? 1.0f : 0.0f;
    case Fn::Greater: return a > b ? 1.0f : 0.0f;
    case Fn::PRelu: return a < 0 ? a * b : a;
    default: return a;
  }
}
bool is_binary(Fn f) { return int(f) >= int(Fn::Add) && int(f) <= int(Fn::PRelu); }

void bad_fn(const Instr& in, const char* allowed) {
  fail(ErrorKind::Unsupported, "{} (layer {}): function {} ({}) not allowed here; expected {}",
       detail::mnemonic(in.op), in.layer, detail::function_name(Fn(in.fn)), in.fn, allowed);
}

inline int64_t offset3(const Operand& o, int64_t i1, int64_t i2, int64_t i3) {
  return (i1 * o.s[1] + i2 * o.s[2] + i3 * o.s[3]) * int64_t(o.esize);
}

// d[i] = a[i] with the read/write rules; exact for integer-to-integer copies without scales.
void dma_copy(const Instr& in, Memories& mem) {
  auto e = detail::extents_of(in);
  Operand d = detail::operand_d(in), a = detail::operand_a(in);
  detail::check_and_bind(a, e.n, in, mem);
  detail::check_and_bind(d, e.n, in, mem);
  const bool same_bytes = a.type == d.type && a.scale == 0 && d.scale == 0;
  const bool int_path = dtype_is_integer(a.type) && dtype_is_integer(d.type) && a.scale == 0 && d.scale == 0;
  std::vector<float> buf(size_t(e.n[0]));
  for (int64_t i3 = 0; i3 < e.n[3]; ++i3)
    for (int64_t i2 = 0; i2 < e.n[2]; ++i2)
      for (int64_t i1 = 0; i1 < e.n[1]; ++i1) {
        const uint8_t* ap = a.base + offset3(a, i1, i2, i3);
        uint8_t* dp = d.base + offset3(d, i1, i2, i3);
        if (same_bytes && a.s[0] == 1 && d.s[0] == 1) {
          std::memmove(dp, ap, size_t(e.n[0]) * a.esize);
        } else if (same_bytes) {
          for (int64_t i = 0; i < e.n[0]; ++i)
            std::memmove(dp + i * d.s[0] * int64_t(d.esize), ap + i * a.s[0] * int64_t(a.esize), a.esize);
        } else if (int_path) {
          for (int64_t i = 0; i < e.n[0]; ++i)
            detail::store_int(dp + i * d.s[0] * int64_t(d.esize), d.type,
                              detail::load_int(ap + i * a.s[0] * int64_t(a.esize), a.type));
        } else {
          detail::load_row(a, ap, a.s[0], e.n[0], buf.data());
          detail::store_row(d, dp, d.s[0], e.n[0], buf.data());
        }
      }
}

void dma_fill(const Instr& in, Memories& mem) {
  auto e = detail::extents_of(in);
  Operand d = detail::operand_d(in);
  detail::check_and_bind(d, e.n, in, mem);
  std::vector<float> buf(size_t(e.n[0]), in.alpha);
  for (int64_t i3 = 0; i3 < e.n[3]; ++i3)
    for (int64_t i2 = 0; i2 < e.n[2]; ++i2)
      for (int64_t i1 = 0; i1 < e.n[1]; ++i1)
        detail::store_row(d, d.base + offset3(d, i1, i2, i3), d.s[0], e.n[0], buf.data());
}

void vpu_unary(const Instr& in, Memories& mem) {
  const Fn f = Fn(in.fn);
  if (!is_unary(f)) bad_fn(in, "a unary function (copy .. round)");
  auto e = detail::extents_of(in);
  Operand d = detail::operand_d(in), a = detail::operand_a(in);
  detail::check_and_bind(a, e.n, in, mem);
  detail::check_and_bind(d, e.n, in, mem);
  std::vector<float> buf(size_t(e.n[0]));
  for (int64_t i3 = 0; i3 < e.n[3]; ++i3)
    for (int64_t i2 = 0; i2 < e.n[2]; ++i2)
      for (int64_t i1 = 0; i1 < e.n[1]; ++i1) {
        detail::load_row(a, a.base + offset3(a, i1, i2, i3), a.s[0], e.n[0], buf.data());
        switch (f) {  // the common ones get a tight loop
          case Fn::Copy: break;
          case Fn::Relu: for (auto& x : buf) x = x < 0 ? 0.0f : x; break;
          default: for (auto& x : buf) x = unary_fn(f, x, in.alpha, in.beta); break;
        }
        detail::store_row(d, d.base + offset3(d, i1, i2, i3), d.s[0], e.n[0], buf.data());
      }
}

void vpu_binary(const Instr& in, Memories& mem) {
  const Fn f = Fn(in.fn);
  if (!is_binary(f)) bad_fn(in, "a binary function (add .. prelu)");
  auto e = detail::extents_of(in);
  Operand d = detail::operand_d(in), a = detail::operand_a(in), b = detail::operand_b(in);
  detail::check_and_bind(a, e.n, in, mem);
  detail::check_and_bind(b, e.n, in, mem);
  detail::check_and_bind(d, e.n, in, mem);
  std::vector<float> x(size_t(e.n[0])), y(size_t(e.n[0]));
  for (int64_t i3 = 0; i3 < e.n[3]; ++i3)
    for (int64_t i2 = 0; i2 < e.n[2]; ++i2)
      for (int64_t i1 = 0; i1 < e.n[1]; ++i1) {
        detail::load_row(a, a.base + offset3(a, i1, i2, i3), a.s[0], e.n[0], x.data());
        detail::load_row(b, b.base + offset3(b, i1, i2, i3), b.s[0], e.n[0], y.data());
        const size_t n = x.size();
        switch (f) {
          case Fn::Add: for (size_t i = 0; i < n; ++i) x[i] = x[i] + y[i]; break;
          case Fn::Mul: for (size_t i = 0; i < n; ++i) x[i] = x[i] * y[i]; break;
          default: for (size_t i = 0; i < n; ++i) x[i] = binary_fn(f, x[i], y[i]); break;
        }
        detail::store_row(d, d.base + offset3(d, i1, i2, i3), d.s[0], e.n[0], x.data());
      }
}

// rshift_round(v, S) = (v + (1 << (S-1))) >> S, arithmetic; S = 0 leaves v unchanged.
inline int64_t rshift_round(int64_t v, int64_t s) {
  if (s <= 0) return v;
  if (s > 62) return v < 0 ? -1 : 0;
  return (v + (int64_t(1) << (s - 1))) >> s;
}

// The same on a 128-bit product, saturated to int64 (the destination clamps further).
inline int64_t rshift_round128(__int128 v, int64_t s) {
  if (s > 0 && s <= 126) v = (v + (__int128(1) << (s - 1))) >> s;
  else if (s > 126) v = v < 0 ? -1 : 0;
  if (v > __int128(INT64_MAX)) return INT64_MAX;
  if (v < __int128(INT64_MIN)) return INT64_MIN;
  return int64_t(v);
}

void vpu_requant(const Instr& in, Memories& mem) {
  auto e = detail::extents_of(in);
  Operand d = detail::operand_d(in), a = detail::operand_a(in);
  if (a.type != DType::I32 && a.type != DType::I64 && a.type != DType::F32)
    fail(ErrorKind::Unsupported, "vpu.requant (layer {}): operand a (accumulator) must be i32, i64 or f32, got {}",
         in.layer, dtype_name(a.type));
  detail::check_and_bind(a, e.n, in, mem);
  detail::check_and_bind(d, e.n, in, mem);
  const bool wide = a.type == DType::I64;  // i64 accumulator and i64 bias (16-bit operands)
  if (wide && !dtype_is_integer(d.type))
    fail(ErrorKind::Unsupported, "vpu.requant (layer {}): an i64 accumulator needs an integer destination, got {}",
         in.layer, dtype_name(d.type));
  const bool integer = (a.type == DType::I32 || wide) && dtype_is_integer(d.type);
  const int cdim = int(in.c_dim & 3);
  const int64_t nch = e.n[cdim];
  // Per-channel bias table (contiguous, one element per channel).
  const bool has_bias = uint64_t(in.c_addr) != isa::kNoAddr;
  std::vector<int64_t> bias_i(size_t(nch), 0);
  std::vector<float> bias_f(size_t(nch), 0.0f);
  if (has_bias) {
    Operand c;
    c.name = 'c';
    c.space = isa::Space(in.c_space & 3);
    c.addr = uint64_t(in.c_addr);
    c.type = wide ? DType::I64 : a.type == DType::I32 ? DType::I32 : DType::F32;
    c.esize = wide ? 8 : 4;
    c.s[0] = 1;
    int64_t cn[4] = {nch, 1, 1, 1};
    detail::check_and_bind(c, cn, in, mem);
    for (int64_t k = 0; k < nch; ++k) {
      if (c.type == DType::I64) std::memcpy(&bias_i[size_t(k)], c.base + 8 * k, 8);
      else if (c.type == DType::I32) {
        int32_t b;
        std::memcpy(&b, c.base + 4 * k, 4);
        bias_i[size_t(k)] = b;
      } else std::memcpy(&bias_f[size_t(k)], c.base + 4 * k, 4);
    }
    if (c.type != DType::F32)
      for (int64_t k = 0; k < nch; ++k) bias_f[size_t(k)] = float(bias_i[size_t(k)]);
  }
  const Fn f = Fn(in.fn);
  if (integer) {
    // Multiplier / shift: per tensor, or per-channel (int32 M, int32 S) pairs at b_addr.
    std::vector<int64_t> M(size_t(nch), in.mult), S(size_t(nch), in.shift);
    if (uint64_t(in.b_addr) != isa::kNoAddr) {
      Operand b;
      b.name = 'b';
      b.space = isa::Space(in.b_space & 3);
      b.addr = uint64_t(in.b_addr);
      b.type = DType::I32;
      b.esize = 4;
      b.s[0] = 1;
      int64_t bn[4] = {2 * nch, 1, 1, 1};
      detail::check_and_bind(b, bn, in, mem);
      for (int64_t k = 0; k < nch; ++k) {
        int32_t m, s;
        std::memcpy(&m, b.base + 8 * k, 4);
        std::memcpy(&s, b.base + 8 * k + 4, 4);
        M[size_t(k)] = m;
        S[size_t(k)] = s;
      }
    }
    int64_t lo, hi;
    switch (d.type) {
      case DType::I8: lo = -128; hi = 127; break;
      case DType::U8: lo = 0; hi = 255; break;
      case DType::I16: lo = INT16_MIN; hi = INT16_MAX; break;
      default: lo = INT32_MIN; hi = INT32_MAX; break;
    }
    if (f == Fn::Relu) {
      lo = std::max<int64_t>(lo, d.zp);
    } else if (f == Fn::Clip) {
      if (d.scale == 0)
        fail(ErrorKind::Unsupported, "vpu.requant (layer {}): clip on the integer path needs d_scale != 0", in.layer);
      lo = std::max<int64_t>(lo, int64_t(std::nearbyint(in.alpha / d.scale)) + d.zp);
      hi = std::min<int64_t>(hi, int64_t(std::nearbyint(in.beta / d.scale)) + d.zp);
    } else if (f != Fn::Copy) {
      bad_fn(in, "copy, relu or clip on the integer path");
    }
    for (int64_t i3 = 0; i3 < e.n[3]; ++i3)
      for (int64_t i2 = 0; i2 < e.n[2]; ++i2)
        for (int64_t i1 = 0; i1 < e.n[1]; ++i1) {
          const uint8_t* ap = a.base + offset3(a, i1, i2, i3);
          uint8_t* dp = d.base + offset3(d, i1, i2, i3);
          const int64_t fixed[4] = {0, i1, i2, i3};
          for (int64_t i0 = 0; i0 < e.n[0]; ++i0) {
            const size_t c = size_t(cdim == 0 ? i0 : fixed[cdim]);
            int64_t y;
            if (wide) {
              // (acc + bias) * M needs up to ~95 bits: 128-bit product, then the same rounding shift.
              int64_t x;
              std::memcpy(&x, ap + i0 * a.s[0] * 8, 8);
              y = rshift_round128((__int128(x) + bias_i[c]) * M[c], S[c]) + d.zp;
            } else {
              int32_t x;
              std::memcpy(&x, ap + i0 * a.s[0] * 4, 4);
              y = rshift_round((int64_t(x) + bias_i[c]) * M[c], S[c]) + d.zp;
            }
            y = std::clamp(y, lo, hi);
            detail::store_int(dp + i0 * d.s[0] * int64_t(d.esize), d.type, y);
          }
        }
    return;
  }
  // Float path: y = act((x + bias) * (a_scale != 0 ? a_scale : 1)), written with the write rule.
  if (!is_unary(f)) bad_fn(in, "a unary activation (copy, relu, clip, ...)");
  const float scale = a.scale != 0 ? a.scale : 1.0f;
  Operand a_raw = a;
  a_raw.scale = 0;  // the scale is applied after the bias, not by the read rule
  std::vector<float> buf(size_t(e.n[0]));
  for (int64_t i3 = 0; i3 < e.n[3]; ++i3)
    for (int64_t i2 = 0; i2 < e.n[2]; ++i2)
      for (int64_t i1 = 0; i1 < e.n[1]; ++i1) {
        if (a.type == DType::I32) {
          const uint8_t* ap = a.base + offset3(a, i1, i2, i3);
          for (int64_t i0 = 0; i0 < e.n[0]; ++i0) {
            int32_t x;
            std::memcpy(&x, ap + i0 * a.s[0] * 4, 4);
            const size_t c = size_t(cdim == 0 ? i0 : (cdim == 1 ? i1 : cdim == 2 ? i2 : i3));
            buf[size_t(i0)] = float(int64_t(x) + bias_i[c]);
          }
        } else {
          detail::load_row(a_raw, a.base + offset3(a, i1, i2, i3), a.s[0], e.n[0], buf.data());
          const int64_t fixed[4] = {0, i1, i2, i3};
          for (int64_t i0 = 0; i0 < e.n[0]; ++i0)
            buf[size_t(i0)] += bias_f[size_t(cdim == 0 ? i0 : fixed[cdim])];
        }
        for (auto& x : buf) x = unary_fn(f, x * scale, in.alpha, in.beta);
        detail::store_row(d, d.base + offset3(d, i1, i2, i3), d.s[0], e.n[0], buf.data());
      }
}

void vpu_reduce(const Instr& in, Memories& mem) {
  const Fn f = Fn(in.fn);
  if (int(f) < int(Fn::Sum) || int(f) > int(Fn::SumSq)) bad_fn(in, "sum, mean, rmax, rmin or sumsq");
  auto e = detail::extents_of(in);
  Operand d = detail::operand_d(in), a = detail::operand_a(in);
  detail::check_and_bind(a, e.n, in, mem);
  int64_t dn[4] = {1, e.n[1], e.n[2], e.n[3]};
  detail::check_and_bind(d, dn, in, mem);
  std::vector<float> buf(size_t(e.n[0]));
  for (int64_t i3 = 0; i3 < e.n[3]; ++i3)
    for (int64_t i2 = 0; i2 < e.n[2]; ++i2)
      for (int64_t i1 = 0; i1 < e.n[1]; ++i1) {
        detail::load_row(a, a.base + offset3(a, i1, i2, i3), a.s[0], e.n[0], buf.data());
        float r;
        switch (f) {
          case Fn::RMax: r = -INFINITY; for (float x : buf) r = std::fmax(r, x); break;
          case Fn::RMin: r = INFINITY; for (float x : buf) r = std::fmin(r, x); break;
          case Fn::SumSq: r = 0; for (float x : buf) r += x * x; break;
          default: r = 0; for (float x : buf) r += x; break;
        }
        if (f == Fn::Mean) r = r / float(e.n[0]);
        detail::store_row(d, d.base + offset3(d, i1, i2, i3), 0, 1, &r);
      }
}

void vpu_pool(const Instr& in, Memories& mem) {
  const Fn f = Fn(in.fn);
  if (f != Fn::MaxPool && f != Fn::AvgPool) bad_fn(in, "maxpool or avgpool");
  auto e = detail::extents_of(in);
  Operand d = detail::operand_d(in), a = detail::operand_a(in);
  auto one = [](int64_t v) { return v <= 0 ? int64_t(1) : v; };
  const int64_t kh = one(in.k_h), kw = one(in.k_w), sh = one(in.st_h), sw = one(in.st_w);
  const int64_t dh = one(in.dl_h), dw = one(in.dl_w), ih_n = one(in.in_h), iw_n = one(in.in_w);
  // Input tile: (w, h, c, batch) with strides a_s0 = w, a_s1 = h, a_s2 = c, a_s3 = batch.
  int64_t an[4] = {iw_n, ih_n, e.n[2], e.n[3]};
  detail::check_and_bind(a, an, in, mem);
  detail::check_and_bind(d, e.n, in, mem);
  const bool count_pad = in.beta != 0;
  std::vector<float> row(size_t(e.n[0]));
  for (int64_t b = 0; b < e.n[3]; ++b)
    for (int64_t c = 0; c < e.n[2]; ++c) {
      const uint8_t* plane = a.base + (c * a.s[2] + b * a.s[3]) * int64_t(a.esize);
      for (int64_t oh = 0; oh < e.n[1]; ++oh) {
        for (int64_t ow = 0; ow < e.n[0]; ++ow) {
          float acc = f == Fn::MaxPool ? -INFINITY : 0.0f;
          int64_t count = 0;
          for (int64_t y = 0; y < kh; ++y) {
            const int64_t ih = oh * sh - in.pad_t + y * dh;
            if (ih < 0 || ih >= ih_n) continue;
            for (int64_t x = 0; x < kw; ++x) {
              const int64_t iw = ow * sw - in.pad_l + x * dw;
              if (iw < 0 || iw >= iw_n) continue;
              float v = detail::load_raw(plane + (ih * a.s[1] + iw * a.s[0]) * int64_t(a.esize), a.type);
              if (a.scale != 0) v = (v - float(a.zp)) * a.scale;
              if (f == Fn::MaxPool) acc = std::fmax(acc, v); else acc += v;
              ++count;
            }
          }
          if (f == Fn::AvgPool) {
            const int64_t div = count_pad ? kh * kw : count;
            acc = div > 0 ? acc / float(div) : 0.0f;
          }
          row[size_t(ow)] = acc;
        }
        detail::store_row(d, d.base + offset3(d, oh, c, b), d.s[0], e.n[0], row.data());
      }
    }
}

}  // namespace

void execute(const isa::Instr& in, Memories& mem) {
  switch (in.op) {
    case Opcode::Nop: case Opcode::End: case Opcode::SemWait: case Opcode::SemSignal:
    case Opcode::Barrier: case Opcode::Irq: case Opcode::HostCall:
      return;  // control: handled by the command processor / scheduler
    case Opcode::DmaCopy: return dma_copy(in, mem);
    case Opcode::DmaFill: return dma_fill(in, mem);
    case Opcode::MxuConv: return mxu_conv(in, mem);
    case Opcode::VpuUnary: return vpu_unary(in, mem);
    case Opcode::VpuBinary: return vpu_binary(in, mem);
    case Opcode::VpuRequant: return vpu_requant(in, mem);
    case Opcode::VpuReduce: return vpu_reduce(in, mem);
    case Opcode::VpuPool: return vpu_pool(in, mem);
    default:
      fail(ErrorKind::Format, "invalid opcode {} (layer {})", int(in.op), in.layer);
  }
}

}  // namespace cardsim::kernels
