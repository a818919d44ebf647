#include "compiler/intref/intref.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "compiler/backend/passes.h"
#include "compiler/backend/quantize.h"
#include "compiler/reference/ops.h"
#include "core/error.h"

namespace cardsim::intref {
namespace {

using backend::Layer;
using Kind = backend::Layer::Kind;
using isa::Fn;

// A value as the card holds it: int8 (int16 in the mixed-precision front) with (scale, zero
// point) for float activations, otherwise its own dtype with scale 0 (read as is).
struct QValue {
  Tensor t;
  float scale = 0;
  int32_t zp = 0;
};

// Integer range of a quantized storage type.
int32_t qmin(DType t) { return t == DType::I16 ? -32768 : -128; }
int32_t qmax(DType t) { return t == DType::I16 ? 32767 : 127; }
// Element i of an int8 / int16 tensor.
int32_t qget(const Tensor& t, int64_t i) {
  return t.dtype == DType::I16 ? int32_t(t.ptr<int16_t>()[i]) : int32_t(t.ptr<int8_t>()[i]);
}
void qset(Tensor& t, int64_t i, int32_t v) {
  if (t.dtype == DType::I16) t.ptr<int16_t>()[i] = int16_t(v);
  else t.ptr<int8_t>()[i] = int8_t(v);
}

// Read rule: (x - zp) exactly in integers, to f32, times scale in f32.
float read(const QValue& q, int64_t i) {
  if (q.scale != 0) return float(qget(q.t, i) - q.zp) * q.scale;
  return float(q.t.get(size_t(i)));
}

// Write rule: round_half_even(v / scale) in f32, plus the zero point, saturated to the type.
int32_t quantize(float v, float scale, int32_t zp, DType t) {
  float q = std::nearbyint(v / scale);
  double r = double(q) + double(zp);
  if (std::isnan(r)) r = zp;
  return int32_t(std::clamp(r, double(qmin(t)), double(qmax(t))));
}

std::vector<float> dequantized(const QValue& q) {
  std::vector<float> v(static_cast<size_t>(q.t.numel()));
  for (int64_t i = 0; i < q.t.numel(); ++i) v[size_t(i)] = read(q, i);
  return v;
}

int64_t rshift_round(int64_t v, int32_t s) { return s == 0 ? v : (v + (int64_t(1) << (s - 1))) >> s; }

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) st[i] = acc, acc *= s[i];
  return st;
}

float unary(Fn f, float x, float alpha, float beta) {
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
    default: fail(ErrorKind::Internal, "intref: fn {} is not unary", int(f));
  }
}

float binary(Fn f, float a, float b) {
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
    default: fail(ErrorKind::Internal, "intref: fn {} is not binary", int(f));
  }
}

class Interpreter {
 public:
  Interpreter(const ir::Graph& g, const Options& opt) : g_(g) {
    layers_ = backend::run_passes(g_);
    std::string warning;
    ranges_ = backend::calibrate(g_, opt.calibrate_dir, &warning);
    mixed_ = backend::choose_mixed_precision(g_, layers_, opt.int8_mixed);
  }

  std::vector<Tensor> run(const std::vector<Tensor>& inputs) {
    if (inputs.size() != g_.inputs.size())
      fail(ErrorKind::Usage, "intref: {} inputs given, graph '{}' has {}", inputs.size(), g_.name, g_.inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      const std::string& name = g_.inputs[i];
      const ir::Value& v = g_.value(name);
      if (inputs[i].shape != v.shape || inputs[i].dtype != v.dtype)
        fail(ErrorKind::Format, "intref: input '{}' is {} {}, expected {} {}", name, dtype_name(inputs[i].dtype),
             shape_str(inputs[i].shape), dtype_name(v.dtype), shape_str(v.shape));
      if (v.dtype == DType::F32) {
        QValue q = fresh(name);
        for (int64_t k = 0; k < q.t.numel(); ++k) qset(q.t, k, quantize(inputs[i].ptr<float>()[k], q.scale, q.zp, q.t.dtype));
        env_[name] = std::move(q);
      } else {
        env_[name] = QValue{inputs[i]};
      }
    }
    for (const Layer& L : layers_) run_layer(L);
    std::vector<Tensor> out;
    for (const auto& name : g_.outputs) {
      const QValue& q = get(name);
      if (q.scale != 0) {
        Tensor f(DType::F32, q.t.shape);
        for (int64_t k = 0; k < f.numel(); ++k) f.ptr<float>()[k] = read(q, k);
        out.push_back(std::move(f));
      } else {
        out.push_back(q.t.dtype == g_.value(name).dtype ? q.t : q.t.cast(g_.value(name).dtype));
      }
    }
    return out;
  }

