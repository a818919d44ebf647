#include "compiler/backend/quantize.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <set>
#include <vector>

#include "compiler/frontend/tensor_io.h"
#include "compiler/reference/ops.h"
#include "core/error.h"

namespace cardsim::backend {

namespace fs = std::filesystem;

namespace {

// Per-value calibration statistics over all samples.
struct RangeStats {
  float lo = 0, hi = 0;                 // raw min / max over every sample
  double clip_lo_sum = 0, clip_hi_sum = 0;  // MSE-optimal clipped range, summed per sample
  int samples = 0;
};

// The [lo, hi] (lo <= 0 <= hi) whose asymmetric 8-bit quantization (255 steps) of the
// values in p has the least expected squared error: rounding noise step^2/12 inside the
// range, squared clipping distance outside. Exact zeros cost nothing (the zero point is
// exact), so the many zeros after a ReLU do not pull the range in. Searched on a
// 1024-bin histogram over a grid of 1 - k/32 of each raw bound.
Range mse_optimal_range(const float* p, int64_t n, float mn, float mx) {
  const double lo0 = std::min(0.0, double(mn)), hi0 = std::max(0.0, double(mx));
  if (!(hi0 > lo0) || !std::isfinite(lo0) || !std::isfinite(hi0)) return {float(lo0), float(hi0)};
  constexpr int kBins = 1024;
  std::vector<double> count(kBins, 0.0);
  const double width = (hi0 - lo0) / kBins;
  for (int64_t i = 0; i < n; ++i) {
    if (p[i] == 0.0f || !std::isfinite(p[i])) continue;
    int b = int((double(p[i]) - lo0) / width);
    count[size_t(std::clamp(b, 0, kBins - 1))] += 1;
  }
  auto center = [&](int b) { return lo0 + (b + 0.5) * width; };
  constexpr int kSteps = 25;  // down to 1 - 24/32 = 25 % of each raw bound
  double best_err = -1;
  Range best{float(lo0), float(hi0)};
  for (int a = 0; a < (lo0 < 0 ? kSteps : 1); ++a) {
    const double lo = lo0 * (1.0 - a / 32.0);
    for (int c = 0; c < (hi0 > 0 ? kSteps : 1); ++c) {
      const double hi = hi0 * (1.0 - c / 32.0);
      const double step = (hi - lo) / 255.0;
      double err = 0;
      for (int b = 0; b < kBins; ++b) {
        if (count[size_t(b)] == 0) continue;
        const double x = center(b);
        const double d = x < lo ? x - lo : x > hi ? x - hi : 0.0;
        err += count[size_t(b)] * (d != 0.0 ? d * d : step * step / 12.0);
      }
      if (best_err < 0 || err < best_err) best_err = err, best = {float(lo), float(hi)};
    }
  }
  return best;
}

void run_sample(const ir::Graph& g, const std::map<std::string, Tensor>& env, std::map<std::string, RangeStats>& ranges) {
  auto note = [&](const std::string& name, const Tensor& t) {
    if (t.dtype != DType::F32 || t.numel() == 0) return;
    const float* p = t.ptr<float>();
    auto [mn, mx] = std::minmax_element(p, p + t.numel());
    Range clipped = mse_optimal_range(p, t.numel(), *mn, *mx);
    auto [it, fresh] = ranges.try_emplace(name);
    RangeStats& r = it->second;
    if (fresh) r.lo = *mn, r.hi = *mx;
    else r.lo = std::min(r.lo, *mn), r.hi = std::max(r.hi, *mx);
    r.clip_lo_sum += clipped.lo, r.clip_hi_sum += clipped.hi, ++r.samples;
  };
  ref::run_graph(g, env, note);
}

}  // namespace

std::map<std::string, Range> calibrate(const ir::Graph& g, const std::string& dir, std::string* warning) {
  std::map<std::string, Range> ranges;
  std::vector<std::map<std::string, Tensor>> samples;
  auto add_dir = [&](const std::string& d) {
    auto data = read_test_data_dir(d, "input_");
    if (data.empty()) return;
    std::map<std::string, Tensor> env;
    for (size_t i = 0; i < data.size() && i < g.inputs.size(); ++i) {
      const std::string& name = !data[i].first.empty() && g.values.count(data[i].first) ? data[i].first : g.inputs[i];
      env[name] = data[i].second.cast(g.value(name).dtype);
      if (env[name].shape != g.value(name).shape)
        fail(ErrorKind::Format, "{}: calibration input {} has shape {}, the network expects {}", d, i,
             shape_str(env[name].shape), shape_str(g.value(name).shape));
    }
    samples.push_back(std::move(env));
  };
  if (!dir.empty()) {
    if (!fs::is_directory(dir)) fail(ErrorKind::Io, "--calibrate {}: not a directory", dir);
    add_dir(dir);
    std::vector<std::string> sets;
    for (auto& e : fs::directory_iterator(dir))
      if (e.is_directory() && e.path().filename().string().starts_with("test_data_set_")) sets.push_back(e.path().string());
    std::sort(sets.begin(), sets.end());
    for (auto& s : sets) add_dir(s);
    if (samples.empty()) fail(ErrorKind::Io, "--calibrate {}: no input_N.pb files or test_data_set_*/ folders", dir);
  } else {
    if (warning) *warning = "warning: int8 without --calibrate: calibrating on seeded random inputs in [-1, 1]; accuracy will suffer";
    std::mt19937 rng(1234);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    // Small networks get several samples (ranges closer to the input distribution); big
    // ones one, since the reference interpreter dominates their compile time.
    int64_t weights = 0;
    for (auto& [n, v] : g.values)
      if (v.constant) weights += v.constant->numel();
    int nsamples = weights < 1000000 ? 8 : 1;
    for (int s = 0; s < nsamples; ++s) {
      std::map<std::string, Tensor> env;
      for (auto& name : g.inputs) {
        const ir::Value& v = g.value(name);
        Tensor t(v.dtype, v.shape);
        for (int64_t i = 0; i < t.numel(); ++i) t.set(size_t(i), dtype_is_float(v.dtype) ? u(rng) : 0.0);
        env[name] = std::move(t);
      }
      samples.push_back(std::move(env));
    }
  }
  std::map<std::string, RangeStats> stats;
  for (auto& s : samples) run_sample(g, s, stats);
  // Graph inputs and outputs keep their raw min/max: clipping the largest logits would
  // change the answer, and inputs are what the host gives. Every other value gets the mean
  // of its per-sample MSE-optimal ranges (README.md "Precisions").
  std::set<std::string> keep_raw(g.outputs.begin(), g.outputs.end());
  keep_raw.insert(g.inputs.begin(), g.inputs.end());
  // Clipping pays off where a few outliers stretch a range (attention scores and the
  // transformer's residual stream / GELU / LayerNorm pieces: vit_b_16 0.921 -> 0.939 cosine
  // to fp32), but costs the CNNs a little (their clipped tails feed long chains of
  // sensitive layers: resnet50 0.9867 -> 0.9852, mobilenet_v2 0.9749 -> 0.9718; resnet18 and
  // squeezenet1_1 unchanged). So: MSE-optimal ranges for graphs with attention (a Softmax),
  // raw min/max otherwise.
  const bool clip = std::any_of(g.nodes.begin(), g.nodes.end(), [](const ir::Node& n) { return n.op_type == "Softmax"; });
  for (auto& [name, r] : stats) {
    if (!clip || keep_raw.count(name) || r.samples == 0) ranges[name] = {r.lo, r.hi};
    else ranges[name] = {float(r.clip_lo_sum / r.samples), float(r.clip_hi_sum / r.samples)};
  }
  return ranges;
}

bool qdq_node_params(const ir::Graph& g, const ir::Node& n, float& scale, int32_t& zp, DType& qtype) {
  if (n.op_type != "QuantizeLinear" && n.op_type != "DequantizeLinear") return false;
  if (n.inputs.size() < 2 || !g.is_constant(n.inputs[1]) || g.value(n.inputs[1]).constant->numel() != 1) return false;
  scale = float(g.value(n.inputs[1]).constant->get(0));
  zp = 0;
  qtype = n.op_type == "QuantizeLinear" ? DType::U8 : g.value(n.inputs[0]).dtype;
  if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
    if (!g.is_constant(n.inputs[2]) || g.value(n.inputs[2]).constant->numel() != 1) return false;
    zp = int32_t(g.value(n.inputs[2]).constant->get(0));
    qtype = g.value(n.inputs[2]).dtype;
  }
  if (n.op_type == "QuantizeLinear" && !n.outputs.empty()) qtype = g.value(n.outputs[0]).dtype;
  return scale > 0 && (qtype == DType::U8 || qtype == DType::I8);
}

