#include "compiler/backend/int_reference.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "compiler/backend/passes.h"
#include "compiler/backend/quantize.h"
#include "compiler/reference/ops.h"
#include "core/error.h"

namespace cardsim::backend {

using isa::Fn;
using Kind = Layer::Kind;

namespace {

// A value as the int8 program holds it: int8 with (scale, zp), or raw (scale 0).
struct QT {
  Tensor t;
  float scale = 0;
  int32_t zp = 0;
};

std::vector<int64_t> strides(const Shape& s) {
  std::vector<int64_t> st(s.size());
  int64_t a = 1;
  for (size_t i = s.size(); i-- > 0;) st[i] = a, a *= s[i];
  return st;
}

float unary(Fn f, float x, float a, float b) {
  switch (f) {
    case Fn::Copy: return x;
    case Fn::Relu: return x < 0 ? 0.f : x;
    case Fn::LeakyRelu: return x < 0 ? a * x : x;
    case Fn::Clip: return std::fmin(std::fmax(x, a), b);
    case Fn::Sigmoid: return 1.f / (1.f + std::exp(-x));
    case Fn::HardSigmoid: return std::fmax(0.f, std::fmin(1.f, a * x + b));
    case Fn::HardSwish: return x * std::fmax(0.f, std::fmin(1.f, x * (1.f / 6.f) + 0.5f));
    case Fn::Tanh: return std::tanh(x);
    case Fn::Erf: return std::erf(x);
    case Fn::Exp: return std::exp(x);
    case Fn::Log: return std::log(x);
    case Fn::Sqrt: return std::sqrt(x);
    case Fn::Recip: return 1.f / x;
    case Fn::Neg: return -x;
    case Fn::Abs: return std::fabs(x);
    case Fn::Gelu: return 0.5f * x * (1.f + std::erf(x * 0.70710678118654752f));
    case Fn::Floor: return std::floor(x);
    case Fn::Ceil: return std::ceil(x);
    case Fn::Round: return std::nearbyint(x);
    default: fail(ErrorKind::Internal, "int8 reference: unary function {}", int(f));
  }
}

float binary(Fn f, float x, float y) {
  switch (f) {
    case Fn::Add: return x + y;
    case Fn::Sub: return x - y;
    case Fn::Mul: return x * y;
    case Fn::Div: return x / y;
    case Fn::Max: return std::fmax(x, y);
    case Fn::Min: return std::fmin(x, y);
    case Fn::Pow: return std::pow(x, y);
    case Fn::PRelu: return x < 0 ? x * y : x;
    default: fail(ErrorKind::Internal, "int8 reference: binary function {}", int(f));
  }
}

int64_t rshift_round(int64_t v, int64_t s) {
  if (s <= 0) return v;
  if (s > 62) return v < 0 ? -1 : 0;
  return (v + (int64_t(1) << (s - 1))) >> s;
}

// rshift_round((acc + bias) * M, S): in int64 for int32 accumulators; in 128 bits, saturated to
// int64, for the int64 accumulators of 16-bit operands (ISA.md vpu.requant).
int64_t requant(int64_t acc, int64_t bias, int32_t M, int32_t S, bool wide) {
  if (!wide) return rshift_round((acc + bias) * M, S);
  __int128 v = (__int128(acc) + bias) * M;
  if (S > 0 && S <= 126) v = (v + (__int128(1) << (S - 1))) >> S;
  else if (S > 126) v = v < 0 ? -1 : 0;
  return v > __int128(INT64_MAX) ? INT64_MAX : v < __int128(INT64_MIN) ? INT64_MIN : int64_t(v);
}

class IntRef {
 public:
  IntRef(const ir::Graph& g, const CompileOptions& o) : g_(g) {
    layers_ = run_passes(g_);
    ranges_ = calibrate(g_, o.calibrate_dir, nullptr);
    forced_ = qdq_params(g_);
    mp_ = choose_mixed_precision(g_, layers_, o.int8_mixed);
  }

