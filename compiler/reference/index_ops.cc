// Index-driven operators: TopK, OneHot, ScatterElements/Scatter, ScatterND, EyeLike,
// NonZero, Compress, MaxUnpool, ReverseSequence, NonMaxSuppression.
#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "compiler/reference/detail.h"

namespace cardsim::ref::detail {
namespace {

// outer x len x inner decomposition around `axis`.
struct AxisSplit {
  int64_t outer = 1, len = 1, inner = 1;
};
AxisSplit split_at(const Shape& s, int64_t axis) {
  AxisSplit a;
  for (int64_t d = 0; d < int64_t(s.size()); ++d) {
    if (d < axis) a.outer *= s[size_t(d)];
    else if (d == axis) a.len = s[size_t(d)];
    else a.inner *= s[size_t(d)];
  }
  return a;
}

Outputs topk(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const int64_t rank = int64_t(x.shape.size());
  const int64_t axis = norm_axis(n, attr_i(n, "axis", -1), rank);
  const int64_t k = n.opset < 10 ? attr_i(n, "k", -1) : scalar_i(n, in(n, ins, 1), "K");
  const bool largest = attr_i(n, "largest", 1) != 0;
  AxisSplit a = split_at(x.shape, axis);
  if (k < 0 || k > a.len) invalid(n, fmt::format("k={} out of range for axis of size {}", k, a.len));
  Shape out = x.shape;
  out[size_t(axis)] = k;
  Tensor vals(x.dtype, out), idx(DType::I64, out);
  const bool ints = dtype_is_integer(x.dtype);
  std::vector<double> xv = to_f64(x);
  std::vector<int64_t> order(size_t(a.len));
  const size_t es = elem_size(x);
  for (int64_t o = 0; o < a.outer; ++o)
    for (int64_t i = 0; i < a.inner; ++i) {
      auto at = [&](int64_t j) { return size_t((o * a.len + j) * a.inner + i); };
      std::iota(order.begin(), order.end(), 0);
      // Ties keep the lower index first (onnxruntime / the ONNX reference).
      std::stable_sort(order.begin(), order.end(), [&](int64_t p, int64_t q) {
        double vp = xv[at(p)], vq = xv[at(q)];
        return largest ? vp > vq : vp < vq;
      });
      for (int64_t j = 0; j < k; ++j) {
        size_t dst = size_t((o * k + j) * a.inner + i);
        if (ints) copy_elem(vals, dst, x, at(order[size_t(j)]), es);
        else vals.set(dst, xv[at(order[size_t(j)])]);
        store_i64(idx, dst, order[size_t(j)]);
      }
    }
  return {vals, idx};
}

Outputs onehot(const ir::Node& n, const Inputs& ins) {
  const Tensor& indices = in(n, ins, 0);
  const int64_t depth = int64_t(scalar_f(n, in(n, ins, 1), "depth"));
  const Tensor& values = in(n, ins, 2);
  if (values.numel() != 2) invalid(n, "values must hold [off_value, on_value]");
  if (depth <= 0) invalid(n, fmt::format("depth {} must be positive", depth));
  const int64_t out_rank = int64_t(indices.shape.size()) + 1;
  const int64_t axis = norm_axis(n, attr_i(n, "axis", -1), out_rank);
  Shape out = indices.shape;
  out.insert(out.begin() + axis, depth);
  Tensor y(values.dtype, out);
  const size_t es = elem_size(values);
  AxisSplit a = split_at(out, axis);
  for (int64_t o = 0; o < a.outer; ++o)
    for (int64_t j = 0; j < depth; ++j)
      for (int64_t i = 0; i < a.inner; ++i) {
        int64_t v = int64_t(dtype_is_integer(indices.dtype) ? double(load_i64(indices, size_t(o * a.inner + i)))
                                                            : indices.get(size_t(o * a.inner + i)));
        if (v < 0) v += depth;
        copy_elem(y, size_t((o * depth + j) * a.inner + i), values, v == j ? 1 : 0, es);
      }
  return {y};
}

// Combines an existing element with an update per the `reduction` attribute.
struct Reducer {
  std::string mode;
  void apply(Tensor& y, size_t dst, const Tensor& upd, size_t src) const {
    if (mode == "none") {
      copy_elem(y, dst, upd, src, elem_size(upd));
      return;
    }
    if (dtype_is_integer(y.dtype)) {
      int64_t a = load_i64(y, dst), b = load_i64(upd, src);
      store_i64(y, dst, mode == "add" ? a + b : mode == "mul" ? a * b : mode == "max" ? std::max(a, b) : std::min(a, b));
    } else {
      double a = y.get(dst), b = upd.get(src);
      y.set(dst, mode == "add" ? a + b : mode == "mul" ? a * b : mode == "max" ? std::max(a, b) : std::min(a, b));
    }
  }
};

Reducer reducer(const ir::Node& n) {
  Reducer r{attr_s(n, "reduction", "none")};
  if (r.mode != "none" && r.mode != "add" && r.mode != "mul" && r.mode != "max" && r.mode != "min")
    unsupported(n, fmt::format("attribute reduction='{}'", r.mode));
  return r;
}

Outputs scatter_elements(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const Tensor& idx = in(n, ins, 1);
  const Tensor& upd = in(n, ins, 2);
  const int64_t rank = int64_t(x.shape.size());
  const int64_t axis = norm_axis(n, attr_i(n, "axis", 0), rank);
  if (idx.shape != upd.shape || int64_t(idx.shape.size()) != rank || upd.dtype != x.dtype)
    invalid(n, "indices and updates must have the same shape, and the rank and type of data");
  for (int64_t d = 0; d < rank; ++d)
    if (idx.shape[size_t(d)] > x.shape[size_t(d)] && d != axis) invalid(n, "indices exceed data outside the axis");
  Reducer red = reducer(n);
  Tensor y = x;
  auto xst = strides_of(x.shape);
  std::vector<int64_t> st = xst;
  st[size_t(axis)] = 0;
  const int64_t dim = x.shape[size_t(axis)];
  for_each_broadcast(idx.shape, {st}, [&](int64_t o, const int64_t* off) {
    int64_t i = load_i64(idx, size_t(o));
    if (i < -dim || i >= dim) invalid(n, fmt::format("index {} out of range for axis size {}", i, dim));
    if (i < 0) i += dim;
    red.apply(y, size_t(off[0] + i * xst[size_t(axis)]), upd, size_t(o));
  });
  return {y};
}

Outputs scatter_nd(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const Tensor& idx = in(n, ins, 1);
  const Tensor& upd = in(n, ins, 2);
  if (idx.shape.empty()) invalid(n, "indices must have rank >= 1");
  const int64_t k = idx.shape.back(), r = int64_t(x.shape.size());
  if (k > r) invalid(n, "index depth exceeds data rank");
  int64_t inner = 1;
  for (int64_t d = k; d < r; ++d) inner *= x.shape[size_t(d)];
  const int64_t tuples = k ? idx.numel() / k : 0;
  if (upd.numel() != tuples * inner || upd.dtype != x.dtype) invalid(n, "updates shape/type does not match indices and data");
  Reducer red = reducer(n);
  Tensor y = x;
  auto xst = strides_of(x.shape);
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t off = 0;
    for (int64_t j = 0; j < k; ++j) {
      int64_t dim = x.shape[size_t(j)], v = load_i64(idx, size_t(t * k + j));
      if (v < -dim || v >= dim) invalid(n, fmt::format("index {} out of range for dim {}", v, dim));
      off += (v < 0 ? v + dim : v) * xst[size_t(j)];
    }
    for (int64_t i = 0; i < inner; ++i) red.apply(y, size_t(off + i), upd, size_t(t * inner + i));
  }
  return {y};
}

Outputs eyelike(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  if (x.shape.size() != 2) invalid(n, "input must be 2-D");
  DType dt = n.has("dtype") ? DType(attr_i(n, "dtype", 1)) : x.dtype;
  const int64_t k = attr_i(n, "k", 0);
  Tensor y(dt, x.shape);
  for (int64_t r = 0; r < x.shape[0]; ++r) {
    int64_t c = r + k;
    if (c >= 0 && c < x.shape[1]) store_i64(y, size_t(r * x.shape[1] + c), 1);
  }
  return {y};
}

Outputs nonzero(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const int64_t rank = int64_t(x.shape.size());
  std::vector<int64_t> hits;
  for (int64_t i = 0, cnt = x.numel(); i < cnt; ++i)
    if (dtype_is_integer(x.dtype) ? load_i64(x, size_t(i)) != 0 : x.get(size_t(i)) != 0) hits.push_back(i);
  const int64_t nnz = int64_t(hits.size());
  Tensor y(DType::I64, {rank, nnz});
  auto st = strides_of(x.shape);
  for (int64_t j = 0; j < nnz; ++j)
    for (int64_t d = 0; d < rank; ++d) store_i64(y, size_t(d * nnz + j), (hits[size_t(j)] / st[size_t(d)]) % x.shape[size_t(d)]);
  return {y};
}

Outputs compress(const ir::Node& n, const Inputs& ins) {
  Tensor x = in(n, ins, 0);
  const Tensor& cond = in(n, ins, 1);
  int64_t axis;
  if (n.has("axis")) {
    axis = norm_axis(n, attr_i(n, "axis", 0), int64_t(x.shape.size()));
  } else {
    x.shape = {x.numel()};
    axis = 0;
  }
  AxisSplit a = split_at(x.shape, axis);
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < std::min(a.len, cond.numel()); ++i)
    if (load_i64(cond, size_t(i))) keep.push_back(i);
  Shape out = x.shape;
  out[size_t(axis)] = int64_t(keep.size());
  Tensor y(x.dtype, out);
  const size_t block = size_t(a.inner) * elem_size(x);
  for (int64_t o = 0; o < a.outer; ++o)
    for (size_t j = 0; j < keep.size(); ++j)
      copy_bytes(y.data.data() + (size_t(o) * keep.size() + j) * block, x.data.data() + size_t(o * a.len + keep[j]) * block, block);
  return {y};
}