std::map<std::string, QParams> qdq_params(const ir::Graph& g) {
  std::map<std::string, QParams> f;
  for (auto& n : g.nodes) {
    float s;
    int32_t zp;
    DType t;
    if (!qdq_node_params(g, n, s, zp, t)) continue;
    QParams q{s, t == DType::U8 ? zp - 128 : zp};
    const std::string& v = n.op_type == "DequantizeLinear" ? n.outputs[0] : n.inputs[0];
    if (g.value(v).dtype == DType::F32 && !g.is_constant(v)) f.emplace(v, q);
  }
  return f;
}

QParams value_qparams(const std::string& v, const std::map<std::string, Range>& ranges,
                      const std::map<std::string, QParams>& forced, int bits) {
  auto f = forced.find(v);
  if (f != forced.end()) return f->second;
  auto it = ranges.find(v);
  return activation_qparams(it == ranges.end() ? Range{-1, 1} : it->second, bits);
}

QParams activation_qparams(Range r, int bits) {
  const double qmin = -std::ldexp(1.0, bits - 1), qmax = std::ldexp(1.0, bits - 1) - 1;
  double lo = std::min(0.0, double(r.lo)), hi = std::max(0.0, double(r.hi));
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = -1, hi = 1;
  double scale = (hi - lo) / (qmax - qmin);
  if (scale <= 0) scale = 1.0 / 128;
  double zp = std::nearbyint(qmin - lo / scale);
  zp = std::clamp(zp, qmin, qmax);
  return {float(scale), int32_t(zp)};
}