  std::vector<Tensor> run(const std::vector<Tensor>& inputs) {
    for (size_t k = 0; k < g_.inputs.size(); ++k) {
      const std::string& n = g_.inputs[k];
      if (g_.value(n).dtype == DType::F32) env_[n] = quant(to_floats(inputs.at(k)), inputs[k].shape, n);
      else env_[n] = QT{inputs.at(k), 0, 0};
    }
    for (auto& L : layers_) layer(L);
    std::vector<Tensor> out;
    for (auto& n : g_.outputs) {
      const QT& q = get(n);
      if (q.scale == 0) out.push_back(q.t);
      else out.push_back(Tensor::from_floats(q.t.shape, deq(q)));
    }
    return out;
  }

 private:
  ir::Graph g_;
  std::vector<Layer> layers_;
  std::map<std::string, Range> ranges_;
  std::map<std::string, QParams> forced_;
  std::map<std::string, QT> env_;
  MixedPrecision mp_;

  QParams qp(const std::string& v) { return value_qparams(v, ranges_, forced_, mp_.bits(v)); }
  // A quantized tensor's elements as int32 (int8 or int16 storage).
  static std::vector<int32_t> ints(const Tensor& t) {
    std::vector<int32_t> r(size_t(t.numel()));
    if (t.dtype == DType::I8) for (size_t i = 0; i < r.size(); ++i) r[i] = t.ptr<int8_t>()[i];
    else if (t.dtype == DType::I16) for (size_t i = 0; i < r.size(); ++i) r[i] = t.ptr<int16_t>()[i];
    else fail(ErrorKind::Internal, "int8 reference: integer operand of type {}", dtype_name(t.dtype));
    return r;
  }
  static void put(Tensor& t, size_t i, int64_t v) {
    if (t.dtype == DType::I16) t.ptr<int16_t>()[i] = int16_t(v);
    else t.ptr<int8_t>()[i] = int8_t(v);
  }
  static std::vector<float> to_floats(const Tensor& t) {
    std::vector<float> r(size_t(t.numel()));
    for (size_t i = 0; i < r.size(); ++i) r[i] = float(t.get(i));
    return r;
  }
  static std::vector<float> deq(const QT& q) {
    std::vector<float> r = to_floats(q.t);
    if (q.scale != 0)
      for (auto& v : r) v = (v - float(q.zp)) * q.scale;
    return r;
  }
  static int64_t quant1(float v, float scale, int32_t zp, DType t) {
    float q = std::nearbyint(v / scale);
    double d = std::isnan(q) ? double(zp) : double(q) + zp;
    return t == DType::I16 ? int64_t(std::clamp(d, -32768.0, 32767.0)) : int64_t(std::clamp(d, -128.0, 127.0));
  }
  DType qtype(const std::string& v) const { return mp_.is_wide(v) ? DType::I16 : DType::I8; }
  QT quant(const std::vector<float>& v, const Shape& s, const std::string& value) {
    QParams p = qp(value);
    QT r{Tensor(qtype(value), s), p.scale, p.zero_point};
    for (size_t i = 0; i < v.size(); ++i) put(r.t, i, quant1(v[i], p.scale, p.zero_point, r.t.dtype));
    return r;
  }
  const QT& get(const std::string& n) {
    auto it = env_.find(n);
    if (it != env_.end()) return it->second;
    const ir::Value& v = g_.value(n);
    if (!v.constant) fail(ErrorKind::Internal, "int8 reference: '{}' read before it is computed", n);
    return env_[n] = QT{*v.constant, 0, 0};
  }
  // In-place post activations on an int8 tensor, value by value (scales change per step).
  void post_ops(QT& q, const Layer& L, std::string prev) {
    for (auto& p : L.post) {
      QParams in{q.scale, q.zp}, out = qp(p.value);
      (void)prev;
      std::vector<int32_t> x = ints(q.t);
      for (int64_t i = 0; i < q.t.numel(); ++i) {
        float v = (float(x[size_t(i)]) - float(in.zero_point)) * in.scale;
        put(q.t, size_t(i), quant1(unary(p.fn, v, p.alpha, p.beta), out.scale, out.zero_point, q.t.dtype));
      }
      q.scale = out.scale, q.zp = out.zero_point;
      prev = p.value;
    }
  }
  // Requant bounds for the epilogue activation.
  static void act_bounds(const Activation& a, float scale, int32_t zp, DType t, int64_t& lo, int64_t& hi) {
    lo = t == DType::I16 ? -32768 : -128, hi = t == DType::I16 ? 32767 : 127;
    if (a.fn == Fn::Relu) lo = std::max<int64_t>(lo, zp);
    if (a.fn == Fn::Clip) {
      const float span = t == DType::I16 ? 65536.f : 256.f;  // as the compiler limits the clip bounds
      float al = std::max(a.alpha, -span * scale), be = std::min(a.beta, span * scale);
      lo = std::max<int64_t>(lo, int64_t(std::nearbyint(al / scale)) + zp);
      hi = std::min<int64_t>(hi, int64_t(std::nearbyint(be / scale)) + zp);
    }
  }

