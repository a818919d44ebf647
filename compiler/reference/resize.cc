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

// GridSample (opset 16, 4-D): bilinear / nearest / bicubic sampling of X at normalized grid
// points, with zeros / border / reflection padding, following onnxruntime's kernel.
double gs_reflect(double x, double lo, double hi) {
  const double range = hi - lo;
  if (range <= 0) return lo;
  if (x < lo) {
    const double dx = lo - x;
    const int64_t k = int64_t(dx / range);
    const double r = dx - double(k) * range;
    return k % 2 == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const double dx = x - hi;
    const int64_t k = int64_t(dx / range);
    const double r = dx - double(k) * range;
    return k % 2 == 0 ? hi - r : lo + r;
  }
  return x;
}

Outputs grid_sample(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const Tensor& grid = in(n, ins, 1);
  if (x.shape.size() != 4 || grid.shape.size() != 4 || grid.shape[3] != 2 || grid.shape[0] != x.shape[0])
    invalid(n, fmt::format("X {} must be [N,C,H,W] and grid {} [N,Ho,Wo,2]", shape_str(x.shape), shape_str(grid.shape)));
  const std::string mode = attr_s(n, "mode", "bilinear"), pad = attr_s(n, "padding_mode", "zeros");
  const bool align = attr_i(n, "align_corners", 0) != 0;
  if (mode != "bilinear" && mode != "nearest" && mode != "bicubic") unsupported(n, fmt::format("attribute mode='{}'", mode));
  if (pad != "zeros" && pad != "border" && pad != "reflection") unsupported(n, fmt::format("attribute padding_mode='{}'", pad));
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3], Ho = grid.shape[1], Wo = grid.shape[2];
  if ((H == 0 || W == 0) && Ho * Wo > 0) invalid(n, "cannot sample an empty image");
  const double xmin = align ? 0 : -0.5, xmax = align ? double(W - 1) : double(W) - 0.5;
  const double ymin = align ? 0 : -0.5, ymax = align ? double(H - 1) : double(H) - 0.5;
  std::vector<double> xv = to_f64(x), gv = to_f64(grid), y(size_t(N * C * Ho * Wo));
  auto denorm = [align](double v, int64_t len) {
    return align ? (v + 1) / 2 * double(len - 1) : ((v + 1) * double(len) - 1) / 2;
  };
  auto pixel = [&](const double* img, int64_t r, int64_t c) -> double {
    if (pad == "zeros") return (c >= 0 && c < W && r >= 0 && r < H) ? img[r * W + c] : 0.0;
    if (pad == "border") return img[std::clamp<int64_t>(r, 0, H - 1) * W + std::clamp<int64_t>(c, 0, W - 1)];
    c = std::clamp<int64_t>(int64_t(gs_reflect(double(c), xmin, xmax)), 0, W - 1);
    r = std::clamp<int64_t>(int64_t(gs_reflect(double(r), ymin, ymax)), 0, H - 1);
    return img[r * W + c];
  };
  auto cubic = [](double t, double* k) {
    const double A = -0.75;
    t = std::fabs(t);
    k[0] = ((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A;
    k[1] = ((A + 2) * t - (A + 3)) * t * t + 1;
    k[2] = ((A + 2) * (1 - t) - (A + 3)) * (1 - t) * (1 - t) + 1;
    k[3] = ((A * (2 - t) - 5 * A) * (2 - t) + 8 * A) * (2 - t) - 4 * A;
  };
  for (int64_t b = 0; b < N; ++b)
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ++ow) {
        const double* g = gv.data() + ((b * Ho + oh) * Wo + ow) * 2;
        double px = denorm(g[0], W), py = denorm(g[1], H);
        if (mode == "nearest") {
          px = std::nearbyint(px);
          py = std::nearbyint(py);
        }
        if (px < xmin || px > xmax || py < ymin || py > ymax) {
          if (pad == "border") {
            px = std::clamp(px, 0.0, double(W - 1));
            py = std::clamp(py, 0.0, double(H - 1));
          } else if (pad == "reflection") {
            px = gs_reflect(px, xmin, xmax);
            py = gs_reflect(py, ymin, ymax);
          }
        }
        for (int64_t c = 0; c < C; ++c) {
          const double* img = xv.data() + (b * C + c) * H * W;
          double v;
          if (mode == "nearest") {
            v = pixel(img, int64_t(py), int64_t(px));
          } else if (mode == "bilinear") {
            const int64_t x1 = int64_t(std::floor(px)), y1 = int64_t(std::floor(py));
            const double dx1 = px - double(x1), dx2 = double(x1 + 1) - px, dy1 = py - double(y1), dy2 = double(y1 + 1) - py;
            v = dy2 * (dx2 * pixel(img, y1, x1) + dx1 * pixel(img, y1, x1 + 1)) +
                dy1 * (dx2 * pixel(img, y1 + 1, x1) + dx1 * pixel(img, y1 + 1, x1 + 1));
          } else {
            const int64_t x0 = int64_t(std::floor(px)) - 1, y0 = int64_t(std::floor(py)) - 1;
            double kx[4], ky[4];
            cubic(px - double(x0) - 1, kx);
            cubic(py - double(y0) - 1, ky);
            v = 0;
            for (int i = 0; i < 4; ++i) {
              double row = 0;
              for (int j = 0; j < 4; ++j) row += kx[j] * pixel(img, y0 + i, x0 + j);
              v += ky[i] * row;
            }
          }
          y[size_t(((b * C + c) * Ho + oh) * Wo + ow)] = v;
        }
      }
  return {from_f64(x.dtype, {N, C, Ho, Wo}, y)};
}

}  // namespace

void register_resize(KernelTable& t) {
  t["Resize"] = resize;
  t["Upsample"] = upsample;
  t["GridSample"] = grid_sample;
}

}  // namespace cardsim::ref::detail