std::vector<std::string> layer_output_family(const Layer& L) {
  std::vector<std::string> v{L.output};
  if (!L.preact.empty()) v.push_back(L.preact);
  if (!L.act.value.empty()) v.push_back(L.act.value);
  for (auto& p : L.post) v.push_back(p.value);
  return v;
}

MixedPrecision choose_mixed_precision(const ir::Graph& g, const std::vector<Layer>& layers, const std::string& mode) {
  MixedPrecision mp;
  if (mode == "off") return mp;
  if (mode != "auto") fail(ErrorKind::Usage, "--int8-mixed '{}': expected auto or off", mode);
  using Kind = Layer::Kind;
  int64_t input_pixels = 0;
  for (auto& name : g.inputs) {
    const ir::Value& v = g.value(name);
    if (v.dtype == DType::F32 && v.shape.size() == 4) input_pixels = std::max(input_pixels, v.shape[2] * v.shape[3]);
  }
  if (input_pixels == 0) return mp;
  const auto qdq = qdq_params(g);
  std::set<std::string> outputs(g.outputs.begin(), g.outputs.end());
  auto high_res = [&](const std::string& v) {
    if (!g.values.count(v) || outputs.count(v) || qdq.count(v) || g.is_constant(v)) return false;
    const ir::Value& val = g.value(v);
    return val.dtype == DType::F32 && val.shape.size() == 4 && val.shape[2] * val.shape[3] * 16 >= input_pixels;
  };
  // Layers that read an int16 value correctly: Conv (i16 operand, i64 accumulator) and the
  // vector unit (its load DMA dequantizes any integer type). Everything else keeps int8 inputs.
  auto reads_i16 = [](Kind k) {
    return k == Kind::Conv || k == Kind::Elementwise || k == Kind::Pool || k == Kind::GlobalPool || k == Kind::Concat;
  };
  // Per value: whether every layer that reads it is of a kind `ok` accepts.
  auto readers_all = [&](auto ok) {
    std::map<std::string, bool> all;
    for (auto& L : layers)
      for (auto& in : L.node.inputs)
        if (!in.empty()) {
          auto [it, fresh] = all.try_emplace(in, true);
          it->second = it->second && ok(L.kind);
        }
    return all;
  };
  const std::map<std::string, bool> readers_ok = readers_all(reads_i16);
  auto candidate = [&](const std::string& v) {
    auto r = readers_ok.find(v);
    return high_res(v) && r != readers_ok.end() && r->second;
  };
  for (auto& name : g.inputs)
    if (candidate(name)) mp.wide.insert(name);
  for (auto& L : layers) {
    if (!reads_i16(L.kind) || !candidate(L.output)) continue;
    for (auto& v : layer_output_family(L)) mp.wide.insert(v);
  }
  // Rule 2: values the vector unit computes and only the vector unit reads (LayerNorm's
  // mean / variance chain, the residual stream between blocks, attention scores before the
  // softmax, GELU's pieces). They cost no matrix-unit pass, only twice the bytes.
  auto vector_kind = [](Kind k) {
    return k == Kind::Elementwise || k == Kind::Pool || k == Kind::GlobalPool || k == Kind::Concat ||
           k == Kind::ReduceLast || k == Kind::Softmax;
  };
  const std::map<std::string, bool> vector_readers = readers_all(vector_kind);
  for (auto& L : layers) {
    if (!vector_kind(L.kind) || outputs.count(L.output) || qdq.count(L.output)) continue;
    if (!g.values.count(L.output) || g.value(L.output).dtype != DType::F32) continue;
    auto r = vector_readers.find(L.output);
    if (r == vector_readers.end() || !r->second) continue;
    for (auto& v : layer_output_family(L)) mp.wide.insert(v);
  }
  return mp;
}

