// Elementwise operators: unary math and activations, numpy-broadcasting binary arithmetic,
// comparisons and logic, variadic Min/Max/Sum/Mean, Where, Clip and Cast.
// Floats are computed in double and rounded once to the output type (for + - * / sqrt this
// equals the correctly rounded float result); integers are computed exactly in int64.
#include <algorithm>
#include <cmath>
#include <limits>

#include "compiler/reference/detail.h"

namespace cardsim::ref::detail {
namespace {

// ---- unary ------------------------------------------------------------------------------

template <class F>
Tensor map_float(const Tensor& x, DType out_dt, F f) {
  Tensor y(out_dt, x.shape);
  const size_t n = size_t(x.numel());
  if (x.dtype == DType::F32 && out_dt == DType::F32) {
    const float* a = x.ptr<float>();
    float* b = y.ptr<float>();
    for (size_t i = 0; i < n; ++i) b[i] = float(f(double(a[i])));
  } else if (dtype_is_integer(out_dt)) {
    for (size_t i = 0; i < n; ++i) {
      double v = f(dtype_is_integer(x.dtype) ? double(load_i64(x, i)) : x.get(i));
      store_i64(y, i, std::isfinite(v) ? int64_t(v) : 0);
    }
  } else {
    for (size_t i = 0; i < n; ++i) y.set(i, f(dtype_is_integer(x.dtype) ? double(load_i64(x, i)) : x.get(i)));
  }
  return y;
}

template <class F>
Tensor map_int(const Tensor& x, F f) {
  Tensor y(x.dtype, x.shape);
  for (size_t i = 0, n = size_t(x.numel()); i < n; ++i) store_i64(y, i, f(load_i64(x, i)));
  return y;
}

struct UnaryFns {
  double (*f)(double);
  int64_t (*i)(int64_t);  // nullptr: float-only operator
};

double sigmoid(double x) { return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)); }
double sign_d(double x) { return x > 0 ? 1 : x < 0 ? -1 : 0; }
int64_t sign_i(int64_t x) { return x > 0 ? 1 : x < 0 ? -1 : 0; }

const std::map<std::string, UnaryFns>& unary_table() {
  static const std::map<std::string, UnaryFns> t = {
      {"Abs", {[](double x) { return std::fabs(x); }, [](int64_t x) { return x < 0 ? -x : x; }}},
      {"Neg", {[](double x) { return -x; }, [](int64_t x) { return -x; }}},
      {"Relu", {[](double x) { return x > 0 ? x : 0.0; }, [](int64_t x) { return x > 0 ? x : int64_t(0); }}},
      {"Sign", {sign_d, sign_i}},
      {"Floor", {[](double x) { return std::floor(x); }, [](int64_t x) { return x; }}},
      {"Ceil", {[](double x) { return std::ceil(x); }, [](int64_t x) { return x; }}},
      {"Round", {[](double x) { return std::nearbyint(x); }, [](int64_t x) { return x; }}},
      {"Sqrt", {[](double x) { return std::sqrt(x); }, nullptr}},
      {"Exp", {[](double x) { return std::exp(x); }, nullptr}},
      {"Log", {[](double x) { return std::log(x); }, nullptr}},
      {"Reciprocal", {[](double x) { return 1 / x; }, nullptr}},
      {"Sigmoid", {sigmoid, nullptr}},
      {"Tanh", {[](double x) { return std::tanh(x); }, nullptr}},
      {"Erf", {[](double x) { return std::erf(x); }, nullptr}},
      {"Softplus", {[](double x) { return x > 30 ? x : std::log1p(std::exp(x)); }, nullptr}},
      {"Softsign", {[](double x) { return x / (1 + std::fabs(x)); }, nullptr}},
      {"Sin", {[](double x) { return std::sin(x); }, nullptr}},
      {"Cos", {[](double x) { return std::cos(x); }, nullptr}},
      {"Tan", {[](double x) { return std::tan(x); }, nullptr}},
      {"Asin", {[](double x) { return std::asin(x); }, nullptr}},
      {"Acos", {[](double x) { return std::acos(x); }, nullptr}},
      {"Atan", {[](double x) { return std::atan(x); }, nullptr}},
      {"Sinh", {[](double x) { return std::sinh(x); }, nullptr}},
      {"Cosh", {[](double x) { return std::cosh(x); }, nullptr}},
      {"Asinh", {[](double x) { return std::asinh(x); }, nullptr}},
      {"Acosh", {[](double x) { return std::acosh(x); }, nullptr}},
      {"Atanh", {[](double x) { return std::atanh(x); }, nullptr}},
  };
  return t;
}