 private:
  ir::Graph g_;
  std::vector<Layer> layers_;
  std::map<std::string, backend::Range> ranges_;
  std::map<std::string, QValue> env_;
  backend::MixedPrecision mixed_;

  backend::QParams qparams(const std::string& v) const {
    auto it = ranges_.find(v);
    return backend::activation_qparams(it == ranges_.end() ? backend::Range{-1, 1} : it->second, mixed_.bits(v));
  }
  // Storage for a new value: int8 (int16) with its parameters when it is a float value.
  QValue fresh(const std::string& v) const {
    const ir::Value& val = g_.value(v);
    if (val.dtype != DType::F32) return QValue{Tensor(val.dtype, val.shape)};
    auto q = qparams(v);
    return QValue{Tensor(mixed_.is_wide(v) ? DType::I16 : DType::I8, val.shape), q.scale, q.zero_point};
  }
  const QValue& get(const std::string& v) {
    auto it = env_.find(v);
    if (it != env_.end()) return it->second;
    const ir::Value& val = g_.value(v);
    if (val.constant) return env_[v] = QValue{*val.constant};  // constants are read raw
    fail(ErrorKind::Internal, "intref: value '{}' has not been computed", v);
  }
  // Requantizes through f32 (a post activation between two values of type t).
  static int32_t requant_f32(int32_t x, backend::QParams in, backend::QParams out, const backend::Activation& a, DType t) {
    float v = float(x - in.zero_point) * in.scale;
    return quantize(unary(a.fn, v, a.alpha, a.beta), out.scale, out.zero_point, t);
  }

  void run_layer(const Layer& L) {
    const ir::Node& n = L.node;
    bool done = false;
    switch (L.kind) {
      case Kind::Alias: {
        QValue q = get(n.inputs[0]);
        q.t.shape = g_.value(n.outputs[0]).shape;
        env_[n.outputs[0]] = std::move(q);
        return;
      }
      case Kind::Conv: done = conv(L); break;
      case Kind::MatMul: done = matmul(L); break;
      case Kind::Elementwise: done = elementwise(L); break;
      case Kind::Pool: done = pool(L); break;
      case Kind::GlobalPool:
      case Kind::ReduceLast:
      case Kind::Softmax: done = rows(L); break;
      case Kind::Transpose:
      case Kind::Concat:
      case Kind::Slice:
      case Kind::Pad:
        // Pure data movement: each element is dequantized and quantized again (the DMA's
        // read and write rules); the reference kernel only moves the f32 values.
        via_float(n);
        return;
      default: break;
    }
    if (!done) {  // the compiler puts this layer on the host, node by node
      via_float(n);
      for (auto& f : L.fused)
        for (auto& m : g_.nodes)
          if (m.name == f) via_float(m);
    }
  }

  // Dequantized inputs -> reference kernel -> outputs quantized with their own parameters.
  void via_float(const ir::Node& n) {
    std::vector<Tensor> ins;
    ins.reserve(n.inputs.size());
    for (auto& in : n.inputs) {
      if (in.empty()) {
        ins.emplace_back();
        continue;
      }
      const QValue& q = get(in);
      if (q.scale != 0) {
        Tensor f(DType::F32, q.t.shape);
        for (int64_t k = 0; k < f.numel(); ++k) f.ptr<float>()[k] = read(q, k);
        ins.push_back(std::move(f));
      } else {
        ins.push_back(q.t);
      }
    }
    std::vector<const Tensor*> ptrs;
    for (size_t i = 0; i < ins.size(); ++i) ptrs.push_back(n.inputs[i].empty() ? nullptr : &ins[i]);
    std::vector<Tensor> outs = ref::run_node(n, ptrs);
    for (size_t i = 0; i < n.outputs.size() && i < outs.size(); ++i) {
      if (n.outputs[i].empty()) continue;
      QValue q = fresh(n.outputs[i]);
      if (q.scale != 0) {
        Tensor f = outs[i].dtype == DType::F32 ? outs[i] : outs[i].cast(DType::F32);
        q.t = Tensor(q.t.dtype, f.shape);
        for (int64_t k = 0; k < f.numel(); ++k) qset(q.t, k, quantize(f.ptr<float>()[k], q.scale, q.zp, q.t.dtype));
      } else {
        q.t = std::move(outs[i]);
      }
      env_[n.outputs[i]] = std::move(q);
    }
  }

