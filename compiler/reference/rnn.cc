// Recurrent layers: RNN, GRU, LSTM (opsets 7-14: directions, sequence_lens, initial states,
// peepholes, clip, custom activations, layout). One time step at a time, in double.
#include <algorithm>
#include <cmath>
#include <functional>

#include "compiler/reference/detail.h"

namespace cardsim::ref::detail {
namespace {

using Act = std::function<double(double)>;

// Activation functions by name, taking alpha/beta from the node's lists in order.
std::vector<Act> activations(const ir::Node& n, const std::vector<std::string>& defaults, int64_t dirs) {
  std::vector<std::string> names;
  if (auto it = n.attrs.find("activations"); it != n.attrs.end()) names = it->second.strings;
  if (names.empty())
    for (int64_t d = 0; d < dirs; ++d) names.insert(names.end(), defaults.begin(), defaults.end());
  if (names.size() != defaults.size() * size_t(dirs))
    invalid(n, fmt::format("activations lists {} functions, expected {}", names.size(), defaults.size() * size_t(dirs)));
  std::vector<float> alphas = attr_floats(n, "activation_alpha", {}), betas = attr_floats(n, "activation_beta", {});
  size_t ai = 0, bi = 0;
  auto next = [&](std::vector<float>& v, size_t& i, double def) { return i < v.size() ? double(v[i++]) : def; };
  std::vector<Act> r;
  for (const std::string& name : names) {
    if (name == "Tanh") r.push_back([](double x) { return std::tanh(x); });
    else if (name == "Sigmoid") r.push_back([](double x) { return 1 / (1 + std::exp(-x)); });
    else if (name == "Relu") r.push_back([](double x) { return std::max(x, 0.0); });
    else if (name == "Softsign") r.push_back([](double x) { return x / (1 + std::fabs(x)); });
    else if (name == "Softplus") r.push_back([](double x) { return std::log1p(std::exp(x)); });
    else if (name == "LeakyRelu") { double a = next(alphas, ai, 0.01); r.push_back([a](double x) { return x >= 0 ? x : a * x; }); }
    else if (name == "ThresholdedRelu") { double a = next(alphas, ai, 1.0); r.push_back([a](double x) { return x > a ? x : 0.0; }); }
    else if (name == "Elu") { double a = next(alphas, ai, 1.0); r.push_back([a](double x) { return x >= 0 ? x : a * (std::exp(x) - 1); }); }
    else if (name == "HardSigmoid") {
      double a = next(alphas, ai, 0.2), b = next(betas, bi, 0.5);
      r.push_back([a, b](double x) { return std::clamp(a * x + b, 0.0, 1.0); });
    } else if (name == "Affine") {
      double a = next(alphas, ai, 1.0), b = next(betas, bi, 0.0);
      r.push_back([a, b](double x) { return a * x + b; });
    } else if (name == "ScaledTanh") {
      double a = next(alphas, ai, 1.0), b = next(betas, bi, 1.0);
      r.push_back([a, b](double x) { return a * std::tanh(b * x); });
    } else {
      unsupported(n, fmt::format("activation '{}'", name));
    }
  }
  return r;
}

Outputs recurrent(const ir::Node& n, const Inputs& ins) {
  const std::string& op = n.op_type;
  const int64_t gates = op == "LSTM" ? 4 : op == "GRU" ? 3 : 1;
  const Tensor& xt = in(n, ins, 0);
  const Tensor& wt = in(n, ins, 1);
  const Tensor& rt = in(n, ins, 2);
  const bool batch_major = attr_i(n, "layout", 0) != 0;
  if (xt.shape.size() != 3 || wt.shape.size() != 3 || rt.shape.size() != 3) invalid(n, "X, W and R must be 3-D");
  const int64_t seq = batch_major ? xt.shape[1] : xt.shape[0], batch = batch_major ? xt.shape[0] : xt.shape[1];
  const int64_t in_sz = xt.shape[2], dirs = wt.shape[0];
  const std::string direction = attr_s(n, "direction", "forward");
  if ((direction == "bidirectional") != (dirs == 2) || (direction != "forward" && direction != "reverse" && direction != "bidirectional"))
    invalid(n, fmt::format("direction '{}' does not match W with {} directions", direction, dirs));
  const int64_t hid = attr_i(n, "hidden_size", wt.shape[1] / gates);
  if (wt.shape[1] != gates * hid || wt.shape[2] != in_sz || rt.shape[0] != dirs || rt.shape[1] != gates * hid || rt.shape[2] != hid)
    invalid(n, fmt::format("W {} / R {} do not fit hidden_size {} and input size {}", shape_str(wt.shape), shape_str(rt.shape), hid, in_sz));
  if (attr_i(n, "input_forget", 0) != 0) unsupported(n, "attribute input_forget=1");
  const double clip = n.has("clip") ? attr_f(n, "clip", 0) : 0;
  const bool lbr = attr_i(n, "linear_before_reset", 0) != 0;
  std::vector<std::string> defaults = op == "LSTM" ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
                                      : op == "GRU" ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                                    : std::vector<std::string>{"Tanh"};
  std::vector<Act> acts = activations(n, defaults, dirs);
  const size_t per_dir = defaults.size();

  std::vector<double> X = to_f64(xt), W = to_f64(wt), R = to_f64(rt);
  std::vector<double> B(size_t(dirs * 2 * gates * hid), 0.0);
  if (const Tensor* b = opt(ins, 3)) {
    if (b->numel() != int64_t(B.size())) invalid(n, fmt::format("B has {} values, expected {}", b->numel(), B.size()));
    B = to_f64(*b);
  }
  std::vector<int64_t> lens(size_t(batch), seq);
  if (const Tensor* sl = opt(ins, 4)) {
    if (sl->numel() != batch) invalid(n, "sequence_lens must have one entry per batch");
    lens = ints_of(*sl);
    for (auto& l : lens) l = std::clamp<int64_t>(l, 0, seq);
  }
  // States are kept as [dir][batch][hidden] whatever the layout.
  auto load_state = [&](const Tensor* t, const char* what) {
    std::vector<double> s(size_t(dirs * batch * hid), 0.0);
    if (!t) return s;
    if (t->numel() != int64_t(s.size())) invalid(n, fmt::format("{} has {} values, expected {}", what, t->numel(), s.size()));
    std::vector<double> v = to_f64(*t);
    for (int64_t d = 0; d < dirs; ++d)
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t h = 0; h < hid; ++h)
          s[size_t((d * batch + b) * hid + h)] = v[size_t(batch_major ? (b * dirs + d) * hid + h : (d * batch + b) * hid + h)];
    return s;
  };
  std::vector<double> H = load_state(opt(ins, 5), "initial_h");
  std::vector<double> C = op == "LSTM" ? load_state(opt(ins, 6), "initial_c") : std::vector<double>();
  std::vector<double> P(size_t(dirs * 3 * hid), 0.0);
  if (op == "LSTM") {
    if (const Tensor* p = opt(ins, 7)) {
      if (p->numel() != int64_t(P.size())) invalid(n, "P must have 3*hidden_size values per direction");
      P = to_f64(*p);
    }
  }
  std::vector<double> Y(size_t(seq * dirs * batch * hid), 0.0);  // [seq][dir][batch][hid]
  auto clipped = [clip](double v) { return clip > 0 ? std::clamp(v, -clip, clip) : v; };
  std::vector<double> xw(size_t(gates * hid)), hr(size_t(gates * hid));
  for (int64_t d = 0; d < dirs; ++d) {
    const bool rev = direction == "reverse" || d == 1;
    const double* Wd = W.data() + d * gates * hid * in_sz;
    const double* Rd = R.data() + d * gates * hid * hid;
    const double* Wb = B.data() + d * 2 * gates * hid;
    const double* Rb = Wb + gates * hid;
    const Act& f = acts[size_t(d) * per_dir];
    for (int64_t b = 0; b < batch; ++b) {
      double* h = H.data() + (d * batch + b) * hid;
      double* c = op == "LSTM" ? C.data() + (d * batch + b) * hid : nullptr;
      for (int64_t step = 0; step < lens[size_t(b)]; ++step) {
        const int64_t t = rev ? lens[size_t(b)] - 1 - step : step;
        const double* x = X.data() + (batch_major ? (b * seq + t) : (t * batch + b)) * in_sz;
        for (int64_t g = 0; g < gates * hid; ++g) {
          double a = Wb[g], r = Rb[g];
          for (int64_t i = 0; i < in_sz; ++i) a += Wd[g * in_sz + i] * x[i];
          for (int64_t i = 0; i < hid; ++i) r += Rd[g * hid + i] * h[i];
          xw[size_t(g)] = a;
          hr[size_t(g)] = r;
        }
        std::vector<double> hn(static_cast<size_t>(hid));
        if (op == "RNN") {
          for (int64_t j = 0; j < hid; ++j) hn[size_t(j)] = f(clipped(xw[size_t(j)] + hr[size_t(j)]));
        } else if (op == "GRU") {
          const Act& g = acts[size_t(d) * per_dir + 1];
          std::vector<double> rv(static_cast<size_t>(hid));
          for (int64_t j = 0; j < hid; ++j) rv[size_t(j)] = f(clipped(xw[size_t(hid + j)] + hr[size_t(hid + j)]));
          for (int64_t j = 0; j < hid; ++j) {
            double z = f(clipped(xw[size_t(j)] + hr[size_t(j)]));
            double r = rv[size_t(j)];
            double pre;
            if (lbr) {
              pre = xw[size_t(2 * hid + j)] + r * hr[size_t(2 * hid + j)];
            } else {  // (r . h) R_h^T + Rb_h, recomputed with the reset-gated state
              double s = Rb[2 * hid + j];
              for (int64_t i = 0; i < hid; ++i) s += Rd[(2 * hid + j) * hid + i] * rv[size_t(i)] * h[i];
              pre = xw[size_t(2 * hid + j)] + s;
            }
            double ht = g(clipped(pre));
            hn[size_t(j)] = (1 - z) * ht + z * h[j];
          }
        } else {  // LSTM gates i, o, f, c; peepholes i, o, f
          const Act& g = acts[size_t(d) * per_dir + 1];
          const Act& hf = acts[size_t(d) * per_dir + 2];
          const double* Pd = P.data() + d * 3 * hid;
          for (int64_t j = 0; j < hid; ++j) {
            double ig = f(clipped(xw[size_t(j)] + hr[size_t(j)] + Pd[j] * c[j]));
            double fg = f(clipped(xw[size_t(2 * hid + j)] + hr[size_t(2 * hid + j)] + Pd[2 * hid + j] * c[j]));
            double cg = g(clipped(xw[size_t(3 * hid + j)] + hr[size_t(3 * hid + j)]));
            double cn = fg * c[j] + ig * cg;
            double og = f(clipped(xw[size_t(hid + j)] + hr[size_t(hid + j)] + Pd[hid + j] * cn));
            c[j] = cn;
            hn[size_t(j)] = og * hf(cn);
          }
        }
        std::copy(hn.begin(), hn.end(), h);
        std::copy(hn.begin(), hn.end(), Y.begin() + ((t * dirs + d) * batch + b) * hid);
      }
    }
  }
  const DType dt = xt.dtype;
  Outputs out;
  if (batch_major) {  // Y [batch, seq, dir, hid]; states [batch, dir, hid]
    std::vector<double> y(Y.size()), hs(H.size()), cs(C.size());
    for (int64_t t = 0; t < seq; ++t)
      for (int64_t d = 0; d < dirs; ++d)
        for (int64_t b = 0; b < batch; ++b)
          for (int64_t j = 0; j < hid; ++j)
            y[size_t(((b * seq + t) * dirs + d) * hid + j)] = Y[size_t(((t * dirs + d) * batch + b) * hid + j)];
    for (int64_t d = 0; d < dirs; ++d)
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t j = 0; j < hid; ++j) {
          hs[size_t((b * dirs + d) * hid + j)] = H[size_t((d * batch + b) * hid + j)];
          if (!C.empty()) cs[size_t((b * dirs + d) * hid + j)] = C[size_t((d * batch + b) * hid + j)];
        }
    out.push_back(from_f64(dt, {batch, seq, dirs, hid}, y));
    out.push_back(from_f64(dt, {batch, dirs, hid}, hs));
    if (op == "LSTM") out.push_back(from_f64(dt, {batch, dirs, hid}, cs));
  } else {
    out.push_back(from_f64(dt, {seq, dirs, batch, hid}, Y));
    out.push_back(from_f64(dt, {dirs, batch, hid}, H));
    if (op == "LSTM") out.push_back(from_f64(dt, {dirs, batch, hid}, C));
  }
  return out;
}

}  // namespace

void register_rnn(KernelTable& t) {
  t["RNN"] = recurrent;
  t["GRU"] = recurrent;
  t["LSTM"] = recurrent;
}

}  // namespace cardsim::ref::detail