Outputs unary(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const UnaryFns& fns = unary_table().at(n.op_type);
  if (dtype_is_integer(x.dtype)) {
    if (!fns.i) unsupported(n, fmt::format("integer input type {}", dtype_name(x.dtype)));
    return {map_int(x, fns.i)};
  }
  return {map_float(x, x.dtype, fns.f)};
}

// Activations with attributes.
Outputs activation(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const std::string& op = n.op_type;
  if (op == "LeakyRelu") {
    double a = attr_f(n, "alpha", 0.01f);
    return {map_float(x, x.dtype, [a](double v) { return v >= 0 ? v : a * v; })};
  }
  if (op == "HardSigmoid") {
    double a = attr_f(n, "alpha", 0.2f), b = attr_f(n, "beta", 0.5f);
    return {map_float(x, x.dtype, [a, b](double v) { return std::clamp(a * v + b, 0.0, 1.0); })};
  }
  if (op == "HardSwish") {
    return {map_float(x, x.dtype, [](double v) { return v * std::clamp(v / 6 + 0.5, 0.0, 1.0); })};
  }
  if (op == "Elu") {
    double a = attr_f(n, "alpha", 1.0f);
    return {map_float(x, x.dtype, [a](double v) { return v >= 0 ? v : a * (std::exp(v) - 1); })};
  }
  if (op == "Selu") {
    double a = attr_f(n, "alpha", 1.67326319217681884765625f), g = attr_f(n, "gamma", 1.05070102214813232421875f);
    return {map_float(x, x.dtype, [a, g](double v) { return v > 0 ? g * v : g * (a * std::exp(v) - a); })};
  }
  if (op == "Celu") {
    double a = attr_f(n, "alpha", 1.0f);
    return {map_float(x, x.dtype,
                      [a](double v) { return std::max(0.0, v) + std::min(0.0, a * (std::exp(v / a) - 1)); })};
  }
  if (op == "ThresholdedRelu") {
    double a = attr_f(n, "alpha", 1.0f);
    return {map_float(x, x.dtype, [a](double v) { return v > a ? v : 0.0; })};
  }
  if (op == "Shrink") {
    double l = attr_f(n, "lambd", 0.5f), b = attr_f(n, "bias", 0.0f);
    return {map_float(x, x.dtype, [l, b](double v) { return v < -l ? v + b : v > l ? v - b : 0.0; })};
  }
  if (op == "Gelu") {  // opset 20, accepted for graphs that already use it
    std::string approx = attr_s(n, "approximate", "none");
    if (approx == "tanh")
      return {map_float(x, x.dtype, [](double v) {
        return 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
      })};
    return {map_float(x, x.dtype, [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); })};
  }
  unsupported(n, "activation not handled");
}

Outputs isnan_isinf(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  if (n.op_type == "IsNaN") return {map_float(x, DType::Bool, [](double v) { return std::isnan(v) ? 1.0 : 0.0; })};
  bool neg = attr_i(n, "detect_negative", 1) != 0, pos = attr_i(n, "detect_positive", 1) != 0;
  return {map_float(x, DType::Bool, [neg, pos](double v) {
    return std::isinf(v) && ((v < 0 && neg) || (v > 0 && pos)) ? 1.0 : 0.0;
  })};
}

// ---- binary with broadcasting -----------------------------------------------------------

using DFn = double (*)(double, double);
using IFn = int64_t (*)(int64_t, int64_t);