Outputs max_unpool(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const Tensor& idx = in(n, ins, 1);
  if (x.shape.size() < 3 || idx.shape != x.shape) invalid(n, "X must be [N,C,spatial...] and I the same shape");
  const size_t r = x.shape.size() - 2;
  auto kernel = attr_ints(n, "kernel_shape", {});
  auto strides = attr_ints(n, "strides", std::vector<int64_t>(r, 1));
  auto pads = attr_ints(n, "pads", std::vector<int64_t>(2 * r, 0));
  if (kernel.size() != r || strides.size() != r || pads.size() != 2 * r) invalid(n, "kernel_shape/strides/pads do not match the rank");
  // Indices are flat positions in the default output shape; an explicit output_shape only
  // adds room, so each index is decoded with the default shape and re-encoded.
  Shape def = {x.shape[0], x.shape[1]};
  for (size_t d = 0; d < r; ++d) def.push_back((x.shape[d + 2] - 1) * strides[d] + kernel[d] - pads[d] - pads[d + r]);
  Shape out = def;
  if (const Tensor* os = opt(ins, 2)) {
    out = ints_of(*os);
    if (out.size() != x.shape.size()) invalid(n, "output_shape has the wrong rank");
  }
  Tensor y(x.dtype, out);
  const size_t es = elem_size(x);
  auto def_st = strides_of(def), out_st = strides_of(out);
  for (size_t i = 0, cnt = size_t(x.numel()); i < cnt; ++i) {
    int64_t j = load_i64(idx, i), dst = 0;
    if (j < 0 || j >= shape_numel(def)) invalid(n, fmt::format("index {} outside the pooled-from shape {}", j, shape_str(def)));
    for (size_t d = 0; d < def.size(); ++d) {
      int64_t c = (j / def_st[d]) % def[d];
      if (c >= out[d]) invalid(n, fmt::format("index {} does not fit output_shape {}", j, shape_str(out)));
      dst += c * out_st[d];
    }
    copy_elem(y, size_t(dst), x, i, es);
  }
  return {y};
}