  // Output parameters of the requantization epilogue and the clamp its activation implies.
  struct Epilogue {
    backend::QParams q;
    DType t = DType::I8;  // the output's storage type
    int32_t lo = -128, hi = 127;
  };
  Epilogue epilogue(const Layer& L) const {
    std::string epi_value = L.act.fn != Fn::Copy ? L.act.value : L.preact;
    Epilogue e;
    e.q = qparams(L.post.empty() ? L.output : epi_value);
    e.t = mixed_.is_wide(L.output) ? DType::I16 : DType::I8;
    e.lo = qmin(e.t), e.hi = qmax(e.t);
    if (L.act.fn == Fn::Relu) e.lo = std::max(e.lo, e.q.zero_point);
    if (L.act.fn == Fn::Clip) {
      double lo = double(std::nearbyint(L.act.alpha / e.q.scale)) + e.q.zero_point;
      double hi = double(std::nearbyint(L.act.beta / e.q.scale)) + e.q.zero_point;
      e.lo = int32_t(std::clamp(lo, double(qmin(e.t)), double(qmax(e.t))));
      e.hi = int32_t(std::clamp(hi, double(qmin(e.t)), double(qmax(e.t))));
    }
    return e;
  }
  // rshift_round((acc + bias) * M, S) + zp, clamped: int64 arithmetic for int32 accumulators,
  // 128-bit for the int64 accumulators of 16-bit operands (saturated to int64 before the clamp).
  static int32_t requant(int64_t acc, int64_t bias, int32_t M, int32_t S, const Epilogue& e, bool wide) {
    int64_t y;
    if (!wide) {
      y = rshift_round((acc + bias) * int64_t(M), S);
    } else {
      __int128 v = (__int128(acc) + bias) * M;
      if (S > 0) v = (v + (__int128(1) << (S - 1))) >> S;
      y = v > __int128(INT64_MAX) ? INT64_MAX : v < __int128(INT64_MIN) ? INT64_MIN : int64_t(v);
    }
    y = std::clamp<int64_t>(y + e.q.zero_point, std::max(qmin(e.t), e.lo), std::min(qmax(e.t), e.hi));
    return int32_t(y);
  }
  // Post activations after the epilogue, each through f32 into its own value's parameters.
  void post_ops(const Layer& L, Tensor& y) const {
    std::string prev = L.act.fn != Fn::Copy ? L.act.value : L.preact;
    for (const auto& p : L.post) {
      auto in = qparams(prev), out = qparams(p.value);
      for (int64_t k = 0; k < y.numel(); ++k) qset(y, k, requant_f32(qget(y, k), in, out, p, y.dtype));
      prev = p.value;
    }
  }
  // Per-output-channel symmetric weights: scale = max|w| / qmax, q = round(w / scale) in
  // [-qmax, qmax]; qmax 127 (int8) or 32767 (int16 weights of the mixed-precision front).
  static void quantize_weights(const float* w, int64_t channels, int64_t per, bool channel_major, int32_t qmax_w,
                               std::vector<float>& scale, std::vector<int32_t>& q) {
    scale.assign(size_t(channels), 1.f);
    q.assign(size_t(channels * per), 0);
    auto at = [&](int64_t c, int64_t k) { return channel_major ? c * per + k : k * channels + c; };
    for (int64_t c = 0; c < channels; ++c) {
      float mx = 0;
      for (int64_t k = 0; k < per; ++k) mx = std::max(mx, std::fabs(w[at(c, k)]));
      scale[size_t(c)] = mx > 0 ? mx / float(qmax_w) : 1.f;
      for (int64_t k = 0; k < per; ++k)
        q[size_t(at(c, k))] =
            int32_t(std::clamp<double>(std::nearbyint(w[at(c, k)] / scale[size_t(c)]), -qmax_w, qmax_w));
    }
  }
  // int32 bias (int64, within +-2^62, for an int64 accumulator).
  int64_t bias_q(const Layer& L, int64_t c, double sx, double sw, bool wide) const {
    double b = L.bias.empty() ? 0.0 : g_.value(L.bias).constant->get(size_t(c));
    if (wide) return int64_t(std::clamp<double>(std::nearbyint(b / (sx * sw)), -4.6e18, 4.6e18));
    return int32_t(std::clamp<double>(std::nearbyint(b / (sx * sw)), INT32_MIN, INT32_MAX));
  }
  static std::vector<int32_t> ints(const Tensor& t) {
    std::vector<int32_t> r(size_t(t.numel()));
    for (int64_t i = 0; i < t.numel(); ++i) r[size_t(i)] = qget(t, i);
    return r;
  }

