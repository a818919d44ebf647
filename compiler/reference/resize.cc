// Resize (opsets 10-17) and Upsample: nearest, linear and cubic interpolation in any rank,
// separable per dimension. Each output coordinate is mapped back to the input by the
// coordinate_transformation_mode, then turned into (input index, weight) taps per dim.
#include <algorithm>
#include <cmath>

#include "compiler/reference/detail.h"

namespace cardsim::ref::detail {
namespace {

struct Tap {
  int64_t index;
  double weight;
};

struct ResizeSpec {
  std::string mode = "nearest", coord = "half_pixel", nearest = "round_prefer_floor";
  double cubic_a = -0.75, extrapolation = 0;
  bool exclude_outside = false;
  std::vector<double> scales, roi;
  Shape out;
};

// length_resized is in * scale, unfloored, as in the ONNX reference implementation (it
// differs from the integer output size when a scale does not divide evenly).
double to_input_coord(const ResizeSpec& s, size_t d, int64_t x, int64_t in) {
  const double scale = s.scales[d], len = double(in) * scale;
  const std::string& c = s.coord;
  if (c == "half_pixel") return (double(x) + 0.5) / scale - 0.5;
  if (c == "pytorch_half_pixel") return len > 1 ? (double(x) + 0.5) / scale - 0.5 : 0.0;
  if (c == "align_corners") return len == 1 ? 0.0 : double(x) * double(in - 1) / (len - 1);
  if (c == "asymmetric") return double(x) / scale;
  if (c == "tf_half_pixel_for_nn") return (double(x) + 0.5) / scale;
  // tf_crop_and_resize
  const size_t r = s.scales.size();
  const double start = s.roi[d], end = s.roi[d + r];
  return len > 1 ? start * double(in - 1) + double(x) * (end - start) * double(in - 1) / (len - 1)
                 : 0.5 * (start + end) * double(in - 1);
}

int64_t nearest_index(const std::string& mode, double x) {
  if (mode == "floor") return int64_t(std::floor(x));
  if (mode == "ceil") return int64_t(std::ceil(x));
  const double fl = std::floor(x);
  if (x - fl == 0.5) return int64_t(mode == "round_prefer_ceil" ? fl + 1 : fl);
  return int64_t(std::round(x));
}

// Taps for one output coordinate along one dimension; empty = extrapolation_value.
std::vector<Tap> taps_for(const ir::Node& n, const ResizeSpec& s, size_t d, int64_t x, int64_t in) {
  const double xo = to_input_coord(s, d, x, in);
  if (s.coord == "tf_crop_and_resize" && (xo < 0 || xo > double(in - 1))) return {};
  if (s.mode == "nearest") return {{std::clamp<int64_t>(nearest_index(s.nearest, xo), 0, in - 1), 1.0}};
  if (s.mode == "linear") {
    const double xc = std::clamp(xo, 0.0, double(in - 1));
    const int64_t x0 = int64_t(std::floor(xc)), x1 = std::min(x0 + 1, in - 1);
    const double w1 = xc - double(x0);
    if (w1 == 0 || x1 == x0) return {{x0, 1.0}};
    return {{x0, 1 - w1}, {x1, w1}};
  }
  if (s.mode == "cubic") {
    const double fl = std::floor(xo), r = xo - fl, A = s.cubic_a;
    auto far = [A](double t) { return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A; };  // 1 < |t| < 2
    auto near = [A](double t) { return ((A + 2) * t - (A + 3)) * t * t + 1; };       // |t| <= 1
    const double w[4] = {far(r + 1), near(r), near(1 - r), far(2 - r)};
    std::vector<Tap> taps;
    double total = 0;
    for (int k = 0; k < 4; ++k) {
      int64_t idx = int64_t(fl) - 1 + k;
      if (s.exclude_outside && (idx < 0 || idx >= in)) continue;
      taps.push_back({std::clamp<int64_t>(idx, 0, in - 1), w[k]});
      total += w[k];
    }
    if (s.exclude_outside && total != 0)
      for (auto& t : taps) t.weight /= total;
    return taps;
  }
  unsupported(n, fmt::format("attribute mode='{}'", s.mode));
}

Tensor interpolate(const ir::Node& n, const Tensor& x, const ResizeSpec& s) {
  const size_t r = x.shape.size();
  // Per dimension, per output coordinate: its taps (empty = extrapolate).
  std::vector<std::vector<std::vector<Tap>>> taps(r);
  for (size_t d = 0; d < r; ++d) {
    taps[d].resize(size_t(s.out[d]));
    for (int64_t o = 0; o < s.out[d]; ++o) {
      auto t = taps_for(n, s, d, o, x.shape[d]);
      if (!t.empty()) {  // drop zero-weight taps (e.g. exact pixel hits) but keep one
        Tap first = t.front();
        std::erase_if(t, [](const Tap& tp) { return tp.weight == 0; });
        if (t.empty()) t.push_back({first.index, 0.0});
      }
      taps[d][size_t(o)] = std::move(t);
    }
  }
  Tensor y(x.dtype, s.out);
  if (y.numel() == 0) return y;
  if (x.numel() == 0) invalid(n, "cannot resize an empty tensor to a non-empty one");
  auto st = strides_of(x.shape);
  std::vector<double> xv = to_f64(x);
  const bool ints = dtype_is_integer(x.dtype);
  std::vector<int64_t> oi(r, 0), ti(r, 0);
  for (int64_t o = 0, total = y.numel(); o < total; ++o) {
    bool extrapolate = false;
    for (size_t d = 0; d < r; ++d)
      if (taps[d][size_t(oi[d])].empty()) extrapolate = true;
    double v = s.extrapolation;
    if (!extrapolate) {
      v = 0;
      std::fill(ti.begin(), ti.end(), 0);
      while (true) {
        int64_t off = 0;
        double w = 1;
        for (size_t d = 0; d < r; ++d) {
          const Tap& t = taps[d][size_t(oi[d])][size_t(ti[d])];
          off += t.index * st[d];
          w *= t.weight;
        }
        v += w * xv[size_t(off)];
        int64_t d = int64_t(r) - 1;
        for (; d >= 0; --d) {
          if (++ti[size_t(d)] < int64_t(taps[size_t(d)][size_t(oi[size_t(d)])].size())) break;
          ti[size_t(d)] = 0;
        }
        if (d < 0) break;
      }
    }
    if (ints) store_i64(y, size_t(o), int64_t(std::nearbyint(v)));
    else y.set(size_t(o), v);
    for (int64_t d = int64_t(r) - 1; d >= 0; --d) {
      if (++oi[size_t(d)] < s.out[size_t(d)]) break;
      oi[size_t(d)] = 0;
    }
  }
  return y;
}

void set_out_from_scales(const ir::Node& n, const Tensor& x, ResizeSpec& s) {
  if (s.scales.size() != x.shape.size())
    invalid(n, fmt::format("scales has {} values for input rank {}", s.scales.size(), x.shape.size()));
  s.out.resize(x.shape.size());
  for (size_t d = 0; d < x.shape.size(); ++d) {
    if (!(s.scales[d] > 0) || !std::isfinite(s.scales[d])) invalid(n, fmt::format("scale {} must be positive", s.scales[d]));
    s.out[d] = int64_t(std::floor(double(x.shape[d]) * s.scales[d]));
  }
}

Outputs resize(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  ResizeSpec s;
  s.mode = attr_s(n, "mode", "nearest");
  if (n.has("antialias") && attr_i(n, "antialias", 0) != 0) unsupported(n, "attribute antialias=1");
  if (n.has("axes")) unsupported(n, "attribute axes");
  if (n.has("keep_aspect_ratio_policy") && attr_s(n, "keep_aspect_ratio_policy", "stretch") != "stretch")
    unsupported(n, "attribute keep_aspect_ratio_policy");
  const Tensor* scales_t;
  const Tensor* sizes_t = nullptr;
  if (n.opset < 11) {
    s.coord = "asymmetric";
    s.nearest = "floor";  // Resize-10 nearest behaves like Upsample
    scales_t = &in(n, ins, 1);
  } else {
    s.coord = attr_s(n, "coordinate_transformation_mode", "half_pixel");
    s.nearest = attr_s(n, "nearest_mode", "round_prefer_floor");
    s.cubic_a = attr_f(n, "cubic_coeff_a", -0.75f);
    s.exclude_outside = attr_i(n, "exclude_outside", 0) != 0;
    s.extrapolation = attr_f(n, "extrapolation_value", 0.0f);
    if (const Tensor* roi = opt(ins, 1)) s.roi = to_f64(*roi);
    scales_t = opt(ins, 2);
    sizes_t = opt(ins, 3);
  }
  static const char* coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                 "tf_half_pixel_for_nn", "tf_crop_and_resize"};
  if (std::find(std::begin(coords), std::end(coords), s.coord) == std::end(coords))
    unsupported(n, fmt::format("attribute coordinate_transformation_mode='{}'", s.coord));
  static const char* nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  if (std::find(std::begin(nearests), std::end(nearests), s.nearest) == std::end(nearests))
    unsupported(n, fmt::format("attribute nearest_mode='{}'", s.nearest));
  const size_t r = x.shape.size();
  if (s.coord == "tf_crop_and_resize" && s.roi.size() != 2 * r)
    invalid(n, fmt::format("tf_crop_and_resize needs roi with {} values, got {}", 2 * r, s.roi.size()));
  if (sizes_t && sizes_t->numel() > 0) {
    s.out = ints_of(*sizes_t);
    if (s.out.size() != r) invalid(n, fmt::format("sizes has {} values for input rank {}", s.out.size(), r));
    for (auto d : s.out)
      if (d < 0) invalid(n, fmt::format("sizes {} has a negative value", shape_str(s.out)));
    s.scales.resize(r);
    for (size_t d = 0; d < r; ++d) s.scales[d] = double(s.out[d]) / double(x.shape[d]);
  } else if (scales_t && scales_t->numel() > 0) {
    s.scales = to_f64(*scales_t);
    set_out_from_scales(n, x, s);
  } else {
    invalid(n, "needs either scales or sizes");
  }
  return {interpolate(n, x, s)};
}

Outputs upsample(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  ResizeSpec s;
  s.mode = attr_s(n, "mode", "nearest");
  if (s.mode == "bilinear") s.mode = "linear";
  if (s.mode != "nearest" && s.mode != "linear") unsupported(n, fmt::format("attribute mode='{}'", s.mode));
  s.coord = "asymmetric";
  s.nearest = "floor";
  if (n.opset >= 9) s.scales = to_f64(in(n, ins, 1));
  else for (float f : attr_floats(n, "scales", {})) s.scales.push_back(f);
  set_out_from_scales(n, x, s);
  return {interpolate(n, x, s)};
}

}  // namespace

void register_resize(KernelTable& t) {
  t["Resize"] = resize;
  t["Upsample"] = upsample;
}

}  // namespace cardsim::ref::detail