// Float32 a (op) b with broadcasting. Dimensions that are contiguous for both inputs are
// merged so the inner loop is long with fixed strides, and Op is inlined (this is the hot
// path of residual adds and channel-attention multiplies).
template <class Op>
void f32_binary(const float* pa, const float* pb, float* py, const Shape& out, const std::vector<int64_t>& sa,
                const std::vector<int64_t>& sb, Op op) {
  Shape s;
  std::vector<int64_t> A, B;
  for (size_t d = 0; d < out.size(); ++d) {
    if (out[d] == 1) continue;  // size-1 dims move no pointer
    if (!s.empty() && A.back() == sa[d] * out[d] && B.back() == sb[d] * out[d]) {
      s.back() *= out[d];
      A.back() = sa[d];
      B.back() = sb[d];
    } else {
      s.push_back(out[d]);
      A.push_back(sa[d]);
      B.push_back(sb[d]);
    }
  }
  if (s.empty()) {
    py[0] = op(pa[0], pb[0]);
    return;
  }
  const size_t r = s.size();
  const int64_t inner = s[r - 1], ia = A[r - 1], ib = B[r - 1], total = shape_numel(s);
  std::vector<int64_t> idx(r, 0);
  int64_t oa = 0, ob = 0;
  for (int64_t o = 0; o < total; o += inner) {
    float* y = py + o;
    const float* x0 = pa + oa;
    const float* x1 = pb + ob;
    if (ia == 1 && ib == 1) {
      for (int64_t i = 0; i < inner; ++i) y[i] = op(x0[i], x1[i]);
    } else if (ia == 1 && ib == 0) {
      const float v = x1[0];
      for (int64_t i = 0; i < inner; ++i) y[i] = op(x0[i], v);
    } else if (ia == 0 && ib == 1) {
      const float v = x0[0];
      for (int64_t i = 0; i < inner; ++i) y[i] = op(v, x1[i]);
    } else {
      for (int64_t i = 0; i < inner; ++i) y[i] = op(x0[i * ia], x1[i * ib]);
    }
    for (int64_t d = int64_t(r) - 2; d >= 0; --d) {
      ++idx[size_t(d)];
      oa += A[size_t(d)];
      ob += B[size_t(d)];
      if (idx[size_t(d)] < s[size_t(d)]) break;
      oa -= A[size_t(d)] * s[size_t(d)];
      ob -= B[size_t(d)] * s[size_t(d)];
      idx[size_t(d)] = 0;
    }
  }
}

// out = f(a, b) elementwise with numpy broadcasting. Computes in double when either input is
// a float type, otherwise in int64.
Tensor broadcast_binary(const ir::Node& n, const Tensor& a, const Tensor& b, DType out_dt, DFn fd, IFn fi,
                        const std::string& op = "") {
  Shape out = broadcast_shapes(n, {a.shape, b.shape});
  Tensor y(out_dt, out);
  std::vector<std::vector<int64_t>> st = {broadcast_strides(a.shape, out), broadcast_strides(b.shape, out)};
  bool floats = is_float(a) || is_float(b) || !fi;
  if (floats && a.dtype == DType::F32 && b.dtype == DType::F32 && out_dt == DType::F32) {
    const float *pa = a.ptr<float>(), *pb = b.ptr<float>();
    float* py = y.ptr<float>();
    if (y.numel() == 0) return y;
    // + - * / rounded once in float equal the double computation rounded to float.
    if (op == "Add") f32_binary(pa, pb, py, out, st[0], st[1], [](float x, float z) { return x + z; });
    else if (op == "Sub") f32_binary(pa, pb, py, out, st[0], st[1], [](float x, float z) { return x - z; });
    else if (op == "Mul") f32_binary(pa, pb, py, out, st[0], st[1], [](float x, float z) { return x * z; });
    else if (op == "Div") f32_binary(pa, pb, py, out, st[0], st[1], [](float x, float z) { return x / z; });
    else f32_binary(pa, pb, py, out, st[0], st[1], [fd](float x, float z) { return float(fd(x, z)); });
  } else if (floats) {
    bool int_out = dtype_is_integer(out_dt) && out_dt != DType::Bool;
    auto load = [](const Tensor& t, int64_t i) {
      return dtype_is_integer(t.dtype) ? double(load_i64(t, size_t(i))) : t.get(size_t(i));
    };
    for_each_broadcast(out, st, [&](int64_t o, const int64_t* off) {
      double v = fd(load(a, off[0]), load(b, off[1]));
      if (int_out) store_i64(y, size_t(o), std::isfinite(v) ? int64_t(v) : 0);  // truncate like astype
      else y.set(size_t(o), v);
    });
  } else {
    for_each_broadcast(out, st, [&](int64_t o, const int64_t* off) {
      store_i64(y, size_t(o), fi(load_i64(a, size_t(off[0])), load_i64(b, size_t(off[1]))));
    });
  }
  return y;
}