  bool conv(const Layer& L) {
    const ir::Node& n = L.node;
    const QValue& X = get(n.inputs[0]);
    const ir::Value& wv = g_.value(L.weight);
    if (X.scale == 0 || X.t.shape.size() != 4) return false;
    const Shape& ys = g_.value(L.output).shape;
    int64_t N = X.t.shape[0], Cin = X.t.shape[1], H = X.t.shape[2], W = X.t.shape[3];
    int64_t Cout = wv.shape[0], Cin_g = wv.shape[1], KH = wv.shape[2], KW = wv.shape[3];
    int64_t OH = ys[2], OW = ys[3], G = n.attr_i("group", 1);
    auto pads = n.attr_ints("pads", {0, 0, 0, 0});
    auto strides = n.attr_ints("strides", {1, 1});
    auto dil = n.attr_ints("dilations", {1, 1});
    // The same limits as the compiler's conv lowering (beyond them the layer goes to the host).
    if (pads.size() != 4 || strides.size() != 2 || dil.size() != 2 || G <= 0 || Cin != Cin_g * G || Cout % G) return false;
    if (pads[0] > 127 || pads[1] > 127 || strides[0] > 255 || strides[1] > 255 || dil[0] > 255 || dil[1] > 255 || KH > 255 ||
        KW > 255 || W >= (1 << 24) || OW >= (1 << 24) || H >= 65536)
      return false;
    int64_t per = Cin_g * KH * KW, Cout_g = Cout / G;
    Tensor wf = wv.constant->cast(DType::F32);
    std::vector<float> wscale;
    std::vector<int32_t> wq;
    Epilogue e = epilogue(L);
    quantize_weights(wf.ptr<float>(), Cout, per, true, e.t == DType::I16 ? 32767 : 127, wscale, wq);
    const bool wide = X.t.dtype == DType::I16 || e.t == DType::I16;  // int64 accumulator
    QValue Y = fresh(L.output);
    const std::vector<int32_t> xs = ints(X.t);
    const int32_t* x = xs.data();
    for (int64_t co = 0; co < Cout; ++co) {
      int64_t bias = bias_q(L, co, X.scale, wscale[size_t(co)], wide);
      int32_t M, S;
      backend::quantize_multiplier(double(X.scale) * wscale[size_t(co)] / e.q.scale, M, S);
      int64_t ci0 = (co / Cout_g) * Cin_g;
      for (int64_t b = 0; b < N; ++b)
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t ow = 0; ow < OW; ++ow) {
            uint32_t acc = 0;    // int32 accumulation wraps modulo 2^32
            uint64_t acc64 = 0;  // int64 (16-bit operands) modulo 2^64
            for (int64_t ci = 0; ci < Cin_g; ++ci)
              for (int64_t kh = 0; kh < KH; ++kh) {
                int64_t ih = oh * strides[0] - pads[0] + kh * dil[0];
                if (ih < 0 || ih >= H) continue;
                for (int64_t kw = 0; kw < KW; ++kw) {
                  int64_t iw = ow * strides[1] - pads[1] + kw * dil[1];
                  if (iw < 0 || iw >= W) continue;
                  int32_t xv = x[((b * Cin + ci0 + ci) * H + ih) * W + iw] - X.zp;
                  int32_t wv = wq[size_t(co * per + (ci * KH + kh) * KW + kw)];
                  if (wide) acc64 += uint64_t(int64_t(xv) * wv);
                  else acc += uint32_t(xv * wv);
                }
              }
            int64_t a = wide ? int64_t(acc64) : int64_t(int32_t(acc));
            qset(Y.t, ((b * Cout + co) * OH + oh) * OW + ow, requant(a, bias, M, S, e, wide));
          }
    }
    post_ops(L, Y.t);
    env_[L.output] = std::move(Y);
    return true;
  }

  bool matmul(const Layer& L) {
    const ir::Node& n = L.node;
    const QValue& X = get(n.inputs[0]);
    const bool weight = L.b_is_weight && !L.weight.empty();
    const Shape bshape = weight ? g_.value(L.weight).shape : get(n.inputs[1]).t.shape;
    const Shape& yshape = g_.value(L.output).shape;
    const Shape& xshape = X.t.shape;
    if (X.scale == 0 || xshape.size() < 2 || bshape.size() < 2 || yshape.size() < 2) return false;
    int64_t M = xshape[xshape.size() - 2], K = xshape.back(), Nn = bshape.back();
    if (bshape[bshape.size() - 2] != K || yshape.back() != Nn || yshape[yshape.size() - 2] != M || M >= (1 << 24)) return false;
    Shape yb(yshape.begin(), yshape.end() - 2), ab(xshape.begin(), xshape.end() - 2), bb(bshape.begin(), bshape.end() - 2);
    if (ab.size() > yb.size() || bb.size() > yb.size()) return false;
    // Batch offsets with numpy broadcasting.
    auto offsets = [&](const Shape& s) {
      std::vector<int64_t> off(static_cast<size_t>(shape_numel(yb)));
      auto ss = strides_of(s);
      auto ysb = strides_of(yb);
      size_t lead = yb.size() - s.size();
      for (int64_t bi = 0; bi < int64_t(off.size()); ++bi) {
        int64_t o = 0, rem = bi;
        for (size_t d = 0; d < yb.size(); ++d) {
          int64_t idx = rem / ysb[d];
          rem %= ysb[d];
          if (d >= lead && s[d - lead] != 1) o += idx * ss[d - lead];
        }
        off[size_t(bi)] = o;
      }
      return off;
    };
    auto a_off = offsets(ab), b_off = offsets(bb);
    Epilogue e = epilogue(L);
    std::vector<float> wscale(static_cast<size_t>(Nn), 1.f);
    std::vector<int32_t> bq;
    int32_t bzp = 0;
    bool wide = X.t.dtype == DType::I16 || e.t == DType::I16;  // int64 accumulator
    std::vector<int32_t> Ms(static_cast<size_t>(Nn)), Ss(static_cast<size_t>(Nn));
    std::vector<int64_t> bias(static_cast<size_t>(Nn));
    if (weight) {
      Tensor wf = g_.value(L.weight).constant->cast(DType::F32);
      quantize_weights(wf.ptr<float>(), Nn, wf.numel() / std::max<int64_t>(Nn, 1), false, e.t == DType::I16 ? 32767 : 127,
                       wscale, bq);  // batched B: columns span every slice
      for (int64_t c = 0; c < Nn; ++c) {
        backend::quantize_multiplier(double(X.scale) * wscale[size_t(c)] / e.q.scale, Ms[size_t(c)], Ss[size_t(c)]);
        bias[size_t(c)] = bias_q(L, c, X.scale, wscale[size_t(c)], wide);
      }
    } else {
      const QValue& B = get(n.inputs[1]);
      if (B.scale == 0) return false;
      bq = ints(B.t);
      bzp = B.zp;
      wide = wide || B.t.dtype == DType::I16;
      int32_t Mt, St;
      backend::quantize_multiplier(double(X.scale) * B.scale / e.q.scale, Mt, St);
      for (int64_t c = 0; c < Nn; ++c) Ms[size_t(c)] = Mt, Ss[size_t(c)] = St, bias[size_t(c)] = bias_q(L, c, X.scale, B.scale, wide);
    }
    QValue Y = fresh(L.output);
    const std::vector<int32_t> xs = ints(X.t);
    const int32_t* x = xs.data();
    const int32_t* bdata = bq.data();
    for (size_t bi = 0; bi < a_off.size(); ++bi)
      for (int64_t m = 0; m < M; ++m)
        for (int64_t c = 0; c < Nn; ++c) {
          const int32_t* xr = x + a_off[bi] * M * K + m * K;
          const int32_t* wc = bdata + b_off[bi] * K * Nn + c;
          int64_t a;
          if (wide) {  // int64 (16-bit operands) modulo 2^64
            uint64_t acc64 = 0;
            for (int64_t k = 0; k < K; ++k) acc64 += uint64_t(int64_t(xr[k] - X.zp) * (wc[k * Nn] - bzp));
            a = int64_t(acc64);
          } else {  // int32 modulo 2^32
            uint32_t acc = 0;
            for (int64_t k = 0; k < K; ++k) acc += uint32_t((xr[k] - X.zp) * (wc[k * Nn] - bzp));
            a = int64_t(int32_t(acc));
          }
          qset(Y.t, int64_t(bi) * M * Nn + m * Nn + c, requant(a, bias[size_t(c)], Ms[size_t(c)], Ss[size_t(c)], e, wide));
        }
    post_ops(L, Y.t);
    env_[L.output] = std::move(Y);
    return true;
  }

  // Quantizes f32 results into the layer output's parameters.
  void store_f32(const std::string& v, const std::vector<float>& r) {
    QValue Y = fresh(v);
    if (Y.scale == 0) fail(ErrorKind::Unsupported, "intref: value '{}' is not a float activation", v);
    for (size_t k = 0; k < r.size(); ++k) qset(Y.t, int64_t(k), quantize(r[k], Y.scale, Y.zp, Y.t.dtype));
    env_[v] = std::move(Y);
  }

  bool elementwise(const Layer& L) {
    const ir::Node& n = L.node;
    Fn fn;
    float alpha, beta;
    int arity;
    if (!backend::elementwise_fn(g_, n, fn, alpha, beta, arity)) return false;
    const Shape& ys = g_.value(L.output).shape;
    std::vector<const QValue*> ins;
    std::vector<std::vector<int64_t>> bstr;
    for (int i = 0; i < arity; ++i) {
      const QValue& q = get(n.inputs[size_t(i)]);
      if (q.t.shape.size() > ys.size()) return false;
      ins.push_back(&q);
      std::vector<int64_t> st(ys.size(), 0);
      auto is = strides_of(q.t.shape);
      size_t off = ys.size() - q.t.shape.size();
      for (size_t d = 0; d < q.t.shape.size(); ++d) st[off + d] = q.t.shape[d] == 1 ? 0 : is[d];
      bstr.push_back(st);
    }
    int64_t total = shape_numel(ys);
    auto ystr = strides_of(ys);
    std::vector<float> r(static_cast<size_t>(total));
    for (int64_t i = 0; i < total; ++i) {
      int64_t o[2] = {0, 0}, rem = i;
      for (size_t d = 0; d < ys.size(); ++d) {
        int64_t idx = rem / ystr[d];
        rem %= ystr[d];
        for (int k = 0; k < arity; ++k) o[k] += idx * bstr[size_t(k)][d];
      }
      float v = arity == 1 ? unary(fn, read(*ins[0], o[0]), alpha, beta) : binary(fn, read(*ins[0], o[0]), read(*ins[1], o[1]));
      for (const auto& p : L.post) v = unary(p.fn, v, p.alpha, p.beta);  // f32 in SRAM, no requant between
      r[size_t(i)] = v;
    }
    store_f32(L.output, r);
    return true;
  }

  bool pool(const Layer& L) {
    const ir::Node& n = L.node;
    const QValue& X = get(n.inputs[0]);
    const Shape& ys = g_.value(L.output).shape;
    int64_t planes = X.t.shape[0] * X.t.shape[1], H = X.t.shape[2], W = X.t.shape[3], OH = ys[2], OW = ys[3];
    auto k = n.attr_ints("kernel_shape");
    auto pads = n.attr_ints("pads", {0, 0, 0, 0});
    auto strides = n.attr_ints("strides", {1, 1});
    auto dil = n.attr_ints("dilations", {1, 1});
    if (k.size() != 2 || pads.size() != 4 || strides.size() != 2 || dil.size() != 2) return false;
    for (auto p : pads)
      if (p > 127 || p < 0) return false;
    if (k[0] > 255 || k[1] > 255 || strides[0] > 255 || strides[1] > 255 || H >= 65536 || W >= (1 << 24)) return false;
    int64_t pb = std::max(pads[2], (OH - 1) * strides[0] + (k[0] - 1) * dil[0] + 1 - H - pads[0]);
    int64_t pr = std::max(pads[3], (OW - 1) * strides[1] + (k[1] - 1) * dil[1] + 1 - W - pads[1]);
    bool avg = n.op_type == "AveragePool";
    bool count_pad = avg && n.attr_i("count_include_pad", 0);
    if (count_pad && (pb != pads[2] || pr != pads[3])) return false;
    std::vector<float> x = dequantized(X), r(static_cast<size_t>(planes * OH * OW));
    for (int64_t p = 0; p < planes; ++p)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          float acc = avg ? 0.0f : -INFINITY;
          int64_t count = 0;
          for (int64_t kh = 0; kh < k[0]; ++kh) {
            int64_t ih = oh * strides[0] - pads[0] + kh * dil[0];
            if (ih < 0 || ih >= H) continue;
            for (int64_t kw = 0; kw < k[1]; ++kw) {
              int64_t iw = ow * strides[1] - pads[1] + kw * dil[1];
              if (iw < 0 || iw >= W) continue;
              float v = x[size_t((p * H + ih) * W + iw)];
              acc = avg ? acc + v : std::fmax(acc, v);
              ++count;
            }
          }
          if (avg) {
            int64_t div = count_pad ? k[0] * k[1] : count;
            acc = div > 0 ? acc / float(div) : 0.0f;
          }
          r[size_t((p * OH + oh) * OW + ow)] = acc;
        }
    store_f32(L.output, r);
    return true;
  }

  bool rows(const Layer& L) {
    const ir::Node& n = L.node;
    const QValue& X = get(n.inputs[0]);
    const Shape& ys = g_.value(L.output).shape;
    bool softmax = L.kind == Kind::Softmax;
    int64_t rows = shape_numel(ys), len;
    if (softmax) {
      len = X.t.shape.back();
      rows = X.t.numel() / std::max<int64_t>(len, 1);
    } else {
      len = X.t.numel() / std::max<int64_t>(rows, 1);
    }
    if (len >= (1 << 24) || len < 1) return false;
    const std::string& op = n.op_type;
    std::vector<float> x = dequantized(X), r;
    for (int64_t row = 0; row < rows; ++row) {
      const float* v = &x[size_t(row * len)];
      if (softmax) {
        float mx = -INFINITY, sum = 0;
        for (int64_t i = 0; i < len; ++i) mx = std::fmax(mx, v[i]);
        std::vector<float> e(static_cast<size_t>(len));
        for (int64_t i = 0; i < len; ++i) e[size_t(i)] = std::exp(v[i] - mx), sum += e[size_t(i)];
        for (int64_t i = 0; i < len; ++i) r.push_back(e[size_t(i)] / sum);
      } else if (op == "GlobalMaxPool" || op == "ReduceMax") {
        float m = -INFINITY;
        for (int64_t i = 0; i < len; ++i) m = std::fmax(m, v[i]);
        r.push_back(m);
      } else if (op == "ReduceMin") {
        float m = INFINITY;
        for (int64_t i = 0; i < len; ++i) m = std::fmin(m, v[i]);
        r.push_back(m);
      } else {
        float s = 0;
        for (int64_t i = 0; i < len; ++i) s += v[i];
        r.push_back(op == "ReduceSum" ? s : s / float(len));
      }
    }
    store_f32(L.output, r);
    return true;
  }
};

}  // namespace

std::vector<Tensor> run_int8(const ir::Graph& g, const std::vector<Tensor>& inputs, const Options& opt) {
  Interpreter it(g, opt);
  return it.run(inputs);
}

}  // namespace cardsim::intref
