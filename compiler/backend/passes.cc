#include "compiler/backend/passes.h"

#include <cmath>
#include <map>
#include <set>

#include "compiler/backend/quantize.h"
#include "compiler/ir/graph_utils.h"
#include "compiler/reference/ops.h"
#include "core/error.h"

namespace cardsim::backend {

using isa::Fn;
using Kind = Layer::Kind;

const char* layer_kind_name(Kind k) {
  switch (k) {
    case Kind::Conv: return "conv";
    case Kind::MatMul: return "matmul";
    case Kind::Elementwise: return "elementwise";
    case Kind::Pool: return "pool";
    case Kind::GlobalPool: return "global-pool";
    case Kind::Softmax: return "softmax";
    case Kind::ReduceLast: return "reduce";
    case Kind::Transpose: return "transpose";
    case Kind::Concat: return "concat";
    case Kind::Slice: return "slice";
    case Kind::Pad: return "pad";
    case Kind::QuantDequant: return "quant-dequant";
    case Kind::Gather: return "gather";
    case Kind::Split: return "split";
    case Kind::Alias: return "alias";
    case Kind::Host: return "host";
  }
  return "?";
}

namespace {

bool is_float(const ir::Graph& g, const std::string& v) { return g.value(v).dtype == DType::F32; }

std::vector<float> floats_of(const Tensor& t) {
  std::vector<float> r(t.numel());
  for (size_t i = 0; i < r.size(); ++i) r[i] = float(t.get(i));
  return r;
}

// Scalar constant input `i` of node n (Clip min/max), or def when omitted.
bool const_scalar(const ir::Graph& g, const ir::Node& n, size_t i, float def, float& out) {
  if (i >= n.inputs.size() || n.inputs[i].empty()) { out = def; return true; }
  if (!g.is_constant(n.inputs[i])) return false;
  const Tensor& t = *g.value(n.inputs[i]).constant;
  if (t.numel() != 1) return false;
  out = float(t.get(0));
  return true;
}

// The elementwise activation an ONNX node computes, if it is one the vector unit has.
bool activation_of(const ir::Graph& g, const ir::Node& n, Activation& a) {
  const std::string& op = n.op_type;
  if (op == "Relu") { a = {Fn::Relu, 0, 0}; return true; }
  if (op == "LeakyRelu") { a = {Fn::LeakyRelu, n.attr_f("alpha", 0.01f), 0}; return true; }
  if (op == "Sigmoid") { a = {Fn::Sigmoid, 0, 0}; return true; }
  if (op == "HardSigmoid") { a = {Fn::HardSigmoid, n.attr_f("alpha", 0.2f), n.attr_f("beta", 0.5f)}; return true; }
  if (op == "HardSwish") { a = {Fn::HardSwish, 0, 0}; return true; }
  if (op == "Tanh") { a = {Fn::Tanh, 0, 0}; return true; }
  if (op == "Clip") {
    float lo, hi;
    if (n.opset < 11) { lo = n.attr_f("min", -INFINITY); hi = n.attr_f("max", INFINITY); }
    else if (!const_scalar(g, n, 1, -INFINITY, lo) || !const_scalar(g, n, 2, INFINITY, hi)) return false;
    a = {Fn::Clip, lo, hi};
    return true;
  }
  return false;
}

bool unary_fn(const std::string& op, Fn& f) {
  static const std::map<std::string, Fn> m = {
      {"Erf", Fn::Erf}, {"Exp", Fn::Exp}, {"Log", Fn::Log}, {"Sqrt", Fn::Sqrt}, {"Reciprocal", Fn::Recip},
      {"Neg", Fn::Neg}, {"Abs", Fn::Abs}, {"Floor", Fn::Floor}, {"Ceil", Fn::Ceil}, {"Round", Fn::Round},
      {"Gelu", Fn::Gelu}};
  auto it = m.find(op);
  if (it == m.end()) return false;
  f = it->second;
  return true;
}

}  // namespace

bool binary_fn(const std::string& op, Fn& f) {
  static const std::map<std::string, Fn> m = {{"Add", Fn::Add}, {"Sub", Fn::Sub}, {"Mul", Fn::Mul},
                                              {"Div", Fn::Div}, {"Max", Fn::Max}, {"Min", Fn::Min},
                                              {"Pow", Fn::Pow}, {"PRelu", Fn::PRelu}};
  auto it = m.find(op);
  if (it == m.end()) return false;
  f = it->second;
  return true;
}

bool elementwise_fn(const ir::Graph& g, const ir::Node& n, Fn& f, float& alpha, float& beta, int& arity) {
  Activation a;
  alpha = beta = 0;
  if (activation_of(g, n, a)) { f = a.fn, alpha = a.alpha, beta = a.beta, arity = 1; return true; }
  if (unary_fn(n.op_type, f)) { arity = 1; return true; }
  if (binary_fn(n.op_type, f) && n.inputs.size() == 2) { arity = 2; return true; }
  return false;
}

std::vector<Layer> run_passes(ir::Graph& g) {
  std::set<std::string> graph_outputs(g.outputs.begin(), g.outputs.end());

  // 0. Quantize/DequantizeLinear of constants (QDQ weights): fold to constants.
  for (size_t i = 0; i < g.nodes.size();) {
    ir::Node& n = g.nodes[i];
    bool all_const = n.op_type == "DequantizeLinear" || n.op_type == "QuantizeLinear";
    for (auto& in : n.inputs) all_const = all_const && (in.empty() || g.is_constant(in));
    if (all_const && n.outputs.size() == 1 && !graph_outputs.count(n.outputs[0])) {
      std::vector<const Tensor*> args;
      for (auto& in : n.inputs) args.push_back(in.empty() ? nullptr : &*g.value(in).constant);
      auto outs = ref::run_node(n, args);
      g.value(n.outputs[0]).constant = outs.at(0);
      g.nodes.erase(g.nodes.begin() + i);
      continue;
    }
    ++i;
  }

  // 1. Identity and identity-permutation Transpose: rewire readers to the input.
  for (size_t i = 0; i < g.nodes.size();) {
    ir::Node& n = g.nodes[i];
    bool noop = n.op_type == "Identity" || (n.op_type == "Dropout" && n.inputs.size() == 1 && n.outputs.size() == 1);
    if (n.op_type == "Transpose") {
      auto perm = n.attr_ints("perm");
      noop = !perm.empty();
      for (size_t k = 0; k < perm.size(); ++k) noop = noop && perm[k] == int64_t(k);
    }
    if (noop && !graph_outputs.count(n.outputs[0]) && n.outputs.size() >= 1) {
      std::string from = n.outputs[0], to = n.inputs[0];
      g.nodes.erase(g.nodes.begin() + i);
      ir::replace_uses(g, from, to);
      continue;
    }
    ++i;
  }

  // 2. BatchNormalization: fold into a Conv that only it reads, else rewrite as Mul + Add.
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    ir::Node bn = g.nodes[i];
    if (bn.op_type != "BatchNormalization" || bn.inputs.size() < 5) continue;
    bool params_const = true;
    for (int k = 1; k < 5; ++k) params_const = params_const && g.is_constant(bn.inputs[k]);
    if (!params_const || !is_float(g, bn.inputs[0])) continue;
    auto sc = floats_of(*g.value(bn.inputs[1]).constant), b = floats_of(*g.value(bn.inputs[2]).constant);
    auto mean = floats_of(*g.value(bn.inputs[3]).constant), var = floats_of(*g.value(bn.inputs[4]).constant);
    float eps = bn.attr_f("epsilon", 1e-5f);
    size_t C = sc.size();
    std::vector<float> s(C), t(C);
    for (size_t c = 0; c < C; ++c) {
      s[c] = sc[c] / std::sqrt(var[c] + eps);
      t[c] = b[c] - mean[c] * s[c];
    }
    auto prod = ir::producers(g);
    auto cons = ir::consumers(g);
    const std::string& x = bn.inputs[0];
    auto pit = prod.find(x);
    if (pit != prod.end() && !graph_outputs.count(x) && cons[x].size() == 1) {
      ir::Node& conv = g.nodes[pit->second];
      if (conv.op_type == "Conv" && conv.inputs.size() >= 2 && g.is_constant(conv.inputs[1]) &&
          g.value(conv.inputs[1]).shape.size() >= 3 && g.value(conv.inputs[1]).shape[0] == int64_t(C)) {
        Tensor w = g.value(conv.inputs[1]).constant->cast(DType::F32);
        int64_t per = w.numel() / int64_t(C);
        for (size_t c = 0; c < C; ++c)
          for (int64_t k = 0; k < per; ++k) w.ptr<float>()[c * per + k] *= s[c];
        Tensor bias(DType::F32, {int64_t(C)});
        for (size_t c = 0; c < C; ++c) {
          float b0 = (conv.inputs.size() > 2 && !conv.inputs[2].empty()) ? float(g.value(conv.inputs[2]).constant->get(c)) : 0.f;
          bias.ptr<float>()[c] = b0 * s[c] + t[c];
        }
        std::string wn = ir::fresh_value_name(g, conv.name + ".bnfold.W");
        g.values[wn] = ir::Value{wn, DType::F32, w.shape, w};
        std::string bname = ir::fresh_value_name(g, conv.name + ".bnfold.B");
        g.values[bname] = ir::Value{bname, DType::F32, bias.shape, bias};
        conv.inputs.resize(3);
        conv.inputs[1] = wn;
        conv.inputs[2] = bname;
        conv.outputs[0] = bn.outputs[0];
        g.nodes.erase(g.nodes.begin() + i);
        --i;
        continue;
      }
    }
    // Standalone: y = x * s + t with s, t broadcast over channel (dim 1).
    Shape xs = g.value(x).shape;
    Shape cs(xs.size() > 1 ? xs.size() - 1 : 1, 1);
    cs[0] = int64_t(C);
    std::string sn = ir::fresh_value_name(g, bn.name + ".scale"), tn = ir::fresh_value_name(g, bn.name + ".shift");
    g.values[sn] = ir::Value{sn, DType::F32, cs, Tensor::from_floats(cs, s)};
    g.values[tn] = ir::Value{tn, DType::F32, cs, Tensor::from_floats(cs, t)};
    std::string mid = ir::fresh_value_name(g, bn.name + ".scaled");
    g.values[mid] = ir::Value{mid, DType::F32, xs};
    ir::Node mul, add;
    mul.name = ir::fresh_node_name(g, bn.name + ".mul");
    mul.op_type = "Mul";
    mul.inputs = {x, sn};
    mul.outputs = {mid};
    add.name = ir::fresh_node_name(g, bn.name + ".add");
    add.op_type = "Add";
    add.inputs = {mid, tn};
    add.outputs = {bn.outputs[0]};
    g.nodes[i] = mul;
    g.nodes.insert(g.nodes.begin() + i + 1, add);
  }