  void layer(const Layer& L);
  void conv(const Layer& L);
  void matmul(const Layer& L);
  void host(const ir::Node& n);
};

void IntRef::conv(const Layer& L) {
  const ir::Node& n = L.node;
  const QT& X = get(n.inputs[0]);
  const ir::Value& wv = g_.value(L.weight);
  const DType yt = qtype(L.output);
  QuantWeights qw = quantize_weights(*wv.constant, false, yt == DType::I16 ? 16 : 8);
  // 16-bit operands accumulate in int64 (the card's i64 accumulator), else int32 wrapping.
  const bool wide = X.t.dtype == DType::I16 || qw.q.dtype == DType::I16;
  int64_t N = X.t.shape[0], H = X.t.shape[2], W = X.t.shape[3];
  int64_t Cout = wv.shape[0], Cin_g = wv.shape[1], KH = wv.shape[2], KW = wv.shape[3];
  const Shape& ys = g_.value(L.output).shape;
  int64_t OH = ys[2], OW = ys[3], G = n.attr_i("group", 1), Cout_g = Cout / G, Cin = X.t.shape[1];
  auto pads = n.attr_ints("pads", {0, 0, 0, 0});
  auto st = n.attr_ints("strides", {1, 1});
  auto dl = n.attr_ints("dilations", {1, 1});
  std::string epi_value = L.act.fn != Fn::Copy ? L.act.value : L.preact;
  QParams epi = L.post.empty() ? qp(L.output) : qp(epi_value);
  int64_t lo, hi;
  act_bounds(L.act, epi.scale, epi.zero_point, yt, lo, hi);
  QT Y{Tensor(yt, ys), epi.scale, epi.zero_point};
  const std::vector<int32_t> xv_all = ints(X.t), w_all = ints(qw.q);
  const int32_t* x = xv_all.data();
  const int32_t* w = w_all.data();
  for (int64_t co = 0; co < Cout; ++co) {
    double b = L.bias.empty() ? 0.0 : g_.value(L.bias).constant->get(size_t(co));
    int64_t bias = wide ? quantize_bias64(b, X.scale, qw.scale[size_t(co)]) : quantize_bias(b, X.scale, qw.scale[size_t(co)]);
    int32_t M, S;
    quantize_multiplier(double(X.scale) * qw.scale[size_t(co)] / epi.scale, M, S);
    int64_t g = co / Cout_g;
    for (int64_t b0 = 0; b0 < N; ++b0)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          int64_t acc64 = 0;
          int32_t acc = 0;
          for (int64_t ci = 0; ci < Cin_g; ++ci)
            for (int64_t kh = 0; kh < KH; ++kh) {
              int64_t ih = oh * st[0] - pads[0] + kh * dl[0];
              if (ih < 0 || ih >= H) continue;
              for (int64_t kw = 0; kw < KW; ++kw) {
                int64_t iw = ow * st[1] - pads[1] + kw * dl[1];
                if (iw < 0 || iw >= W) continue;
                int32_t xv = x[((b0 * Cin + g * Cin_g + ci) * H + ih) * W + iw] - X.zp;
                int32_t wv = w[((co * Cin_g + ci) * KH + kh) * KW + kw];
                if (wide) acc64 += int64_t(xv) * wv;
                else acc = int32_t(uint32_t(acc) + uint32_t(xv) * uint32_t(wv));  // int32, wrapping
              }
            }
          int64_t y = requant(wide ? acc64 : acc, bias, M, S, wide) + epi.zero_point;
          put(Y.t, size_t(((b0 * Cout + co) * OH + oh) * OW + ow), std::clamp(y, lo, hi));
        }
  }
  post_ops(Y, L, epi_value);
  env_[L.output] = std::move(Y);
}

void IntRef::matmul(const Layer& L) {
  const ir::Node& n = L.node;
  const QT& X = get(n.inputs[0]);
  const bool weight = L.b_is_weight && !L.weight.empty();
  QuantWeights qw;
  QT B;
  const DType yt = qtype(L.output);
  if (weight) {
    qw = quantize_weights(*g_.value(L.weight).constant, true, yt == DType::I16 ? 16 : 8);
    B = QT{qw.q, 0, 0};
  } else {
    B = get(n.inputs[1]);
  }
  const bool wide = X.t.dtype == DType::I16 || B.t.dtype == DType::I16;
  const Shape& xs = X.t.shape;
  const Shape& bs = B.t.shape;
  const Shape& ys = g_.value(L.output).shape;
  int64_t M = xs[xs.size() - 2], K = xs.back(), N = bs.back();
  std::string epi_value = L.act.fn != Fn::Copy ? L.act.value : L.preact;
  QParams epi = L.post.empty() ? qp(L.output) : qp(epi_value);
  int64_t lo, hi;
  act_bounds(L.act, epi.scale, epi.zero_point, yt, lo, hi);
  QT Y{Tensor(yt, ys), epi.scale, epi.zero_point};
  const std::vector<int32_t> x_all = ints(X.t), b_all = ints(B.t);
  // Batch index -> matrix offsets with numpy broadcasting of the leading dims.
  Shape yb(ys.begin(), ys.end() - 2), xb(xs.begin(), xs.end() - 2), bb(bs.begin(), bs.end() - 2);
  auto yst = strides(yb), xst = strides(xb), bst = strides(bb);
  int64_t batches = shape_numel(yb);
  std::vector<int32_t> Mq(static_cast<size_t>(N)), Sq(static_cast<size_t>(N));
  std::vector<int64_t> bias(static_cast<size_t>(N), 0);
  for (int64_t c = 0; c < N; ++c) {
    float ws = weight ? qw.scale[size_t(c)] : B.scale;
    quantize_multiplier(double(X.scale) * ws / epi.scale, Mq[size_t(c)], Sq[size_t(c)]);
    if (!L.bias.empty()) {
      double b = g_.value(L.bias).constant->get(size_t(c));
      bias[size_t(c)] = wide ? quantize_bias64(b, X.scale, ws) : quantize_bias(b, X.scale, ws);
    }
  }
  for (int64_t bi = 0; bi < batches; ++bi) {
    int64_t xo = 0, bo = 0, rem = bi;
    for (size_t d = 0; d < yb.size(); ++d) {
      int64_t idx = rem / yst[d];
      rem %= yst[d];
      size_t dx = d + xb.size() - yb.size(), db = d + bb.size() - yb.size();
      if (d + xb.size() >= yb.size() && xb[dx] != 1) xo += idx * xst[dx];
      if (d + bb.size() >= yb.size() && bb[db] != 1) bo += idx * bst[db];
    }
    const int32_t* x = x_all.data() + xo * M * K;
    const int32_t* w = b_all.data() + bo * K * N;
    for (int64_t m = 0; m < M; ++m)
      for (int64_t c = 0; c < N; ++c) {
        int32_t acc = 0;
        int64_t acc64 = 0;
        for (int64_t k = 0; k < K; ++k) {
          int32_t xv = x[m * K + k] - X.zp, wv = w[k * N + c] - B.zp;
          if (wide) acc64 += int64_t(xv) * wv;
          else acc = int32_t(uint32_t(acc) + uint32_t(xv) * uint32_t(wv));  // int32, wrapping
        }
        int64_t y = requant(wide ? acc64 : acc, bias[size_t(c)], Mq[size_t(c)], Sq[size_t(c)], wide) + epi.zero_point;
        put(Y.t, size_t((bi * M + m) * N + c), std::clamp(y, lo, hi));
      }
  }
  post_ops(Y, L, epi_value);
  env_[L.output] = std::move(Y);
}

void IntRef::host(const ir::Node& n) {
  std::vector<Tensor> args;
  std::vector<const Tensor*> ptrs;
  args.reserve(n.inputs.size());
  for (auto& in : n.inputs) {
    if (in.empty()) { args.emplace_back(); continue; }
    const QT& q = get(in);
    args.push_back(q.scale != 0 ? Tensor::from_floats(q.t.shape, deq(q)) : q.t);
  }
  for (size_t i = 0; i < n.inputs.size(); ++i) ptrs.push_back(n.inputs[i].empty() ? nullptr : &args[i]);
  auto outs = ref::run_node(n, ptrs);
  for (size_t k = 0; k < outs.size() && k < n.outputs.size(); ++k) {
    if (n.outputs[k].empty()) continue;
    if (outs[k].dtype == DType::F32) env_[n.outputs[k]] = quant(to_floats(outs[k]), outs[k].shape, n.outputs[k]);
    else env_[n.outputs[k]] = QT{outs[k], 0, 0};
  }
}

void IntRef::layer(const Layer& L) {
  const ir::Node& n = L.node;
  switch (L.kind) {
    case Kind::Alias: {
      QT q = get(n.inputs[0]);
      q.t.shape = g_.value(n.outputs[0]).shape;
      env_[n.outputs[0]] = q;
      return;
    }
    case Kind::Conv: return conv(L);
    case Kind::MatMul: return matmul(L);
    case Kind::Elementwise: {
      Fn fn;
      float a, b;
      int arity;
      elementwise_fn(g_, n, fn, a, b, arity);
      const Shape& ys = g_.value(L.output).shape;
      std::vector<std::vector<float>> in;
      std::vector<std::vector<int64_t>> bst;
      for (int i = 0; i < arity; ++i) {
        const QT& q = get(n.inputs[size_t(i)]);
        in.push_back(deq(q));
        // broadcast strides of q into ys
        std::vector<int64_t> s(ys.size(), 0);
        auto qs = strides(q.t.shape);
        size_t off = ys.size() - q.t.shape.size();
        for (size_t d = 0; d < q.t.shape.size(); ++d) s[off + d] = q.t.shape[d] == 1 ? 0 : qs[d];
        bst.push_back(s);
      }
      auto yst = strides(ys);
      std::vector<float> y(size_t(shape_numel(ys)));
      for (int64_t e = 0; e < int64_t(y.size()); ++e) {
        int64_t o0 = 0, o1 = 0, rem = e;
        for (size_t d = 0; d < ys.size(); ++d) {
          int64_t idx = rem / yst[d];
          rem %= yst[d];
          o0 += idx * bst[0][d];
          if (arity == 2) o1 += idx * bst[1][d];
        }
        float v = arity == 1 ? unary(fn, in[0][size_t(o0)], a, b) : binary(fn, in[0][size_t(o0)], in[1][size_t(o1)]);
        for (auto& p : L.post) v = unary(p.fn, v, p.alpha, p.beta);
        y[size_t(e)] = v;
      }
      env_[L.output] = quant(y, ys, L.output);
      return;
    }
    case Kind::Pool: {
      const QT& X = get(n.inputs[0]);
      auto x = deq(X);
      const Shape& ys = g_.value(L.output).shape;
      int64_t planes = X.t.shape[0] * X.t.shape[1], H = X.t.shape[2], W = X.t.shape[3], OH = ys[2], OW = ys[3];
      auto k = n.attr_ints("kernel_shape");
      auto pads = n.attr_ints("pads", {0, 0, 0, 0});
      auto st = n.attr_ints("strides", {1, 1});
      auto dl = n.attr_ints("dilations", {1, 1});
      bool avg = n.op_type == "AveragePool", count_pad = n.attr_i("count_include_pad", 0) != 0;
      std::vector<float> y(size_t(shape_numel(ys)));
      for (int64_t p = 0; p < planes; ++p)
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t ow = 0; ow < OW; ++ow) {
            float acc = avg ? 0.f : -INFINITY;
            int64_t cnt = 0;
            for (int64_t i = 0; i < k[0]; ++i) {
              int64_t ih = oh * st[0] - pads[0] + i * dl[0];
              if (ih < 0 || ih >= H) continue;
              for (int64_t j = 0; j < k[1]; ++j) {
                int64_t iw = ow * st[1] - pads[1] + j * dl[1];
                if (iw < 0 || iw >= W) continue;
                float v = x[size_t((p * H + ih) * W + iw)];
                acc = avg ? acc + v : std::fmax(acc, v);
                ++cnt;
              }
            }
            if (avg) {
              int64_t div = count_pad ? k[0] * k[1] : cnt;
              acc = div > 0 ? acc / float(div) : 0.f;
            }
            y[size_t((p * OH + oh) * OW + ow)] = acc;
          }
      env_[L.output] = quant(y, ys, L.output);
      return;
    }
    case Kind::GlobalPool:
    case Kind::ReduceLast:
    case Kind::Softmax: {
      const QT& X = get(n.inputs[0]);
      auto x = deq(X);
      const Shape& ys = g_.value(L.output).shape;
      bool sm = L.kind == Kind::Softmax;
      int64_t rows = sm ? X.t.numel() / X.t.shape.back() : shape_numel(ys);
      int64_t len = X.t.numel() / std::max<int64_t>(rows, 1);
      std::vector<float> y(size_t(shape_numel(ys)));
      const std::string& op = n.op_type;
      for (int64_t r = 0; r < rows; ++r) {
        float* row = x.data() + r * len;
        if (sm) {
          float mx = -INFINITY, s = 0;
          for (int64_t i = 0; i < len; ++i) mx = std::fmax(mx, row[i]);
          for (int64_t i = 0; i < len; ++i) row[i] = std::exp(row[i] - mx);
          for (int64_t i = 0; i < len; ++i) s += row[i];
          for (int64_t i = 0; i < len; ++i) y[size_t(r * len + i)] = row[i] / s;
        } else {
          float acc;
          if (op == "GlobalMaxPool" || op == "ReduceMax") { acc = -INFINITY; for (int64_t i = 0; i < len; ++i) acc = std::fmax(acc, row[i]); }
          else if (op == "ReduceMin") { acc = INFINITY; for (int64_t i = 0; i < len; ++i) acc = std::fmin(acc, row[i]); }
          else {
            acc = 0;
            for (int64_t i = 0; i < len; ++i) acc += row[i];
            if (op != "ReduceSum") acc = acc / float(len);
          }
          y[size_t(r)] = acc;
        }
      }
      env_[L.output] = quant(y, ys, L.output);
      return;
    }
    default:
      // Data movement (exact in f32) and host operators: dequantize, run the ONNX
      // reference kernel, quantize.
      return host(n);
  }
}

}  // namespace

std::vector<Tensor> int8_reference(const ir::Graph& g, const CompileOptions& opts, const std::vector<Tensor>& inputs) {
  IntRef r(g, opts);
  return r.run(inputs);
}

}  // namespace cardsim::backend