int64_t ipow(int64_t b, int64_t e) {
  if (e < 0) return b == 1 ? 1 : b == -1 ? (e % 2 ? -1 : 1) : 0;
  int64_t r = 1;
  while (e) {
    if (e & 1) r = int64_t(uint64_t(r) * uint64_t(b));
    b = int64_t(uint64_t(b) * uint64_t(b));
    e >>= 1;
  }
  return r;
}

struct BinaryFns {
  DFn f;
  IFn i;
  bool to_bool;  // comparison / logic: output is bool
};

const std::map<std::string, BinaryFns>& binary_table() {
  static const std::map<std::string, BinaryFns> t = {
      {"Add", {[](double x, double y) { return x + y; }, [](int64_t x, int64_t y) { return int64_t(uint64_t(x) + uint64_t(y)); }, false}},
      {"Sub", {[](double x, double y) { return x - y; }, [](int64_t x, int64_t y) { return int64_t(uint64_t(x) - uint64_t(y)); }, false}},
      {"Mul", {[](double x, double y) { return x * y; }, [](int64_t x, int64_t y) { return int64_t(uint64_t(x) * uint64_t(y)); }, false}},
      // Integer division truncates toward zero (C semantics, as onnxruntime); /0 gives 0 rather than a crash.
      {"Div", {[](double x, double y) { return x / y; }, [](int64_t x, int64_t y) { return y == 0 ? int64_t(0) : (y == -1 ? -x : x / y); }, false}},
      {"Pow", {[](double x, double y) { return std::pow(x, y); }, ipow, false}},
      {"Equal", {[](double x, double y) { return double(x == y); }, [](int64_t x, int64_t y) { return int64_t(x == y); }, true}},
      {"Less", {[](double x, double y) { return double(x < y); }, [](int64_t x, int64_t y) { return int64_t(x < y); }, true}},
      {"Greater", {[](double x, double y) { return double(x > y); }, [](int64_t x, int64_t y) { return int64_t(x > y); }, true}},
      {"LessOrEqual", {[](double x, double y) { return double(x <= y); }, [](int64_t x, int64_t y) { return int64_t(x <= y); }, true}},
      {"GreaterOrEqual", {[](double x, double y) { return double(x >= y); }, [](int64_t x, int64_t y) { return int64_t(x >= y); }, true}},
      {"And", {[](double x, double y) { return double(x != 0 && y != 0); }, [](int64_t x, int64_t y) { return int64_t(x && y); }, true}},
      {"Or", {[](double x, double y) { return double(x != 0 || y != 0); }, [](int64_t x, int64_t y) { return int64_t(x || y); }, true}},
      {"Xor", {[](double x, double y) { return double((x != 0) != (y != 0)); }, [](int64_t x, int64_t y) { return int64_t((x != 0) != (y != 0)); }, true}},
      {"PRelu", {[](double x, double s) { return x < 0 ? s * x : x; }, [](int64_t x, int64_t s) { return x < 0 ? s * x : x; }, false}},
      {"BitShift", {nullptr, nullptr, false}},  // direction from the attribute, see binary()
      {"Mod", {nullptr, nullptr, false}},       // fmod attribute, see binary()
  };
  return t;
}