  // 3. Build layers, fusing bias adds and activations into Conv / MatMul / elementwise.
  auto cons = ir::consumers(g);
  std::vector<bool> taken(g.nodes.size(), false);
  auto prod = ir::producers(g);
  std::vector<Layer> layers;
  // The single consumer of value v (index), or -1 when v is read by several / a graph output.
  auto sole_consumer = [&](const std::string& v) -> long {
    if (graph_outputs.count(v)) return -1;
    auto it = cons.find(v);
    if (it == cons.end() || it->second.size() != 1) return -1;
    return long(it->second[0]);
  };

  auto per_tensor_qdq = [&](const ir::Node& n) {
    float qs;
    int32_t qz;
    DType qt;
    return qdq_node_params(g, n, qs, qz, qt);
  };
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (taken[i]) continue;
    taken[i] = true;
    const ir::Node& n = g.nodes[i];
    Layer L;
    L.node = n;
    bool dom = n.domain.empty() || n.domain == "ai.onnx";
    const std::string& op = n.op_type;
    bool float_io = dom && !n.outputs.empty() && g.values.count(n.outputs[0]) && is_float(g, n.outputs[0]);
    for (auto& in : n.inputs) float_io = float_io && (in.empty() || g.values.count(in));
    // The first input is the data operand of every card op; binary ops read both.
    if (float_io && !n.inputs.empty() && !n.inputs[0].empty()) float_io = is_float(g, n.inputs[0]);
    if (float_io && n.inputs.size() == 2 && (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Pow" ||
                                             op == "Max" || op == "Min" || op == "PRelu" || op == "MatMul" || op == "Concat"))
      float_io = is_float(g, n.inputs[1]);
    if (float_io && op == "Concat")
      for (auto& in : n.inputs) float_io = float_io && is_float(g, in);
    size_t channels = 0;  // per-channel bias length for fusion
    bool conv_like = false;

