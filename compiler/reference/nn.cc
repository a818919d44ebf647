// Neural-network operators that are neither products nor pure data movement: pooling,
// normalizations, softmax family, reductions, ArgMax/ArgMin and CumSum. Arithmetic in
// double, rounded once to the output type; integer reductions exact in int64.
#include <algorithm>
#include <cmath>
#include <limits>

#include "compiler/reference/detail.h"

namespace cardsim::ref::detail {
namespace {

// ---- pooling -------------------------------------------------------------------------------

Outputs pool(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  if (x.shape.size() < 3) invalid(n, fmt::format("X {} must be [N,C,spatial...]", shape_str(x.shape)));
  const std::string& op = n.op_type;
  const size_t r = x.shape.size() - 2;
  Shape in_sp(x.shape.begin() + 2, x.shape.end());
  auto kernel = attr_ints(n, "kernel_shape", {});
  if (kernel.empty()) invalid(n, "attribute kernel_shape is required");
  Window w = forward_window(n, in_sp, kernel, true);
  const bool is_max = op == "MaxPool";
  const bool count_pad = attr_i(n, "count_include_pad", 0) != 0;
  const double p = double(attr_i(n, "p", 2));
  const bool col_major = attr_i(n, "storage_order", 0) != 0;
  const int64_t planes = x.shape[0] * x.shape[1], iprod = shape_numel(in_sp), oprod = shape_numel(w.out);
  Shape out_shape{x.shape[0], x.shape[1]};
  out_shape.insert(out_shape.end(), w.out.begin(), w.out.end());
  Tensor y(x.dtype, out_shape);
  Tensor idx(DType::I64, out_shape);
  const bool want_idx = is_max && wants_output(n, 1);
  const auto in_st = strides_of(in_sp);
  std::vector<int64_t> cm_st(r, 1);  // column-major strides for storage_order=1 indices
  for (size_t d = 1; d < r; ++d) cm_st[d] = cm_st[d - 1] * in_sp[d - 1];
  std::vector<double> xv = to_f64(x);
  std::vector<int64_t> oo(r), kk(r), lo(r), hi(r);
  const int64_t kprod = shape_numel(kernel);
  for (int64_t pl = 0; pl < planes; ++pl) {
    const double* xp = xv.data() + pl * iprod;
    std::fill(oo.begin(), oo.end(), 0);
    for (int64_t o = 0; o < oprod; ++o) {
      double acc = is_max ? -INFINITY : 0;
      int64_t best = -1, valid = 0, padded_span = 1;
      for (size_t d = 0; d < r; ++d) {
        int64_t start = oo[d] * w.strides[d] - w.pads_begin[d];
        int64_t end = std::min(start + (kernel[d] - 1) * w.dilations[d] + 1, in_sp[d] + w.pads_end[d]);
        padded_span *= (end - start + w.dilations[d] - 1) / w.dilations[d];
      }
      std::fill(kk.begin(), kk.end(), 0);
      for (int64_t k = 0; k < kprod; ++k) {
        int64_t off = 0, cm = 0;
        bool inside = true;
        for (size_t d = 0; d < r; ++d) {
          int64_t i = oo[d] * w.strides[d] - w.pads_begin[d] + kk[d] * w.dilations[d];
          if (i < 0 || i >= in_sp[d]) { inside = false; break; }
          off += i * in_st[d];
          cm += i * cm_st[d];
        }
        if (inside) {
          double v = xp[off];
          ++valid;
          if (is_max) {
            if (v > acc || best < 0) { acc = v; best = col_major ? cm : off; }
          } else if (op == "LpPool") {
            acc += std::pow(std::fabs(v), p);
          } else {
            acc += v;
          }
        }
        for (int64_t d = int64_t(r) - 1; d >= 0; --d) {
          if (++kk[d] < kernel[d]) break;
          kk[d] = 0;
        }
      }
      double out;
      if (is_max) out = acc;
      else if (op == "LpPool") out = std::pow(acc, 1.0 / p);
      else out = acc / double(count_pad ? padded_span : std::max<int64_t>(valid, 1));
      y.set(size_t(pl * oprod + o), out);
      if (want_idx) store_i64(idx, size_t(pl * oprod + o), pl * iprod + best);
      for (int64_t d = int64_t(r) - 1; d >= 0; --d) {
        if (++oo[d] < w.out[d]) break;
        oo[d] = 0;
      }
    }
  }
  if (want_idx) return {y, idx};
  return {y};
}

Outputs global_pool(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  if (x.shape.size() < 3) invalid(n, fmt::format("X {} must be [N,C,spatial...]", shape_str(x.shape)));
  const int64_t planes = x.shape[0] * x.shape[1], sp = x.numel() / std::max<int64_t>(planes, 1);
  Shape out{x.shape[0], x.shape[1]};
  out.resize(x.shape.size(), 1);
  Tensor y(x.dtype, out);
  const double p = double(attr_i(n, "p", 2));
  std::vector<double> xv = to_f64(x);
  for (int64_t pl = 0; pl < planes; ++pl) {
    const double* xp = xv.data() + pl * sp;
    double acc = n.op_type == "GlobalMaxPool" ? -INFINITY : 0;
    for (int64_t i = 0; i < sp; ++i) {
      if (n.op_type == "GlobalMaxPool") acc = std::max(acc, xp[i]);
      else if (n.op_type == "GlobalLpPool") acc += std::pow(std::fabs(xp[i]), p);
      else acc += xp[i];
    }
    if (n.op_type == "GlobalAveragePool") acc /= double(sp);
    if (n.op_type == "GlobalLpPool") acc = std::pow(acc, 1.0 / p);
    y.set(size_t(pl), acc);
  }
  return {y};
}

// ---- normalization ---------------------------------------------------------------------------

Outputs batch_norm(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  if (x.shape.size() < 2) invalid(n, fmt::format("X {} must be [N,C,...]", shape_str(x.shape)));
  const int64_t C = x.shape[1], N = x.shape[0], inner = N * C != 0 ? x.numel() / (N * C) : 0;
  std::vector<double> scale = to_f64(in(n, ins, 1)), bias = to_f64(in(n, ins, 2));
  std::vector<double> mean = to_f64(in(n, ins, 3)), var = to_f64(in(n, ins, 4));
  for (auto* v : {&scale, &bias, &mean, &var})
    if (int64_t(v->size()) != C) invalid(n, fmt::format("scale/B/mean/var must have C={} values", C));
  const double eps = attr_f(n, "epsilon", 1e-5f);
  const bool training = attr_i(n, "training_mode", 0) != 0;
  std::vector<double> xv = to_f64(x);
  std::vector<double> use_mean = mean, use_var = var;
  if (training) {  // batch statistics; running statistics are updated with momentum
    for (int64_t c = 0; c < C; ++c) {
      double s = 0, ss = 0;
      for (int64_t b = 0; b < N; ++b)
        for (int64_t i = 0; i < inner; ++i) s += xv[size_t((b * C + c) * inner + i)];
      double m = s / double(N * inner);
      for (int64_t b = 0; b < N; ++b)
        for (int64_t i = 0; i < inner; ++i) {
          double d = xv[size_t((b * C + c) * inner + i)] - m;
          ss += d * d;
        }
      use_mean[size_t(c)] = m;
      use_var[size_t(c)] = ss / double(N * inner);
    }
  }
  std::vector<double> y(xv.size());
  for (size_t i = 0; i < xv.size(); ++i) {
    size_t c = size_t((int64_t(i) / inner) % C);
    y[i] = (xv[i] - use_mean[c]) / std::sqrt(use_var[c] + eps) * scale[c] + bias[c];
  }
  Outputs out{from_f64(x.dtype, x.shape, y)};
  if (training) {
    const double mom = attr_f(n, "momentum", 0.9f);
    std::vector<double> rm(static_cast<size_t>(C)), rv(static_cast<size_t>(C));
    for (size_t c = 0; c < size_t(C); ++c) {
      rm[c] = mean[c] * mom + use_mean[c] * (1 - mom);
      rv[c] = var[c] * mom + use_var[c] * (1 - mom);
    }
    out.push_back(from_f64(in(n, ins, 3).dtype, {C}, rm));
    out.push_back(from_f64(in(n, ins, 4).dtype, {C}, rv));
  }
  return out;
}

Outputs instance_norm(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  if (x.shape.size() < 3) invalid(n, fmt::format("X {} must be [N,C,spatial...]", shape_str(x.shape)));
  const int64_t C = x.shape[1], planes = x.shape[0] * C, sp = planes ? x.numel() / planes : 0;
  std::vector<double> scale = to_f64(in(n, ins, 1)), bias = to_f64(in(n, ins, 2));
  if (int64_t(scale.size()) != C || int64_t(bias.size()) != C) invalid(n, "scale and B must have C values");
  const double eps = attr_f(n, "epsilon", 1e-5f);
  std::vector<double> xv = to_f64(x);
  for (int64_t pl = 0; pl < planes; ++pl) {
    double* p = xv.data() + pl * sp;
    double s = 0, ss = 0;
    for (int64_t i = 0; i < sp; ++i) s += p[i];
    double m = s / double(sp);
    for (int64_t i = 0; i < sp; ++i) ss += (p[i] - m) * (p[i] - m);
    double inv = 1 / std::sqrt(ss / double(sp) + eps);
    size_t c = size_t(pl % C);
    for (int64_t i = 0; i < sp; ++i) p[i] = (p[i] - m) * inv * scale[c] + bias[c];
  }
  return {from_f64(x.dtype, x.shape, xv)};
}

// Values of `t` broadcast (unidirectionally) to `shape`, as doubles.
std::vector<double> broadcast_to(const ir::Node& n, const Tensor& t, const Shape& shape, const char* what) {
  if (broadcast_shapes(n, {shape, t.shape}) != shape)
    invalid(n, fmt::format("{} {} does not broadcast to {}", what, shape_str(t.shape), shape_str(shape)));
  std::vector<double> src = to_f64(t), r(size_t(shape_numel(shape)));
  for_each_broadcast(shape, {broadcast_strides(t.shape, shape)},
                     [&](int64_t o, const int64_t* off) { r[size_t(o)] = src[size_t(off[0])]; });
  return r;
}

Outputs layer_norm(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const int64_t rank = int64_t(x.shape.size());
  const int64_t axis = norm_axis(n, attr_i(n, "axis", -1), rank);
  const double eps = attr_f(n, "epsilon", 1e-5f);
  Shape norm_shape(x.shape.begin() + axis, x.shape.end());
  const int64_t inner = shape_numel(norm_shape), outer = inner ? x.numel() / inner : 0;
  std::vector<double> scale = broadcast_to(n, in(n, ins, 1), norm_shape, "Scale");
  std::vector<double> bias = opt(ins, 2) ? broadcast_to(n, *opt(ins, 2), norm_shape, "B") : std::vector<double>(size_t(inner), 0);
  std::vector<double> xv = to_f64(x), mean(static_cast<size_t>(outer)), inv(static_cast<size_t>(outer));
  for (int64_t o = 0; o < outer; ++o) {
    double* p = xv.data() + o * inner;
    double s = 0, ss = 0;
    for (int64_t i = 0; i < inner; ++i) s += p[i];
    double m = s / double(inner);
    for (int64_t i = 0; i < inner; ++i) ss += (p[i] - m) * (p[i] - m);
    mean[size_t(o)] = m;
    inv[size_t(o)] = 1 / std::sqrt(ss / double(inner) + eps);
    for (int64_t i = 0; i < inner; ++i) p[i] = (p[i] - m) * inv[size_t(o)] * scale[size_t(i)] + bias[size_t(i)];
  }
  Shape stat_shape(x.shape.begin(), x.shape.begin() + axis);
  stat_shape.resize(size_t(rank), 1);
  DType stash = attr_i(n, "stash_type", 1) == 1 ? DType::F32 : x.dtype;
  return {from_f64(x.dtype, x.shape, xv), from_f64(stash, stat_shape, mean), from_f64(stash, stat_shape, inv)};
}

// (X - mean) / (sqrt(var) + 1e-9) over `axes`, as the ONNX function body defines it.
Outputs mean_variance_norm(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const int64_t rank = int64_t(x.shape.size());
  std::vector<bool> reduced(size_t(rank), false);
  for (int64_t a : attr_ints(n, "axes", {0, 2, 3})) reduced[size_t(norm_axis(n, a, rank, "axes value"))] = true;
  Shape kd = x.shape;
  for (int64_t d = 0; d < rank; ++d)
    if (reduced[size_t(d)]) kd[size_t(d)] = 1;
  const size_t groups = size_t(shape_numel(kd));
  const double count = groups ? double(x.numel()) / double(groups) : 1;
  std::vector<std::vector<int64_t>> st = {broadcast_strides(kd, x.shape), strides_of(x.shape)};
  std::vector<double> xv = to_f64(x), s(groups, 0), ss(groups, 0);
  for_each_broadcast(x.shape, st, [&](int64_t, const int64_t* off) {
    double v = xv[size_t(off[1])];
    s[size_t(off[0])] += v;
    ss[size_t(off[0])] += v * v;
  });
  for_each_broadcast(x.shape, st, [&](int64_t, const int64_t* off) {
    double m = s[size_t(off[0])] / count, var = ss[size_t(off[0])] / count - m * m;
    double& v = xv[size_t(off[1])];
    v = (v - m) / (std::sqrt(std::max(var, 0.0)) + 1e-9);
  });
  return {from_f64(x.dtype, x.shape, xv)};
}

Outputs lrn(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  if (x.shape.size() < 3) invalid(n, "X must be [N,C,spatial...]");
  const int64_t size = attr_i(n, "size", 0);
  if (size <= 0) invalid(n, "attribute size is required and must be positive");
  const double alpha = attr_f(n, "alpha", 1e-4f), beta = attr_f(n, "beta", 0.75f), bias = attr_f(n, "bias", 1.0f);
  const int64_t C = x.shape[1], sp = x.shape[0] * C != 0 ? x.numel() / (x.shape[0] * C) : 0;
  const int64_t before = (size - 1) / 2, after = size - 1 - before;
  std::vector<double> xv = to_f64(x), y(xv.size());
  for (int64_t b = 0; b < x.shape[0]; ++b)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < sp; ++i) {
        double sq = 0;
        for (int64_t j = std::max<int64_t>(0, c - before); j <= std::min(C - 1, c + after); ++j) {
          double v = xv[size_t((b * C + j) * sp + i)];
          sq += v * v;
        }
        size_t k = size_t((b * C + c) * sp + i);
        y[k] = xv[k] / std::pow(bias + alpha / double(size) * sq, beta);
      }
  return {from_f64(x.dtype, x.shape, y)};
}

// ---- softmax family --------------------------------------------------------------------------

Outputs softmax(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const int64_t rank = int64_t(x.shape.size());
  const bool legacy = n.opset < 13;  // before 13 the input is coerced to 2-D at `axis`
  const int64_t axis = norm_axis(n, attr_i(n, "axis", legacy ? 1 : -1), rank);
  int64_t outer = 1, len = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d) {
    if (d < axis) outer *= x.shape[size_t(d)];
    else if (d == axis || legacy) len *= x.shape[size_t(d)];
    else inner *= x.shape[size_t(d)];
  }
  std::vector<double> xv = to_f64(x);
  const std::string& op = n.op_type;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double* base = xv.data() + o * len * inner + i;
      auto at = [&](int64_t k) -> double& { return base[k * inner]; };
      double mx = -INFINITY;
      int64_t arg = 0;
      for (int64_t k = 0; k < len; ++k)
        if (at(k) > mx) { mx = at(k); arg = k; }
      if (op == "Hardmax") {
        for (int64_t k = 0; k < len; ++k) at(k) = k == arg ? 1 : 0;
        continue;
      }
      double s = 0;
      for (int64_t k = 0; k < len; ++k) s += std::exp(at(k) - mx);
      for (int64_t k = 0; k < len; ++k)
        at(k) = op == "LogSoftmax" ? at(k) - mx - std::log(s) : std::exp(at(k) - mx) / s;
    }
  return {from_f64(x.dtype, x.shape, xv)};
}