Outputs binary(const ir::Node& n, const Inputs& ins) {
  const Tensor& a = in(n, ins, 0);
  const Tensor& b = in(n, ins, 1);
  BinaryFns fns = binary_table().at(n.op_type);
  if (n.op_type == "Mod") {
    bool fmod = attr_i(n, "fmod", 0) != 0;
    if (fmod) {
      fns.f = [](double x, double y) { return std::fmod(x, y); };
      fns.i = [](int64_t x, int64_t y) { return y == 0 ? int64_t(0) : (y == -1 ? int64_t(0) : x % y); };
    } else {
      fns.f = [](double x, double y) {
        double r = std::fmod(x, y);
        return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
      };
      fns.i = [](int64_t x, int64_t y) {
        if (y == 0 || y == -1) return int64_t(0);
        int64_t r = x % y;
        return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
      };
    }
  } else if (n.op_type == "BitShift") {
    std::string dir = attr_s(n, "direction", "");
    if (dir == "LEFT") fns.i = [](int64_t x, int64_t y) { return y >= 64 ? int64_t(0) : int64_t(uint64_t(x) << y); };
    else if (dir == "RIGHT") fns.i = [](int64_t x, int64_t y) { return y >= 64 ? int64_t(0) : int64_t(uint64_t(x) >> y); };
    else invalid(n, fmt::format("attribute direction must be LEFT or RIGHT, got '{}'", dir));
    if (!dtype_is_integer(a.dtype)) invalid(n, "BitShift needs unsigned integer inputs");
  }
  if (n.op_type != "Pow" && a.dtype != b.dtype && n.op_type != "PRelu")
    invalid(n, fmt::format("input types differ: {} vs {}", dtype_name(a.dtype), dtype_name(b.dtype)));
  if (n.op_type == "PRelu") {  // slope broadcasts to X only (unidirectional)
    Shape out = broadcast_shapes(n, {a.shape, b.shape});
    if (out != a.shape) invalid(n, fmt::format("slope {} does not broadcast to X {}", shape_str(b.shape), shape_str(a.shape)));
  }
  DType out_dt = fns.to_bool ? DType::Bool : a.dtype;
  return {broadcast_binary(n, a, b, out_dt, fns.f, fns.i, n.op_type)};
}

Outputs variadic(const ir::Node& n, const Inputs& ins) {
  std::vector<const Tensor*> xs;
  for (auto* t : ins)
    if (t) xs.push_back(t);
  if (xs.empty()) invalid(n, "needs at least one input");
  const std::string& op = n.op_type;
  DFn fd;
  IFn fi;
  if (op == "Max") {
    fd = [](double x, double y) { return std::isnan(x) || std::isnan(y) ? NAN : std::max(x, y); };
    fi = [](int64_t x, int64_t y) { return std::max(x, y); };
  } else if (op == "Min") {
    fd = [](double x, double y) { return std::isnan(x) || std::isnan(y) ? NAN : std::min(x, y); };
    fi = [](int64_t x, int64_t y) { return std::min(x, y); };
  } else {  // Sum, Mean
    fd = [](double x, double y) { return x + y; };
    fi = [](int64_t x, int64_t y) { return int64_t(uint64_t(x) + uint64_t(y)); };
  }
  // u64 values above 2^63 would compare wrongly in int64: route them through double.
  if (xs[0]->dtype == DType::U64 && op != "Sum" && op != "Mean") fi = nullptr;
  for (auto* t : xs)
    if (t->dtype != xs[0]->dtype) invalid(n, "all inputs must have the same type");
  Tensor acc = *xs[0];
  if (xs.size() == 1 && op != "Mean") return {acc};
  for (size_t k = 1; k < xs.size(); ++k) acc = broadcast_binary(n, acc, *xs[k], acc.dtype, fd, fi, op == "Max" || op == "Min" ? "" : "Add");
  if (op == "Mean") {
    double cnt = double(xs.size());
    if (dtype_is_integer(acc.dtype)) acc = map_int(acc, [](int64_t v) { return v; });  // unchanged
    Tensor r(acc.dtype, acc.shape);
    for (size_t i = 0, m = size_t(acc.numel()); i < m; ++i) {
      if (dtype_is_integer(acc.dtype)) store_i64(r, i, load_i64(acc, i) / int64_t(cnt));
      else r.set(i, acc.get(i) / cnt);
    }
    return {r};
  }
  return {acc};
}

Outputs not_op(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  if (x.dtype != DType::Bool) invalid(n, "input must be bool");
  Tensor y(DType::Bool, x.shape);
  for (size_t i = 0; i < y.data.size(); ++i) y.data[i] = !x.data[i];
  return {y};
}

Outputs where(const ir::Node& n, const Inputs& ins) {
  const Tensor& c = in(n, ins, 0);
  const Tensor& x = in(n, ins, 1);
  const Tensor& y = in(n, ins, 2);
  if (x.dtype != y.dtype) invalid(n, "X and Y must have the same type");
  Shape out = broadcast_shapes(n, {c.shape, x.shape, y.shape});
  Tensor r(x.dtype, out);
  size_t es = elem_size(x);
  std::vector<std::vector<int64_t>> st = {broadcast_strides(c.shape, out), broadcast_strides(x.shape, out),
                                          broadcast_strides(y.shape, out)};
  for_each_broadcast(out, st, [&](int64_t o, const int64_t* off) {
    bool take_x = load_i64(c, size_t(off[0])) != 0;
    copy_elem(r, size_t(o), take_x ? x : y, size_t(take_x ? off[1] : off[2]), es);
  });
  return {r};
}