QuantWeights quantize_weights(const Tensor& w0, bool per_column, int bits) {
  Tensor w = w0.cast(DType::F32);
  const bool wide = bits == 16;
  const double qmax = wide ? 32767 : 127;
  QuantWeights r{Tensor(wide ? DType::I16 : DType::I8, w.shape), {}};
  const float* p = w.ptr<float>();
  int64_t C = w.shape.empty() ? 1 : per_column ? w.shape.back() : w.shape[0];
  int64_t per = w.numel() / std::max<int64_t>(C, 1);
  auto at = [&](int64_t c, int64_t k) { return per_column ? k * C + c : c * per + k; };
  r.scale.assign(size_t(C), 1.f);
  for (int64_t c = 0; c < C; ++c) {
    float mx = 0;
    for (int64_t k = 0; k < per; ++k) mx = std::max(mx, std::fabs(p[at(c, k)]));
    float s = mx > 0 ? mx / float(qmax) : 1.f;
    r.scale[size_t(c)] = s;
    for (int64_t k = 0; k < per; ++k) {
      const double q = std::clamp<double>(std::nearbyint(p[at(c, k)] / s), -qmax, qmax);
      if (wide) r.q.ptr<int16_t>()[at(c, k)] = int16_t(q);
      else r.q.ptr<int8_t>()[at(c, k)] = int8_t(q);
    }
  }
  return r;
}

int32_t quantize_bias(double bias, float x_scale, float w_scale) {
  return int32_t(std::clamp<double>(std::nearbyint(bias / (double(x_scale) * w_scale)), INT32_MIN, INT32_MAX));
}

int64_t quantize_bias64(double bias, float x_scale, float w_scale) {
  // +-2^62: the requant adds the accumulator to it without overflowing int64.
  return int64_t(std::clamp<double>(std::nearbyint(bias / (double(x_scale) * w_scale)), -4.6e18, 4.6e18));
}

void quantize_multiplier(double real, int32_t& M, int32_t& S) {
  if (real <= 0 || !std::isfinite(real)) { M = 0, S = 1; return; }
  int e = 0;
  double f = std::frexp(real, &e);  // real = f * 2^e, f in [0.5, 1)
  int64_t m = int64_t(std::llround(f * double(1ll << 31)));
  int s = 31 - e;
  if (m == (1ll << 31)) m /= 2, --s;
  while (s > 62) m >>= 1, --s;  // tiny multipliers lose precision instead of overflowing
  while (s < 1) { m = std::min<int64_t>(m * 2, INT32_MAX); ++s; }
  M = int32_t(m), S = s;
}

}  // namespace cardsim::backend
