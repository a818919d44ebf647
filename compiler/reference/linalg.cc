// Matrix products and convolutions: Gemm, MatMul, Conv, ConvTranspose, their integer
// forms (MatMulInteger, ConvInteger, QLinearMatMul, QLinearConv) and Quantize/Dequantize.
// Convolution is im2col + a cache-blocked GEMM; float tensors accumulate in float (as
// onnxruntime does), f64 in double, integers exactly in int64.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "compiler/reference/detail.h"

namespace cardsim::ref::detail {
namespace {

// C[M,N] += A[M,K] * B[K,N], all row-major and contiguous. Blocked over N and K so a panel
// of B stays in cache; four k at a time so C is loaded and stored once per four products.
template <class T>
void gemm_acc(int64_t M, int64_t N, int64_t K, const T* A, const T* B, T* C) {
  constexpr int64_t NB = 512, KB = 128;
  for (int64_t n0 = 0; n0 < N; n0 += NB) {
    const int64_t n1 = std::min(N, n0 + NB);
    for (int64_t k0 = 0; k0 < K; k0 += KB) {
      const int64_t k1 = std::min(K, k0 + KB);
      for (int64_t m = 0; m < M; ++m) {
        T* __restrict c = C + m * N;
        const T* a = A + m * K;
        int64_t k = k0;
        for (; k + 4 <= k1; k += 4) {
          const T a0 = a[k], a1 = a[k + 1], a2 = a[k + 2], a3 = a[k + 3];
          const T* __restrict b0 = B + k * N;
          const T* __restrict b1 = b0 + N;
          const T* __restrict b2 = b1 + N;
          const T* __restrict b3 = b2 + N;
          for (int64_t n = n0; n < n1; ++n) c[n] += a0 * b0[n] + a1 * b1[n] + a2 * b2[n] + a3 * b3[n];
        }
        for (; k < k1; ++k) {
          const T a0 = a[k];
          const T* __restrict b0 = B + k * N;
          for (int64_t n = n0; n < n1; ++n) c[n] += a0 * b0[n];
        }
      }
    }
  }
}

template <class T>
std::vector<T> transpose2d(const T* a, int64_t rows, int64_t cols) {
  std::vector<T> t(size_t(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) t[size_t(c * rows + r)] = a[r * cols + c];
  return t;
}

template <class T>
std::vector<T> load_as(const Tensor& t) {
  std::vector<T> r(size_t(t.numel()));
  if constexpr (std::is_same_v<T, float>) return to_f32(t);
  else if constexpr (std::is_same_v<T, double>) return to_f64(t);
  else for (size_t i = 0; i < r.size(); ++i) r[i] = T(load_i64(t, i));
  return r;
}

template <class T>
Tensor store_as(DType dt, const Shape& s, const std::vector<T>& v) {
  if constexpr (std::is_same_v<T, float>) return from_f32(dt, s, v);
  else if constexpr (std::is_same_v<T, double>) return from_f64(dt, s, v);
  else {
    Tensor t(dt, s);
    for (size_t i = 0; i < v.size(); ++i) store_i64(t, i, int64_t(v[i]));
    return t;
  }
}

// ---- MatMul family ---------------------------------------------------------------------

// N-D matmul with numpy broadcasting of batch dims and 1-D promotion.
template <class T>
Tensor matmul_typed(const ir::Node& n, const std::vector<T>& a, Shape as, const std::vector<T>& b, Shape bs,
                    DType out_dt) {
  if (as.empty() || bs.empty()) invalid(n, "MatMul inputs must have rank >= 1");
  bool a_vec = as.size() == 1, b_vec = bs.size() == 1;
  if (a_vec) as.insert(as.begin(), 1);
  if (b_vec) bs.push_back(1);
  const int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
  if (bs[bs.size() - 2] != K)
    invalid(n, fmt::format("inner dimensions differ: A {} vs B {}", shape_str(as), shape_str(bs)));
  Shape abatch(as.begin(), as.end() - 2), bbatch(bs.begin(), bs.end() - 2);
  Shape batch = broadcast_shapes(n, {abatch, bbatch});
  std::vector<T> y(size_t(shape_numel(batch) * M * N), T(0));
  std::vector<std::vector<int64_t>> st = {broadcast_strides(abatch, batch), broadcast_strides(bbatch, batch)};
  for_each_broadcast(batch, st, [&](int64_t o, const int64_t* off) {
    gemm_acc<T>(M, N, K, a.data() + off[0] * M * K, b.data() + off[1] * K * N, y.data() + o * M * N);
  });
  Shape out = batch;
  if (!a_vec) out.push_back(M);
  if (!b_vec) out.push_back(N);
  return store_as<T>(out_dt, out, y);
}

Outputs matmul(const ir::Node& n, const Inputs& ins) {
  const Tensor& a = in(n, ins, 0);
  const Tensor& b = in(n, ins, 1);
  if (a.dtype != b.dtype) invalid(n, "A and B must have the same type");
  if (a.dtype == DType::F64) return {matmul_typed(n, to_f64(a), a.shape, to_f64(b), b.shape, a.dtype)};
  if (is_float(a)) return {matmul_typed(n, to_f32(a), a.shape, to_f32(b), b.shape, a.dtype)};
  return {matmul_typed(n, load_as<int64_t>(a), a.shape, load_as<int64_t>(b), b.shape, a.dtype)};
}

// Zero point as a per-index vector of length `count` (scalar broadcast).
std::vector<int64_t> zero_points(const ir::Node& n, const Tensor* zp, int64_t count, const char* what) {
  std::vector<int64_t> r(size_t(count), 0);
  if (!zp) return r;
  if (zp->numel() == 1) {
    std::fill(r.begin(), r.end(), load_i64(*zp, 0));
  } else if (zp->numel() == count) {
    for (int64_t i = 0; i < count; ++i) r[size_t(i)] = load_i64(*zp, size_t(i));
  } else {
    invalid(n, fmt::format("{} has {} values, expected 1 or {}", what, zp->numel(), count));
  }
  return r;
}

std::vector<float> scales(const ir::Node& n, const Tensor& s, int64_t count, const char* what) {
  std::vector<float> r(static_cast<size_t>(count));
  if (s.numel() == 1) std::fill(r.begin(), r.end(), float(s.get(0)));
  else if (s.numel() == count) for (int64_t i = 0; i < count; ++i) r[size_t(i)] = float(s.get(size_t(i)));
  else invalid(n, fmt::format("{} has {} values, expected 1 or {}", what, s.numel(), count));
  return r;
}

// Integer matmul core: (a - a_zp[row]) x (b - b_zp[col]) in int64; a_zp per row of A
// (the last-but-one dim) and b_zp per column of B, as MatMulInteger allows.
Tensor int_matmul(const ir::Node& n, const Tensor& a, const Tensor* azp, const Tensor& b, const Tensor* bzp) {
  if (a.shape.empty() || b.shape.empty()) invalid(n, "inputs must have rank >= 1");
  int64_t M = a.shape.size() >= 2 ? a.shape[a.shape.size() - 2] : 1, K = a.shape.back();
  int64_t N = b.shape.size() >= 2 ? b.shape.back() : 1;
  auto za = zero_points(n, azp, M, "a_zero_point");
  auto zb = zero_points(n, bzp, N, "b_zero_point");
  std::vector<int64_t> av = load_as<int64_t>(a), bv = load_as<int64_t>(b);
  for (size_t i = 0; i < av.size(); ++i) av[i] -= za[(i / size_t(K)) % size_t(M)];
  for (size_t i = 0; i < bv.size(); ++i) bv[i] -= zb[i % size_t(N)];
  return matmul_typed(n, av, a.shape, bv, b.shape, DType::I64);
}

Outputs matmul_integer(const ir::Node& n, const Inputs& ins) {
  Tensor acc = int_matmul(n, in(n, ins, 0), opt(ins, 2), in(n, ins, 1), opt(ins, 3));
  Tensor y(DType::I32, acc.shape);
  for (size_t i = 0, m = size_t(acc.numel()); i < m; ++i) store_i64(y, i, load_i64(acc, i));
  return {y};
}

// real = acc * multiplier; q = saturate(round_half_even(real) + zp) in the zero point's type.
// The multiplier is formed and applied in float, as onnxruntime's requantization does.
int64_t requantize(int64_t acc, float multiplier, int64_t zp, DType dt) {
  float real = float(acc) * multiplier;
  double q = round_half_even(double(real)) + double(zp);
  double lo = dt == DType::U8 ? 0 : dt == DType::I8 ? -128 : double(std::numeric_limits<int32_t>::min());
  double hi = dt == DType::U8 ? 255 : dt == DType::I8 ? 127 : double(std::numeric_limits<int32_t>::max());
  return int64_t(std::clamp(q, lo, hi));
}

Outputs qlinear_matmul(const ir::Node& n, const Inputs& ins) {
  const Tensor& a = in(n, ins, 0);
  const Tensor& b = in(n, ins, 3);
  const Tensor& yzp = in(n, ins, 7);
  Tensor acc = int_matmul(n, a, &in(n, ins, 2), b, &in(n, ins, 5));
  int64_t M = a.shape.size() >= 2 ? a.shape[a.shape.size() - 2] : 1;
  int64_t N = b.shape.size() >= 2 ? b.shape.back() : 1;
  auto sa = scales(n, in(n, ins, 1), M, "a_scale");
  auto sb = scales(n, in(n, ins, 4), N, "b_scale");
  float sy = float(scalar_f(n, in(n, ins, 6), "y_scale"));
  int64_t zy = scalar_i(n, yzp, "y_zero_point");
  Tensor y(yzp.dtype, acc.shape);
  const bool b_vec = b.shape.size() == 1, a_vec = a.shape.size() == 1;
  for (size_t i = 0, cnt = size_t(acc.numel()); i < cnt; ++i) {
    size_t col = b_vec ? 0 : i % size_t(N);
    size_t row = a_vec ? 0 : (i / (b_vec ? 1 : size_t(N))) % size_t(M);
    store_i64(y, i, requantize(load_i64(acc, i), sa[row] * sb[col] / sy, zy, yzp.dtype));
  }
  return {y};
}

Outputs gemm(const ir::Node& n, const Inputs& ins) {
  const Tensor& a = in(n, ins, 0);
  const Tensor& b = in(n, ins, 1);
  const Tensor* c = opt(ins, 2);
  if (a.shape.size() != 2 || b.shape.size() != 2)
    invalid(n, fmt::format("A and B must be 2-D, got {} and {}", shape_str(a.shape), shape_str(b.shape)));
  bool ta = attr_i(n, "transA", 0) != 0, tb = attr_i(n, "transB", 0) != 0;
  float alpha = attr_f(n, "alpha", 1.0f), beta = attr_f(n, "beta", 1.0f);
  int64_t M = ta ? a.shape[1] : a.shape[0], K = ta ? a.shape[0] : a.shape[1];
  int64_t Kb = tb ? b.shape[1] : b.shape[0], N = tb ? b.shape[0] : b.shape[1];
  if (K != Kb) invalid(n, fmt::format("inner dimensions differ: A {} vs B {}", shape_str(a.shape), shape_str(b.shape)));
  auto run = [&](auto zero) {
    using T = decltype(zero);
    std::vector<T> av = load_as<T>(a), bv = load_as<T>(b);
    if (ta) av = transpose2d(av.data(), a.shape[0], a.shape[1]);
    if (tb) bv = transpose2d(bv.data(), b.shape[0], b.shape[1]);
    std::vector<T> y(size_t(M * N), T(0));
    gemm_acc<T>(M, N, K, av.data(), bv.data(), y.data());
    if (alpha != 1.0f)
      for (auto& v : y) v = T(v * T(alpha));
    if (c) {
      Shape out{M, N};
      if (broadcast_shapes(n, {out, c->shape}) != out)
        invalid(n, fmt::format("C {} does not broadcast to {}", shape_str(c->shape), shape_str(out)));
      std::vector<T> cv = load_as<T>(*c);
      std::vector<std::vector<int64_t>> st = {broadcast_strides(c->shape, out)};
      for_each_broadcast(out, st, [&](int64_t o, const int64_t* off) { y[size_t(o)] += T(beta) * cv[size_t(off[0])]; });
    }
    return store_as<T>(a.dtype, {M, N}, y);
  };
  if (a.dtype == DType::F64) return {run(0.0)};
  if (is_float(a)) return {run(0.0f)};
  return {run(int64_t(0))};
}

// ---- convolution ---------------------------------------------------------------------------

struct ConvGeom {
  int64_t batch = 0, in_ch = 0, out_ch = 0, group = 1;
  Shape in_sp, k_sp;
  Window win;
  int64_t in_prod() const { return shape_numel(in_sp); }
  int64_t k_prod() const { return shape_numel(k_sp); }
  int64_t out_prod() const { return shape_numel(win.out); }
};

ConvGeom conv_geometry(const ir::Node& n, const Shape& xs, const Shape& ws) {
  if (xs.size() < 3 || ws.size() != xs.size())
    invalid(n, fmt::format("X {} and W {} must both be [N,C,spatial...] of the same rank", shape_str(xs), shape_str(ws)));
  ConvGeom g;
  g.batch = xs[0];
  g.in_ch = xs[1];
  g.out_ch = ws[0];
  g.group = attr_i(n, "group", 1);
  g.in_sp.assign(xs.begin() + 2, xs.end());
  g.k_sp.assign(ws.begin() + 2, ws.end());
  for (auto d : ws)
    if (d <= 0) invalid(n, fmt::format("W {} has an empty dimension", shape_str(ws)));
  auto ks = attr_ints(n, "kernel_shape", g.k_sp);
  if (ks != g.k_sp) invalid(n, fmt::format("kernel_shape {} disagrees with W {}", shape_str(ks), shape_str(ws)));
  if (g.group <= 0 || g.in_ch % g.group || g.out_ch % g.group || ws[1] * g.group != g.in_ch)
    invalid(n, fmt::format("group={} does not fit X channels {} and W {}", g.group, g.in_ch, shape_str(ws)));
  g.win = forward_window(n, g.in_sp, g.k_sp, false);
  return g;
}

// col[(c*kprod + k), o] = x[c, o*stride - pad + k*dilation] or 0 outside the input.
template <class T>
void im2col(const T* x, int64_t channels, const ConvGeom& g, T* col) {
  const size_t r = g.in_sp.size();
  const int64_t kprod = g.k_prod(), oprod = g.out_prod(), iprod = g.in_prod();
  const auto in_st = strides_of(g.in_sp);
  const auto& w = g.win;
  const int64_t out_last = w.out[r - 1], in_last = g.in_sp[r - 1];
  std::vector<int64_t> kk(r), oo(r);
  for (int64_t c = 0; c < channels; ++c) {
    const T* xc = x + c * iprod;
    std::fill(kk.begin(), kk.end(), 0);
    for (int64_t ki = 0; ki < kprod; ++ki) {
      T* row = col + (c * kprod + ki) * oprod;
      const int64_t last_off = kk[r - 1] * w.dilations[r - 1] - w.pads_begin[r - 1];
      std::fill(oo.begin(), oo.end(), 0);
      for (int64_t o = 0; o < oprod; o += out_last) {
        bool valid = true;
        int64_t base = 0;
        for (size_t d = 0; d + 1 < r; ++d) {
          int64_t i = oo[d] * w.strides[d] - w.pads_begin[d] + kk[d] * w.dilations[d];
          if (i < 0 || i >= g.in_sp[d]) { valid = false; break; }
          base += i * in_st[d];
        }
        T* dst = row + o;
        if (!valid) {
          std::fill(dst, dst + out_last, T(0));
        } else {
          const int64_t s = w.strides[r - 1];
          for (int64_t ol = 0; ol < out_last; ++ol) {
            int64_t il = ol * s + last_off;
            dst[ol] = (il >= 0 && il < in_last) ? xc[base + il] : T(0);
          }
        }
        for (int64_t d = int64_t(r) - 2; d >= 0; --d) {
          if (++oo[d] < w.out[d]) break;
          oo[d] = 0;
        }
      }
      for (int64_t d = int64_t(r) - 1; d >= 0; --d) {
        if (++kk[d] < g.k_sp[d]) break;
        kk[d] = 0;
      }
    }
  }
}

// y[N, M, out...] = conv(x, w) without bias, in T arithmetic; padding contributes 0.
template <class T>
std::vector<T> conv_core(const ConvGeom& g, const std::vector<T>& x, const std::vector<T>& w) {
  const int64_t cg = g.in_ch / g.group, mg = g.out_ch / g.group;
  const int64_t kprod = g.k_prod(), oprod = g.out_prod(), iprod = g.in_prod();
  const int64_t kdim = cg * kprod;
  std::vector<T> y(size_t(g.batch * g.out_ch * oprod), T(0));
  bool pointwise = kprod == 1 && oprod == iprod;
  for (size_t d = 0; d < g.in_sp.size() && pointwise; ++d)
    pointwise = g.win.strides[d] == 1 && g.win.pads_begin[d] == 0;
  std::vector<T> col(pointwise ? 0 : size_t(kdim * oprod));
  for (int64_t b = 0; b < g.batch; ++b) {
    for (int64_t grp = 0; grp < g.group; ++grp) {
      const T* xg = x.data() + (b * g.in_ch + grp * cg) * iprod;
      const T* cols = xg;  // a 1x1 stride-1 unpadded conv reads the input as its own im2col
      if (!pointwise) {
        im2col(xg, cg, g, col.data());
        cols = col.data();
      }
      gemm_acc<T>(mg, oprod, kdim, w.data() + grp * mg * kdim, cols, y.data() + (b * g.out_ch + grp * mg) * oprod);
    }
  }
  return y;
}

Shape conv_out_shape(const ConvGeom& g) {
  Shape s{g.batch, g.out_ch};
  s.insert(s.end(), g.win.out.begin(), g.win.out.end());
  return s;
}

Outputs conv(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const Tensor& w = in(n, ins, 1);
  const Tensor* b = opt(ins, 2);
  ConvGeom g = conv_geometry(n, x.shape, w.shape);
  if (b && b->numel() != g.out_ch) invalid(n, fmt::format("B has {} values, expected {}", b->numel(), g.out_ch));
  auto run = [&](auto zero) {
    using T = decltype(zero);
    std::vector<T> y = conv_core<T>(g, load_as<T>(x), load_as<T>(w));
    if (b) {
      std::vector<T> bv = load_as<T>(*b);
      const int64_t op = g.out_prod();
      for (size_t i = 0; i < y.size(); ++i) y[i] += bv[size_t((int64_t(i) / op) % g.out_ch)];
    }
    return store_as<T>(x.dtype, conv_out_shape(g), y);
  };
  if (x.dtype == DType::F64) return {run(0.0)};
  if (is_float(x)) return {run(0.0f)};
  unsupported(n, fmt::format("input type {}", dtype_name(x.dtype)));
}

// Integer convolution accumulators: (x - x_zp) * (w - w_zp[m]) in int64.
std::vector<int64_t> int_conv(const ir::Node& n, const ConvGeom& g, const Tensor& x, const Tensor* xzp, const Tensor& w,
                              const Tensor* wzp) {
  int64_t zx = xzp ? zero_points(n, xzp, 1, "x_zero_point")[0] : 0;
  auto zw = zero_points(n, wzp, g.out_ch, "w_zero_point");
  std::vector<int64_t> xv = load_as<int64_t>(x), wv = load_as<int64_t>(w);
  for (auto& v : xv) v -= zx;  // padding then contributes 0, i.e. pads with x_zero_point
  const size_t per_m = size_t(w.numel() / g.out_ch);
  for (size_t i = 0; i < wv.size(); ++i) wv[i] -= zw[i / per_m];
  return conv_core<int64_t>(g, xv, wv);
}

Outputs conv_integer(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const Tensor& w = in(n, ins, 1);
  ConvGeom g = conv_geometry(n, x.shape, w.shape);
  return {store_as<int64_t>(DType::I32, conv_out_shape(g), int_conv(n, g, x, opt(ins, 2), w, opt(ins, 3)))};
}

Outputs qlinear_conv(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const Tensor& w = in(n, ins, 3);
  const Tensor& yzp = in(n, ins, 7);
  const Tensor* b = opt(ins, 8);
  ConvGeom g = conv_geometry(n, x.shape, w.shape);
  std::vector<int64_t> acc = int_conv(n, g, x, &in(n, ins, 2), w, &in(n, ins, 5));
  float sx = float(scalar_f(n, in(n, ins, 1), "x_scale")), sy = float(scalar_f(n, in(n, ins, 6), "y_scale"));
  auto sw = scales(n, in(n, ins, 4), g.out_ch, "w_scale");
  if (b && b->numel() != g.out_ch) invalid(n, fmt::format("B has {} values, expected {}", b->numel(), g.out_ch));
  int64_t zy = scalar_i(n, yzp, "y_zero_point");
  Tensor y(yzp.dtype, conv_out_shape(g));
  const int64_t op = g.out_prod();
  for (size_t i = 0; i < acc.size(); ++i) {
    size_t m = size_t((int64_t(i) / op) % g.out_ch);
    int64_t a = acc[i] + (b ? load_i64(*b, m) : 0);
    store_i64(y, i, requantize(a, sx * sw[m] / sy, zy, yzp.dtype));
  }
  return {y};
}

Outputs conv_transpose(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const Tensor& w = in(n, ins, 1);
  const Tensor* b = opt(ins, 2);
  if (x.shape.size() < 3 || w.shape.size() != x.shape.size())
    invalid(n, fmt::format("X {} and W {} must both be [N,C,spatial...] of the same rank", shape_str(x.shape), shape_str(w.shape)));
  const size_t r = x.shape.size() - 2;
  const int64_t batch = x.shape[0], cin = x.shape[1], group = attr_i(n, "group", 1);
  if (group <= 0 || w.shape[0] != cin || cin % group)
    invalid(n, fmt::format("W {} does not fit X channels {} with group={}", shape_str(w.shape), cin, group));
  const int64_t cg = cin / group, mg = w.shape[1], cout = mg * group;
  Shape in_sp(x.shape.begin() + 2, x.shape.end()), k_sp(w.shape.begin() + 2, w.shape.end());
  if (attr_ints(n, "kernel_shape", k_sp) != k_sp) invalid(n, "kernel_shape disagrees with W");
  auto strides = attr_ints(n, "strides", std::vector<int64_t>(r, 1));
  auto dil = attr_ints(n, "dilations", std::vector<int64_t>(r, 1));
  auto outpad = attr_ints(n, "output_padding", std::vector<int64_t>(r, 0));
  auto pads = attr_ints(n, "pads", std::vector<int64_t>(2 * r, 0));
  auto out_shape_attr = attr_ints(n, "output_shape", {});
  std::string auto_pad = attr_s(n, "auto_pad", "NOTSET");
  if (strides.size() != r || dil.size() != r || outpad.size() != r || pads.size() != 2 * r)
    invalid(n, "strides/dilations/output_padding/pads do not match the spatial rank");
  if (!out_shape_attr.empty() && out_shape_attr.size() != r && out_shape_attr.size() != r + 2)
    invalid(n, fmt::format("output_shape has {} values, expected {}", out_shape_attr.size(), r));
  Shape out_sp(r);
  std::vector<int64_t> pad_head(r);
  for (size_t d = 0; d < r; ++d) {
    const int64_t eff = (k_sp[d] - 1) * dil[d] + 1;
    const int64_t full = strides[d] * (in_sp[d] - 1) + outpad[d] + eff;
    if (!out_shape_attr.empty()) {
      out_sp[d] = out_shape_attr[out_shape_attr.size() - r + d];
      int64_t total = std::max<int64_t>(0, full - out_sp[d]);
      // onnxruntime's split: the odd pixel goes to the tail unless SAME_UPPER.
      pad_head[d] = auto_pad == "SAME_UPPER" ? total - total / 2 : total / 2;
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      out_sp[d] = in_sp[d] * strides[d];
      int64_t total = std::max<int64_t>(0, full - out_sp[d]);
      pad_head[d] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    } else if (auto_pad == "NOTSET" || auto_pad == "VALID") {
      if (auto_pad == "VALID") pads[d] = pads[d + r] = 0;
      out_sp[d] = full - pads[d] - pads[d + r];
      pad_head[d] = pads[d];
    } else {
      unsupported(n, fmt::format("attribute auto_pad='{}'", auto_pad));
    }
    if (out_sp[d] <= 0) invalid(n, fmt::format("output spatial dim {} would be {}", d, out_sp[d]));
  }
  const int64_t iprod = shape_numel(in_sp), kprod = shape_numel(k_sp), oprod = shape_numel(out_sp);
  auto run = [&](auto zero) {
    using T = decltype(zero);
    std::vector<T> xv = load_as<T>(x), wv = load_as<T>(w);
    std::vector<T> y(size_t(batch * cout * oprod), T(0));
    std::vector<T> col(size_t(mg * kprod * iprod));
    const auto out_st = strides_of(out_sp);
    std::vector<int64_t> kk(r), ii(r);
    for (int64_t grp = 0; grp < group; ++grp) {
      // W_g is [cg, mg*kprod]; col = W_g^T x X_g gives each (m, k) tap's contribution per input pixel.
      std::vector<T> wt = transpose2d(wv.data() + grp * cg * mg * kprod, cg, mg * kprod);
      for (int64_t bi = 0; bi < batch; ++bi) {
        std::fill(col.begin(), col.end(), T(0));
        gemm_acc<T>(mg * kprod, iprod, cg, wt.data(), xv.data() + (bi * cin + grp * cg) * iprod, col.data());
        for (int64_t m = 0; m < mg; ++m) {
          T* ym = y.data() + (bi * cout + grp * mg + m) * oprod;
          std::fill(kk.begin(), kk.end(), 0);
          for (int64_t k = 0; k < kprod; ++k) {
            const T* src = col.data() + (m * kprod + k) * iprod;
            std::fill(ii.begin(), ii.end(), 0);
            for (int64_t i = 0; i < iprod; ++i) {
              int64_t off = 0;
              bool inside = true;
              for (size_t d = 0; d < r; ++d) {
                int64_t o = ii[d] * strides[d] + kk[d] * dil[d] - pad_head[d];
                if (o < 0 || o >= out_sp[d]) { inside = false; break; }
                off += o * out_st[d];
              }
              if (inside) ym[off] += src[i];
              for (int64_t d = int64_t(r) - 1; d >= 0; --d) {
                if (++ii[d] < in_sp[d]) break;
                ii[d] = 0;
              }
            }
            for (int64_t d = int64_t(r) - 1; d >= 0; --d) {
              if (++kk[d] < k_sp[d]) break;
              kk[d] = 0;
            }
          }
        }
      }
    }
    if (b) {
      if (b->numel() != cout) invalid(n, fmt::format("B has {} values, expected {}", b->numel(), cout));
      std::vector<T> bv = load_as<T>(*b);
      for (size_t i = 0; i < y.size(); ++i) y[i] += bv[size_t((int64_t(i) / oprod) % cout)];
    }
    Shape os{batch, cout};
    os.insert(os.end(), out_sp.begin(), out_sp.end());
    return store_as<T>(x.dtype, os, y);
  };
  if (x.dtype == DType::F64) return {run(0.0)};
  if (is_float(x)) return {run(0.0f)};
  unsupported(n, fmt::format("input type {}", dtype_name(x.dtype)));
}

// ---- quantize / dequantize -----------------------------------------------------------------

// Index of the per-axis parameter for each element (0 everywhere for per-tensor).
struct AxisMap {
  int64_t inner = 1, count = 1;
  size_t operator()(size_t i) const { return count == 1 ? 0 : (i / size_t(inner)) % size_t(count); }
};

AxisMap axis_map(const ir::Node& n, const Tensor& x, const Tensor& scale) {
  AxisMap m;
  if (scale.numel() == 1 && scale.shape.size() <= 1) return m;
  int64_t axis = norm_axis(n, attr_i(n, "axis", 1), int64_t(x.shape.size()));
  if (scale.shape.size() != 1 || scale.shape[0] != x.shape[size_t(axis)])
    invalid(n, fmt::format("per-axis scale {} must be 1-D of length {} (axis {})", shape_str(scale.shape),
                           x.shape[size_t(axis)], axis));
  m.count = x.shape[size_t(axis)];
  for (size_t d = size_t(axis) + 1; d < x.shape.size(); ++d) m.inner *= x.shape[d];
  return m;
}

Outputs quantize_linear(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const Tensor& scale = in(n, ins, 1);
  const Tensor* zp = opt(ins, 2);
  DType out_dt = zp ? zp->dtype : DType::U8;
  if (out_dt != DType::U8 && out_dt != DType::I8)
    unsupported(n, fmt::format("output type {} (y_zero_point)", dtype_name(out_dt)));
  AxisMap am = axis_map(n, x, scale);
  if (zp && zp->numel() != scale.numel()) invalid(n, "y_zero_point and y_scale must have the same number of values");
  Tensor y(out_dt, x.shape);
  const double lo = out_dt == DType::U8 ? 0 : -128, hi = out_dt == DType::U8 ? 255 : 127;
  for (size_t i = 0, cnt = size_t(x.numel()); i < cnt; ++i) {
    size_t p = am(i);
    float q = float(x.get(i)) / float(scale.get(p));  // float division, as onnxruntime
    double v = round_half_even(double(q)) + double(zp ? load_i64(*zp, p) : 0);
    store_i64(y, i, int64_t(std::clamp(v, lo, hi)));
  }
  return {y};
}

Outputs dequantize_linear(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const Tensor& scale = in(n, ins, 1);
  const Tensor* zp = opt(ins, 2);
  AxisMap am = axis_map(n, x, scale);
  if (zp && zp->numel() != scale.numel()) invalid(n, "x_zero_point and x_scale must have the same number of values");
  Tensor y(scale.dtype, x.shape);
  for (size_t i = 0, cnt = size_t(x.numel()); i < cnt; ++i) {
    size_t p = am(i);
    int64_t q = load_i64(x, i) - (zp ? load_i64(*zp, p) : 0);
    y.set(i, double(float(q) * float(scale.get(p))));
  }
  return {y};
}

// u8 quantization with scale and zero point chosen from the data range (which always
// includes 0), as the ONNX function body defines it.
Outputs dynamic_quantize_linear(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  float lo = 0, hi = 0;
  std::vector<float> xv = to_f32(x);
  for (float v : xv) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  float scale = (hi - lo) / 255.0f;
  float zp_real = scale == 0 ? 0 : 0 - lo / scale;
  double zp = round_half_even(std::clamp(double(zp_real), 0.0, 255.0));
  Tensor y(DType::U8, x.shape);
  for (size_t i = 0; i < xv.size(); ++i) {
    double q = scale == 0 ? 0 : round_half_even(double(xv[i] / scale)) + zp;
    store_i64(y, i, int64_t(std::clamp(q, 0.0, 255.0)));
  }
  Tensor ts = Tensor::from_floats({}, {scale});
  Tensor tz(DType::U8, {});
  store_i64(tz, 0, int64_t(zp));
  return {y, ts, tz};
}

// Einsum by direct summation over every label combination: plain, general (repeated labels
// give diagonals, "..." broadcasts), and fast enough for attention-sized operands.
Outputs einsum(const ir::Node& n, const Inputs& ins) {
  std::string eq;
  for (char c : attr_s(n, "equation", ""))
    if (c != ' ') eq += c;
  std::vector<const Tensor*> xs;
  for (auto* t : ins)
    if (t) xs.push_back(t);
  if (xs.empty()) invalid(n, "needs at least one input");
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != xs.size())
    invalid(n, fmt::format("equation '{}' has {} operands but the node has {} inputs", eq, terms.size(), xs.size()));
  // Labels: letters keep their char; broadcast ("...") dims become '0', '1', ... right-aligned.
  int64_t ell = 0;
  std::vector<std::string> labels(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    const std::string& t = terms[i];
    size_t dots = t.find("...");
    int64_t letters = int64_t(t.size()) - (dots == std::string::npos ? 0 : 3);
    int64_t e = int64_t(xs[i]->shape.size()) - letters;
    if (e < 0 || (dots == std::string::npos && e != 0))
      invalid(n, fmt::format("term '{}' does not match input {} of rank {}", t, i, xs[i]->shape.size()));
    ell = std::max(ell, e);
  }
  if (ell > 10) unsupported(n, "more than 10 broadcast dimensions");
  auto expand = [&](const std::string& t, int64_t e) {
    std::string r;
    for (size_t c = 0; c < t.size(); ++c) {
      if (t.compare(c, 3, "...") == 0) {
        for (int64_t k = ell - e; k < ell; ++k) r += char('0' + k);
        c += 2;
      } else if (std::isalpha(static_cast<unsigned char>(t[c]))) {
        r += t[c];
      } else {
        invalid(n, fmt::format("bad character '{}' in equation '{}'", t[c], eq));
      }
    }
    return r;
  };
  std::map<char, int64_t> size;
  std::map<char, int> count;
  for (size_t i = 0; i < xs.size(); ++i) {
    int64_t e = int64_t(xs[i]->shape.size()) - (int64_t(terms[i].size()) - (terms[i].find("...") == std::string::npos ? 0 : 3));
    labels[i] = expand(terms[i], e);
    for (size_t d = 0; d < labels[i].size(); ++d) {
      char l = labels[i][d];
      int64_t dim = xs[i]->shape[d];
      ++count[l];
      auto it = size.find(l);
      if (it == size.end() || it->second == 1) size[l] = dim;
      else if (dim != it->second && !(std::isdigit(static_cast<unsigned char>(l)) && dim == 1))
        invalid(n, fmt::format("label '{}' has sizes {} and {}", l, it->second, dim));
    }
  }
  std::string out;
  if (arrow != std::string::npos) {
    out = expand(eq.substr(arrow + 2), ell);
  } else {
    for (int64_t k = 0; k < ell; ++k) out += char('0' + k);
    for (auto& [l, c] : count)
      if (std::isalpha(static_cast<unsigned char>(l)) && c == 1) out += l;
  }
  std::string summed;
  for (auto& [l, c] : size)
    if (out.find(l) == std::string::npos) summed += l;
  for (char l : out)
    if (!size.count(l)) invalid(n, fmt::format("output label '{}' appears in no input", l));
  const std::string all = out + summed;
  // Per input, the element stride contributed by each label (0 where broadcast).
  std::vector<std::vector<int64_t>> st(xs.size(), std::vector<int64_t>(all.size(), 0));
  for (size_t i = 0; i < xs.size(); ++i) {
    auto own = strides_of(xs[i]->shape);
    for (size_t d = 0; d < labels[i].size(); ++d)
      if (xs[i]->shape[d] != 1) st[i][all.find(labels[i][d])] += own[d];
  }
  std::vector<std::vector<double>> vals;
  for (auto* t : xs) vals.push_back(to_f64(*t));
  Shape out_shape;
  for (char l : out) out_shape.push_back(size[l]);
  int64_t inner = 1;
  for (char l : summed) inner *= size[l];
  std::vector<double> y(size_t(shape_numel(out_shape)), 0.0);
  std::vector<int64_t> idx(all.size(), 0);
  const size_t no = out.size();
  for (size_t o = 0; o < y.size(); ++o) {
    double acc = 0;
    std::fill(idx.begin() + long(no), idx.end(), 0);
    for (int64_t k = 0; k < inner; ++k) {
      double prod = 1;
      for (size_t i = 0; i < xs.size(); ++i) {
        int64_t off = 0;
        for (size_t d = 0; d < all.size(); ++d) off += idx[d] * st[i][d];
        prod *= vals[i][size_t(off)];
      }
      acc += prod;
      for (size_t d = all.size(); d-- > no;) {
        if (++idx[d] < size[all[d]]) break;
        idx[d] = 0;
      }
    }
    y[o] = acc;
    for (size_t d = no; d-- > 0;) {
      if (++idx[d] < size[all[d]]) break;
      idx[d] = 0;
    }
  }
  return {from_f64(xs[0]->dtype, out_shape, y)};
}

// Determinant of the trailing square matrices, by LU decomposition with partial pivoting.
Outputs det(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const size_t r = x.shape.size();
  if (r < 2 || x.shape[r - 1] != x.shape[r - 2]) invalid(n, fmt::format("input {} must end in a square matrix", shape_str(x.shape)));
  const int64_t m = x.shape[r - 1];
  Shape out(x.shape.begin(), x.shape.end() - 2);
  std::vector<double> xv = to_f64(x), y(size_t(shape_numel(out)));
  for (size_t k = 0; k < y.size(); ++k) {
    std::vector<double> a(xv.begin() + long(k * size_t(m * m)), xv.begin() + long((k + 1) * size_t(m * m)));
    double d = 1;
    for (int64_t col = 0; col < m && d != 0; ++col) {
      int64_t piv = col;
      for (int64_t row = col + 1; row < m; ++row)
        if (std::fabs(a[size_t(row * m + col)]) > std::fabs(a[size_t(piv * m + col)])) piv = row;
      if (a[size_t(piv * m + col)] == 0) { d = 0; break; }
      if (piv != col) {
        for (int64_t j = 0; j < m; ++j) std::swap(a[size_t(piv * m + j)], a[size_t(col * m + j)]);
        d = -d;
      }
      const double p = a[size_t(col * m + col)];
      d *= p;
      for (int64_t row = col + 1; row < m; ++row) {
        const double f = a[size_t(row * m + col)] / p;
        for (int64_t j = col; j < m; ++j) a[size_t(row * m + j)] -= f * a[size_t(col * m + j)];
      }
    }
    y[k] = d;
  }
  return {from_f64(x.dtype, out, y)};
}

}  // namespace

void register_linalg(KernelTable& t) {
  t["MatMul"] = matmul;
  t["MatMulInteger"] = matmul_integer;
  t["QLinearMatMul"] = qlinear_matmul;
  t["Gemm"] = gemm;
  t["Conv"] = conv;
  t["ConvInteger"] = conv_integer;
  t["QLinearConv"] = qlinear_conv;
  t["ConvTranspose"] = conv_transpose;
  t["QuantizeLinear"] = quantize_linear;
  t["DequantizeLinear"] = dequantize_linear;
  t["DynamicQuantizeLinear"] = dynamic_quantize_linear;
  t["Einsum"] = einsum;
  t["Det"] = det;
}

}  // namespace cardsim::ref::detail