Outputs clip(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  if (n.opset < 11) {
    double lo = attr_f(n, "min", -std::numeric_limits<float>::max());
    double hi = attr_f(n, "max", std::numeric_limits<float>::max());
    return {map_float(x, x.dtype, [lo, hi](double v) { return std::min(std::max(v, lo), hi); })};
  }
  const Tensor* tmin = opt(ins, 1);
  const Tensor* tmax = opt(ins, 2);
  for (const Tensor* t : {tmin, tmax})
    if (t && t->numel() != 1) invalid(n, fmt::format("min/max must be scalars, got shape {}", shape_str(t->shape)));
  if (dtype_is_integer(x.dtype)) {
    int64_t lo = tmin ? load_i64(*tmin, 0) : INT64_MIN, hi = tmax ? load_i64(*tmax, 0) : INT64_MAX;
    return {map_int(x, [lo, hi](int64_t v) { return std::min(std::max(v, lo), hi); })};
  }
  double lo = tmin ? tmin->get(0) : -INFINITY, hi = tmax ? tmax->get(0) : INFINITY;
  return {map_float(x, x.dtype, [lo, hi](double v) { return std::min(std::max(v, lo), hi); })};
}

Tensor cast_to(const ir::Node& n, const Tensor& x, DType to) {
  if (to == DType::String || x.dtype == DType::String) unsupported(n, "casts from or to string");
  if (to == x.dtype) return x;
  Tensor y(to, x.shape);
  const size_t cnt = size_t(x.numel());
  if (to == DType::Bool) {
    for (size_t i = 0; i < cnt; ++i) y.data[i] = is_float(x) ? x.get(i) != 0 : load_i64(x, i) != 0;
  } else if (dtype_is_integer(to)) {
    for (size_t i = 0; i < cnt; ++i) store_i64(y, i, load_i64(x, i));  // floats truncate toward zero
  } else if (dtype_is_integer(x.dtype)) {
    for (size_t i = 0; i < cnt; ++i) y.set(i, x.dtype == DType::U64 ? double(uint64_t(load_i64(x, i))) : double(load_i64(x, i)));
  } else if (x.dtype == DType::F64 && (to == DType::F16 || to == DType::BF16)) {
    // Round to odd into float first, then to nearest half: equals one rounding from double.
    for (size_t i = 0; i < cnt; ++i) {
      double v = x.get(i);
      float f = float(v);
      if (std::isfinite(v) && double(f) != v) {
        if (std::fabs(double(f)) > std::fabs(v)) f = std::nextafter(f, 0.0f);  // truncate toward zero
        uint32_t u;
        std::memcpy(&u, &f, 4);
        u |= 1;  // sticky bit
        std::memcpy(&f, &u, 4);
      }
      y.set(i, f);
    }
  } else {
    for (size_t i = 0; i < cnt; ++i) y.set(i, x.get(i));
  }
  return y;
}

Outputs cast(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  DType to;
  if (n.op_type == "CastLike") to = in(n, ins, 1).dtype;
  else to = DType(attr_i(n, "to", 0));
  try {
    (void)dtype_size(to);
  } catch (const Error&) {
    unsupported(n, fmt::format("attribute to={}", int(to)));
  }
  return {cast_to(n, x, to)};
}

}  // namespace

void register_elementwise(KernelTable& t) {
  for (auto& [name, f] : unary_table()) t[name] = unary;
  for (const char* op : {"LeakyRelu", "HardSigmoid", "HardSwish", "Elu", "Selu", "Celu", "ThresholdedRelu", "Shrink", "Gelu"})
    t[op] = activation;
  t["IsNaN"] = isnan_isinf;
  t["IsInf"] = isnan_isinf;
  for (auto& [name, f] : binary_table()) t[name] = binary;
  for (const char* op : {"Min", "Max", "Sum", "Mean"}) t[op] = variadic;
  t["Not"] = not_op;
  t["Where"] = where;
  t["Clip"] = clip;
  t["Cast"] = cast;
  t["CastLike"] = cast;
}

}  // namespace cardsim::ref::detail