// ---- reductions --------------------------------------------------------------------------------

enum class Red { Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare };

const std::map<std::string, Red>& reductions() {
  static const std::map<std::string, Red> t = {
      {"ReduceSum", Red::Sum},   {"ReduceMean", Red::Mean}, {"ReduceMax", Red::Max},
      {"ReduceMin", Red::Min},   {"ReduceProd", Red::Prod}, {"ReduceL1", Red::L1},
      {"ReduceL2", Red::L2},     {"ReduceLogSum", Red::LogSum}, {"ReduceLogSumExp", Red::LogSumExp},
      {"ReduceSumSquare", Red::SumSquare}};
  return t;
}

Outputs reduce(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const Red kind = reductions().at(n.op_type);
  const int64_t rank = int64_t(x.shape.size());
  const bool keep = attr_i(n, "keepdims", 1) != 0;
  std::vector<int64_t> axes;
  if (const Tensor* a = opt(ins, 1)) axes = ints_of(*a);  // ReduceSum >= 13, others >= 18
  else axes = attr_ints(n, "axes", {});
  std::vector<bool> reduced(size_t(rank), axes.empty());
  if (axes.empty() && attr_i(n, "noop_with_empty_axes", 0) != 0) return {x};
  for (int64_t a : axes) reduced[size_t(norm_axis(n, a, rank, "axes value"))] = true;
  Shape kd_shape = x.shape, out_shape;
  for (int64_t d = 0; d < rank; ++d) {
    if (reduced[size_t(d)]) kd_shape[size_t(d)] = 1;
    if (!reduced[size_t(d)] || keep) out_shape.push_back(kd_shape[size_t(d)]);
  }
  const size_t out_n = size_t(shape_numel(kd_shape));
  const int64_t count = out_n ? x.numel() / int64_t(out_n) : 0;
  std::vector<std::vector<int64_t>> st = {broadcast_strides(kd_shape, x.shape), strides_of(x.shape)};
  Tensor y(x.dtype, out_shape);
  const bool exact_int = dtype_is_integer(x.dtype) &&
                         (kind == Red::Sum || kind == Red::Max || kind == Red::Min || kind == Red::Prod ||
                          kind == Red::Mean || kind == Red::L1 || kind == Red::SumSquare);
  if (exact_int) {
    int64_t init = kind == Red::Max ? INT64_MIN : kind == Red::Min ? INT64_MAX : kind == Red::Prod ? 1 : 0;
    std::vector<int64_t> acc(out_n, init);
    for_each_broadcast(x.shape, st, [&](int64_t, const int64_t* off) {
      int64_t v = load_i64(x, size_t(off[1]));
      int64_t& a = acc[size_t(off[0])];
      switch (kind) {
        case Red::Max: a = std::max(a, v); break;
        case Red::Min: a = std::min(a, v); break;
        case Red::Prod: a *= v; break;
        case Red::L1: a += v < 0 ? -v : v; break;
        case Red::SumSquare: a += v * v; break;
        default: a += v; break;
      }
    });
    for (size_t i = 0; i < out_n; ++i) store_i64(y, i, kind == Red::Mean ? acc[i] / std::max<int64_t>(count, 1) : acc[i]);
    return {y};
  }
  double init = kind == Red::Max ? -INFINITY : kind == Red::Min ? INFINITY : kind == Red::Prod ? 1 : 0;
  std::vector<double> acc(out_n, init), mx;
  std::vector<double> xv = to_f64(x);
  if (kind == Red::LogSumExp) {  // subtract the max for stability
    mx.assign(out_n, -INFINITY);
    for_each_broadcast(x.shape, st, [&](int64_t, const int64_t* off) {
      mx[size_t(off[0])] = std::max(mx[size_t(off[0])], xv[size_t(off[1])]);
    });
    for (auto& m : mx) if (!std::isfinite(m)) m = 0;
  }
  for_each_broadcast(x.shape, st, [&](int64_t, const int64_t* off) {
    double v = xv[size_t(off[1])];
    double& a = acc[size_t(off[0])];
    switch (kind) {
      case Red::Max: a = (std::isnan(v) || v > a) ? v : a; break;
      case Red::Min: a = (std::isnan(v) || v < a) ? v : a; break;
      case Red::Prod: a *= v; break;
      case Red::L1: a += std::fabs(v); break;
      case Red::L2: case Red::SumSquare: a += v * v; break;
      case Red::LogSumExp: a += std::exp(v - mx[size_t(off[0])]); break;
      default: a += v; break;
    }
  });
  for (size_t i = 0; i < out_n; ++i) {
    double a = acc[i];
    switch (kind) {
      case Red::Mean: a /= double(count); break;
      case Red::L2: a = std::sqrt(a); break;
      case Red::LogSum: a = std::log(a); break;
      case Red::LogSumExp: a = std::log(a) + mx[i]; break;
      default: break;
    }
    if (dtype_is_integer(x.dtype)) store_i64(y, i, int64_t(a));
    else y.set(i, a);
  }
  return {y};
}