Outputs reverse_sequence(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  std::vector<int64_t> lens = ints_of(in(n, ins, 1));
  const int64_t rank = int64_t(x.shape.size());
  const int64_t batch_axis = norm_axis(n, attr_i(n, "batch_axis", 1), rank);
  const int64_t time_axis = norm_axis(n, attr_i(n, "time_axis", 0), rank);
  if (rank < 2 || batch_axis == time_axis) invalid(n, "batch_axis and time_axis must differ");
  if (int64_t(lens.size()) != x.shape[size_t(batch_axis)]) invalid(n, "sequence_lens must have one entry per batch");
  Tensor y = x;
  auto st = strides_of(x.shape);
  const size_t es = elem_size(x);
  std::vector<int64_t> idx(size_t(rank), 0);
  for (int64_t o = 0, cnt = x.numel(); o < cnt; ++o) {
    int64_t b = idx[size_t(batch_axis)], t = idx[size_t(time_axis)];
    int64_t len = std::clamp<int64_t>(lens[size_t(b)], 0, x.shape[size_t(time_axis)]);
    if (t < len) copy_elem(y, size_t(o), x, size_t(o + (len - 1 - 2 * t) * st[size_t(time_axis)]), es);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++idx[size_t(d)] < x.shape[size_t(d)]) break;
      idx[size_t(d)] = 0;
    }
  }
  return {y};
}