    if (float_io && op == "Conv" && n.inputs.size() >= 2 && g.is_constant(n.inputs[1]) &&
        g.value(n.inputs[0]).shape.size() == 4 && g.value(n.inputs[1]).shape.size() == 4 &&
        n.attr_s("auto_pad", "NOTSET") == "NOTSET") {
      L.kind = Kind::Conv;
      L.weight = n.inputs[1];
      if (n.inputs.size() > 2 && !n.inputs[2].empty()) L.bias = n.inputs[2];
      channels = size_t(g.value(n.inputs[1]).shape[0]);
      conv_like = true;
    } else if (float_io && op == "Gemm" && g.is_constant(n.inputs[1]) && n.attr_i("transA", 0) == 0 &&
               g.value(n.inputs[0]).shape.size() == 2) {
      // Canonical weight [K,N] = alpha * op(B); bias = beta * C when C is per output column.
      Tensor B = g.value(n.inputs[1]).constant->cast(DType::F32);
      bool tb = n.attr_i("transB", 0) != 0;
      float alpha = n.attr_f("alpha", 1.f), beta = n.attr_f("beta", 1.f);
      int64_t K = tb ? B.shape[1] : B.shape[0], N = tb ? B.shape[0] : B.shape[1];
      bool bias_ok = true;
      Tensor bias;
      if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
        const ir::Value& cv = g.value(n.inputs[2]);
        bias_ok = cv.constant && (cv.constant->numel() == N || cv.constant->numel() == 1) &&
                  (cv.shape.empty() || cv.shape.back() == N || cv.constant->numel() == 1);
        if (bias_ok) {
          bias = Tensor(DType::F32, {N});
          for (int64_t c = 0; c < N; ++c) bias.ptr<float>()[c] = beta * float(cv.constant->get(cv.constant->numel() == 1 ? 0 : c));
        }
      }
      if (bias_ok) {
        Tensor W(DType::F32, {K, N});
        for (int64_t k = 0; k < K; ++k)
          for (int64_t c = 0; c < N; ++c)
            W.ptr<float>()[k * N + c] = alpha * B.ptr<float>()[tb ? c * K + k : k * N + c];
        L.kind = Kind::MatMul;
        L.weight = ir::fresh_value_name(g, n.name + ".W");
        g.values[L.weight] = ir::Value{L.weight, DType::F32, W.shape, W};
        if (bias.numel()) {
          L.bias = ir::fresh_value_name(g, n.name + ".B");
          g.values[L.bias] = ir::Value{L.bias, DType::F32, bias.shape, bias};
        }
        channels = size_t(N);
        conv_like = true;
      }
    } else if (float_io && op == "MatMul" && g.value(n.inputs[0]).shape.size() >= 2 &&
               g.value(n.inputs[1]).shape.size() >= 2) {
      L.kind = Kind::MatMul;
      // A constant B of any rank >= 2 is a weight ([K,N], or batched [..., K, N] broadcast like numpy).
      L.b_is_weight = g.is_constant(n.inputs[1]);
      if (L.b_is_weight) {
        L.weight = n.inputs[1];
        channels = size_t(g.value(n.inputs[1]).shape.back());
      }
      conv_like = true;
    } else if (Activation a; float_io && activation_of(g, n, a)) {
      L.kind = Kind::Elementwise;
    } else if (Fn f; float_io && (unary_fn(op, f) || (binary_fn(op, f) && n.inputs.size() == 2))) {
      L.kind = Kind::Elementwise;
    } else if (float_io && (op == "MaxPool" || op == "AveragePool") && g.value(n.inputs[0]).shape.size() == 4 &&
               n.outputs.size() == 1 && n.attr_s("auto_pad", "NOTSET") == "NOTSET") {
      L.kind = Kind::Pool;
    } else if (float_io && (op == "GlobalAveragePool" || op == "GlobalMaxPool")) {
      L.kind = Kind::GlobalPool;
    } else if (float_io && op == "Softmax") {
      int64_t r = int64_t(g.value(n.inputs[0]).shape.size());
      int64_t ax = n.attr_i("axis", n.opset >= 13 ? -1 : 1);
      if (ax < 0) ax += r;
      if (ax == r - 1 || (n.opset < 13 && ax == 1 && r == 2)) L.kind = Kind::Softmax;
    } else if (float_io && (op == "ReduceMean" || op == "ReduceSum" || op == "ReduceMax" || op == "ReduceMin") &&
               n.inputs.size() == 1) {
      int64_t r = int64_t(g.value(n.inputs[0]).shape.size());
      auto axes = n.attr_ints("axes");
      std::set<int64_t> ax;
      for (auto a : axes) ax.insert(a < 0 ? a + r : a);
      bool trailing = !ax.empty();
      for (int64_t k = 0; k < int64_t(ax.size()); ++k) trailing = trailing && ax.count(r - 1 - k);
      if (trailing) L.kind = Kind::ReduceLast;
    } else if (dom && n.outputs.size() == 1 &&
               (op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze" || op == "Identity" ||
                (op == "Dropout" && n.inputs.size() == 1))) {
      L.kind = Kind::Alias;
    } else if (dom && n.outputs.size() == 1 && per_tensor_qdq(n) &&
               (op == "QuantizeLinear" ? is_float(g, n.inputs[0]) : is_float(g, n.outputs[0]))) {
      L.kind = Kind::QuantDequant;
    } else if (dom && op == "Gather" && n.inputs.size() == 2 && is_float(g, n.inputs[0]) && g.is_constant(n.inputs[1]) &&
               g.value(n.inputs[1]).constant->numel() <= 4096) {
      L.kind = Kind::Gather;
    } else if (dom && op == "Split" && !n.inputs.empty() && is_float(g, n.inputs[0])) {
      bool all = true;
      for (auto& o : n.outputs) all = all && !o.empty() && g.values.count(o);
      if (all) L.kind = Kind::Split;
    } else if (float_io && op == "Transpose") {
      L.kind = Kind::Transpose;
    } else if (float_io && op == "Concat") {
      L.kind = Kind::Concat;
    } else if (float_io && op == "Slice") {
      bool c = true;
      for (size_t k = 1; k < n.inputs.size(); ++k) c = c && (n.inputs[k].empty() || g.is_constant(n.inputs[k]));
      if (c) L.kind = Kind::Slice;
    } else if (float_io && op == "Pad" && n.attr_s("mode", "constant") == "constant") {
      bool c = n.inputs.size() >= 2 && g.is_constant(n.inputs[1]);
      for (size_t k = 2; k < n.inputs.size(); ++k) c = c && (n.inputs[k].empty() || g.is_constant(n.inputs[k]));
      if (c) L.kind = Kind::Pad;
    }

    // Fusion of the chain following a Conv/MatMul (bias, one epilogue activation, post ops)
    // or an elementwise op (post ops only).
    if (conv_like || L.kind == Kind::Elementwise) {
      std::string out = n.outputs[0];
      L.preact = out;
      bool have_act = false;
      for (;;) {
        long c = sole_consumer(out);
        if (c < 0 || taken[size_t(c)]) break;
        const ir::Node& m = g.nodes[size_t(c)];
        if (m.inputs.empty() || m.outputs.size() != 1) break;
        Activation a;
        if (conv_like && !have_act && L.post.empty() && m.op_type == "Add" && m.inputs.size() == 2 && channels > 0) {
          const std::string& other = m.inputs[0] == out ? m.inputs[1] : m.inputs[0];
          if (!g.is_constant(other) || m.inputs[0] == m.inputs[1]) break;
          const Tensor& t = *g.value(other).constant;
          const Shape& os = t.shape;
          bool per_channel = int64_t(t.numel()) == int64_t(channels);
          if (L.kind == Kind::Conv)  // [C], [C,1,1], [1,C,1,1]
            per_channel = per_channel && (os.size() == 1 || (os.size() >= 3 && os[os.size() - 3] == int64_t(channels)));
          else
            per_channel = per_channel && !os.empty() && os.back() == int64_t(channels);
          if (!per_channel) break;
          Tensor nb(DType::F32, {int64_t(channels)});
          for (size_t k = 0; k < channels; ++k)
            nb.ptr<float>()[k] = float(t.get(k)) + (L.bias.empty() ? 0.f : float(g.value(L.bias).constant->get(k)));
          L.bias = ir::fresh_value_name(g, n.name + ".bias");
          g.values[L.bias] = ir::Value{L.bias, DType::F32, nb.shape, nb};
          out = m.outputs[0];
          L.preact = out;
        } else if (activation_of(g, m, a) && m.inputs[0] == out) {
          a.value = m.outputs[0];
          if (conv_like && !have_act && L.post.empty() && (a.fn == Fn::Relu || a.fn == Fn::Clip)) {
            L.act = a;
            have_act = true;
          } else {
            L.post.push_back(a);
          }
          out = m.outputs[0];
        } else {
          break;
        }
        taken[size_t(c)] = true;
        L.fused.push_back(m.name);
      }
      if (L.kind == Kind::Elementwise) L.preact = n.outputs[0];
      L.output = out;
    }
    if (L.output.empty() && !n.outputs.empty()) L.output = n.outputs[0];
    layers.push_back(std::move(L));
  }
  return layers;
}

}  // namespace cardsim::backend