Outputs arg_reduce(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const int64_t rank = int64_t(x.shape.size());
  const int64_t axis = norm_axis(n, attr_i(n, "axis", 0), rank);
  const bool keep = attr_i(n, "keepdims", 1) != 0, last = attr_i(n, "select_last_index", 0) != 0;
  const bool is_max = n.op_type == "ArgMax";
  int64_t outer = 1, len = x.shape[size_t(axis)], inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[size_t(d)];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= x.shape[size_t(d)];
  if (len == 0) invalid(n, fmt::format("cannot take {} over an empty axis {}", n.op_type, axis));
  Shape out = x.shape;
  if (keep) out[size_t(axis)] = 1;
  else out.erase(out.begin() + axis);
  Tensor y(DType::I64, out);
  std::vector<double> xv = to_f64(x);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      int64_t best = 0;
      double bv = xv[size_t(o * len * inner + i)];
      for (int64_t k = 1; k < len; ++k) {
        double v = xv[size_t((o * len + k) * inner + i)];
        bool better = is_max ? (v > bv || (last && v == bv)) : (v < bv || (last && v == bv));
        if (better) { bv = v; best = k; }
      }
      store_i64(y, size_t(o * inner + i), best);
    }
  return {y};
}

Outputs cumsum(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const int64_t rank = int64_t(x.shape.size());
  const int64_t axis = norm_axis(n, scalar_i(n, in(n, ins, 1), "axis"), rank);
  const bool excl = attr_i(n, "exclusive", 0) != 0, rev = attr_i(n, "reverse", 0) != 0;
  int64_t outer = 1, len = x.shape[size_t(axis)], inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[size_t(d)];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= x.shape[size_t(d)];
  Tensor y(x.dtype, x.shape);
  const bool ints = dtype_is_integer(x.dtype);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double s = 0;
      int64_t si = 0;
      for (int64_t step = 0; step < len; ++step) {
        int64_t k = rev ? len - 1 - step : step;
        size_t idx = size_t((o * len + k) * inner + i);
        if (excl) { if (ints) store_i64(y, idx, si); else y.set(idx, s); }
        if (ints) si += load_i64(x, idx); else s += x.get(idx);
        if (!excl) { if (ints) store_i64(y, idx, si); else y.set(idx, s); }
      }
    }
  return {y};
}

}  // namespace

void register_nn(KernelTable& t) {
  t["MaxPool"] = pool;
  t["AveragePool"] = pool;
  t["LpPool"] = pool;
  t["GlobalAveragePool"] = global_pool;
  t["GlobalMaxPool"] = global_pool;
  t["GlobalLpPool"] = global_pool;
  t["BatchNormalization"] = batch_norm;
  t["InstanceNormalization"] = instance_norm;
  t["LayerNormalization"] = layer_norm;
  t["LRN"] = lrn;
  t["MeanVarianceNormalization"] = mean_variance_norm;
  t["Softmax"] = softmax;
  t["LogSoftmax"] = softmax;
  t["Hardmax"] = softmax;
  for (auto& [name, k] : reductions()) t[name] = reduce;
  t["ArgMax"] = arg_reduce;
  t["ArgMin"] = arg_reduce;
  t["CumSum"] = cumsum;
}

}  // namespace cardsim::ref::detail