// Greedy per (batch, class) box selection; output rows (batch, class, box).
Outputs non_max_suppression(const ir::Node& n, const Inputs& ins) {
  const Tensor& boxes = in(n, ins, 0);
  const Tensor& scores = in(n, ins, 1);
  if (boxes.shape.size() != 3 || boxes.shape[2] != 4 || scores.shape.size() != 3 || scores.shape[0] != boxes.shape[0] ||
      scores.shape[2] != boxes.shape[1])
    invalid(n, fmt::format("boxes {} must be [B,N,4] and scores {} [B,C,N]", shape_str(boxes.shape), shape_str(scores.shape)));
  const int64_t max_out = opt(ins, 2) && opt(ins, 2)->numel() ? scalar_i(n, *opt(ins, 2), "max_output_boxes_per_class") : 0;
  const double iou_thr = opt(ins, 3) && opt(ins, 3)->numel() ? scalar_f(n, *opt(ins, 3), "iou_threshold") : 0.0;
  const bool has_score_thr = opt(ins, 4) && opt(ins, 4)->numel();
  const double score_thr = has_score_thr ? scalar_f(n, *opt(ins, 4), "score_threshold") : 0.0;
  const bool center = attr_i(n, "center_point_box", 0) != 0;
  const int64_t B = boxes.shape[0], N = boxes.shape[1], C = scores.shape[1];
  std::vector<double> bv = to_f64(boxes), sv = to_f64(scores);
  // Corners as (y1, x1, y2, x2) with y1 <= y2, x1 <= x2.
  auto corners = [&](int64_t b, int64_t i) {
    const double* p = bv.data() + (b * N + i) * 4;
    std::array<double, 4> r;
    if (center) r = {p[1] - p[3] / 2, p[0] - p[2] / 2, p[1] + p[3] / 2, p[0] + p[2] / 2};
    else r = {std::min(p[0], p[2]), std::min(p[1], p[3]), std::max(p[0], p[2]), std::max(p[1], p[3])};
    return r;
  };
  auto iou = [&](const std::array<double, 4>& a, const std::array<double, 4>& c) {
    double ih = std::max(0.0, std::min(a[2], c[2]) - std::max(a[0], c[0]));
    double iw = std::max(0.0, std::min(a[3], c[3]) - std::max(a[1], c[1]));
    double inter = ih * iw;
    double uni = (a[2] - a[0]) * (a[3] - a[1]) + (c[2] - c[0]) * (c[3] - c[1]) - inter;
    return uni > 0 ? inter / uni : 0.0;
  };
  std::vector<int64_t> rows;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      if (max_out <= 0) continue;
      const double* s = sv.data() + (b * C + c) * N;
      std::vector<int64_t> cand;
      for (int64_t i = 0; i < N; ++i)
        if (!has_score_thr || s[i] > score_thr) cand.push_back(i);
      std::stable_sort(cand.begin(), cand.end(), [&](int64_t p, int64_t q) { return s[p] > s[q]; });
      std::vector<std::array<double, 4>> kept;
      int64_t taken = 0;
      for (int64_t i : cand) {
        if (taken >= max_out) break;
        auto box = corners(b, i);
        bool suppressed = false;
        for (auto& k : kept)
          if (iou(k, box) > iou_thr) { suppressed = true; break; }
        if (suppressed) continue;
        kept.push_back(box);
        rows.insert(rows.end(), {b, c, i});
        ++taken;
      }
    }
  return {from_i64({int64_t(rows.size() / 3), 3}, rows)};
}

}  // namespace

void register_index_ops(KernelTable& t) {
  t["TopK"] = topk;
  t["OneHot"] = onehot;
  t["ScatterElements"] = scatter_elements;
  t["Scatter"] = scatter_elements;
  t["ScatterND"] = scatter_nd;
  t["EyeLike"] = eyelike;
  t["NonZero"] = nonzero;
  t["Compress"] = compress;
  t["MaxUnpool"] = max_unpool;
  t["ReverseSequence"] = reverse_sequence;
  t["NonMaxSuppression"] = non_max_suppression;
}

}  // namespace cardsim::ref::detail
