// Data movement and shape plumbing: Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Concat,
// Split, Slice, Gather*, Pad, Expand, Tile, Shape, Size, ConstantOfShape, Constant, Range,
// Identity, Dropout, DepthToSpace, SpaceToDepth, Trilu. These move bytes and never change
// values, so they work for every fixed-size element type.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "compiler/reference/detail.h"

namespace cardsim::ref::detail {
namespace {

// out[o] = src[base + Σ idx_d * strides_d]: a strided view of src copied out.
Tensor gather_strided(const Tensor& src, const Shape& out_shape, const std::vector<int64_t>& strides, int64_t base) {
  Tensor y(src.dtype, out_shape);
  const size_t es = elem_size(src);
  for_each_broadcast(out_shape, {strides}, [&](int64_t o, const int64_t* off) {
    copy_elem(y, size_t(o), src, size_t(base + off[0]), es);
  });
  return y;
}

Tensor reshaped(Tensor t, Shape s) {
  t.shape = std::move(s);
  return t;
}

Outputs identity(const ir::Node& n, const Inputs& ins) { return {in(n, ins, 0)}; }

Outputs dropout(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  bool training = opt(ins, 2) && scalar_i(n, *opt(ins, 2), "training_mode") != 0;
  if (n.opset < 7 && attr_i(n, "is_test", 0) == 0) training = true;
  double ratio = opt(ins, 1) ? scalar_f(n, *opt(ins, 1), "ratio") : attr_f(n, "ratio", 0.5f);
  if (training && ratio != 0) unsupported(n, "training_mode=true with ratio > 0 (random masks are not reproducible)");
  Tensor mask(DType::Bool, x.shape);
  std::fill(mask.data.begin(), mask.data.end(), uint8_t(1));
  return {x, mask};
}

Outputs reshape(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  std::vector<int64_t> spec = n.opset < 5 ? attr_ints(n, "shape", {}) : ints_of(in(n, ins, 1));
  const bool allowzero = attr_i(n, "allowzero", 0) != 0;
  Shape out(spec.size());
  int64_t infer = -1, known = 1;
  for (size_t i = 0; i < spec.size(); ++i) {
    int64_t d = spec[i];
    if (d == 0 && !allowzero) {
      if (i >= x.shape.size()) invalid(n, fmt::format("shape[{}]=0 copies a dimension the input {} lacks", i, shape_str(x.shape)));
      d = x.shape[i];
    }
    if (d == -1) {
      if (infer >= 0) invalid(n, "shape has more than one -1");
      infer = int64_t(i);
      continue;
    }
    if (d < 0) invalid(n, fmt::format("shape[{}]={} is negative", i, d));
    out[i] = d;
    known *= d;
  }
  if (infer >= 0) {
    if (known == 0 || x.numel() % known) invalid(n, fmt::format("cannot infer -1: {} elements into {}", x.numel(), shape_str(spec)));
    out[size_t(infer)] = x.numel() / known;
  }
  if (shape_numel(out) != x.numel())
    invalid(n, fmt::format("cannot reshape {} ({} elements) to {}", shape_str(x.shape), x.numel(), shape_str(out)));
  return {reshaped(x, out)};
}

Outputs flatten(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const int64_t rank = int64_t(x.shape.size());
  int64_t axis = attr_i(n, "axis", 1);
  if (axis < -rank || axis > rank) invalid(n, fmt::format("axis {} out of range for rank {}", axis, rank));
  if (axis < 0) axis += rank;
  int64_t a = 1;
  for (int64_t d = 0; d < axis; ++d) a *= x.shape[size_t(d)];
  return {reshaped(x, {a, a ? x.numel() / a : 0})};
}

Outputs transpose(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const size_t rank = x.shape.size();
  std::vector<int64_t> perm(rank);
  for (size_t i = 0; i < rank; ++i) perm[i] = int64_t(rank - 1 - i);
  perm = attr_ints(n, "perm", perm);
  std::vector<int64_t> seen(rank, 0);
  if (perm.size() != rank) invalid(n, fmt::format("perm has {} entries for rank {}", perm.size(), rank));
  for (auto p : perm) {
    if (p < 0 || p >= int64_t(rank) || seen[size_t(p)]++) invalid(n, "perm is not a permutation");
  }
  auto st = strides_of(x.shape);
  Shape out(rank);
  std::vector<int64_t> ost(rank);
  for (size_t i = 0; i < rank; ++i) {
    out[i] = x.shape[size_t(perm[i])];
    ost[i] = st[size_t(perm[i])];
  }
  return {gather_strided(x, out, ost, 0)};
}

std::vector<int64_t> axes_input_or_attr(const ir::Node& n, const Inputs& ins, size_t input_index) {
  if (n.opset >= 13) return opt(ins, input_index) ? ints_of(*opt(ins, input_index)) : std::vector<int64_t>{};
  return attr_ints(n, "axes", {});
}

Outputs squeeze(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const int64_t rank = int64_t(x.shape.size());
  auto axes = axes_input_or_attr(n, ins, 1);
  std::vector<bool> drop(size_t(rank), false);
  if (axes.empty()) {
    for (int64_t d = 0; d < rank; ++d) drop[size_t(d)] = x.shape[size_t(d)] == 1;
  }
  for (auto a : axes) {
    int64_t d = norm_axis(n, a, rank, "axes value");
    if (x.shape[size_t(d)] != 1) invalid(n, fmt::format("cannot squeeze axis {} of size {}", a, x.shape[size_t(d)]));
    drop[size_t(d)] = true;
  }
  Shape out;
  for (int64_t d = 0; d < rank; ++d)
    if (!drop[size_t(d)]) out.push_back(x.shape[size_t(d)]);
  return {reshaped(x, out)};
}

Outputs unsqueeze(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  auto axes = axes_input_or_attr(n, ins, 1);
  const int64_t out_rank = int64_t(x.shape.size() + axes.size());
  std::vector<bool> inserted(size_t(out_rank), false);
  for (auto a : axes) {
    int64_t d = norm_axis(n, a, out_rank, "axes value");
    if (inserted[size_t(d)]) invalid(n, fmt::format("axes repeats {}", a));
    inserted[size_t(d)] = true;
  }
  Shape out;
  size_t k = 0;
  for (int64_t d = 0; d < out_rank; ++d) out.push_back(inserted[size_t(d)] ? 1 : x.shape[k++]);
  return {reshaped(x, out)};
}

Outputs concat(const ir::Node& n, const Inputs& ins) {
  std::vector<const Tensor*> xs;
  for (auto* t : ins)
    if (t) xs.push_back(t);
  if (xs.empty()) invalid(n, "needs at least one input");
  const Tensor& x0 = *xs[0];
  const int64_t rank = int64_t(x0.shape.size());
  const int64_t axis = norm_axis(n, attr_i(n, "axis", 0), rank);
  Shape out = x0.shape;
  out[size_t(axis)] = 0;
  for (auto* t : xs) {
    if (t->dtype != x0.dtype || int64_t(t->shape.size()) != rank) invalid(n, "inputs differ in type or rank");
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis && t->shape[size_t(d)] != x0.shape[size_t(d)])
        invalid(n, fmt::format("input shapes {} and {} differ outside axis {}", shape_str(x0.shape), shape_str(t->shape), axis));
    out[size_t(axis)] += t->shape[size_t(axis)];
  }
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= out[size_t(d)];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= out[size_t(d)];
  Tensor y(x0.dtype, out);
  const size_t es = elem_size(x0);
  const size_t out_row = size_t(out[size_t(axis)] * inner) * es;
  size_t col = 0;
  for (auto* t : xs) {
    const size_t row = size_t(t->shape[size_t(axis)] * inner) * es;
    for (int64_t o = 0; o < outer; ++o)
      copy_bytes(y.data.data() + size_t(o) * out_row + col, t->data.data() + size_t(o) * row, row);
    col += row;
  }
  return {y};
}

// Copies x[..., begin:begin+len, ...] along `axis`.
Tensor take_range(const Tensor& x, int64_t axis, int64_t begin, int64_t len) {
  Shape out = x.shape;
  out[size_t(axis)] = len;
  auto st = strides_of(x.shape);
  return gather_strided(x, out, st, begin * st[size_t(axis)]);
}

Outputs split(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const int64_t rank = int64_t(x.shape.size());
  const int64_t axis = norm_axis(n, attr_i(n, "axis", 0), rank);
  const int64_t dim = x.shape[size_t(axis)];
  std::vector<int64_t> sizes;
  if (n.opset >= 13) {
    if (opt(ins, 1)) sizes = ints_of(*opt(ins, 1));
  } else {
    sizes = attr_ints(n, "split", {});
  }
  if (sizes.empty()) {
    int64_t parts = attr_i(n, "num_outputs", int64_t(n.outputs.size()));
    if (parts <= 0) invalid(n, "cannot tell how many parts to split into");
    int64_t chunk = (dim + parts - 1) / parts;  // last part may be smaller (opset 18 rule)
    if (!n.has("num_outputs") && dim % parts) invalid(n, fmt::format("dimension {} does not split into {} equal parts", dim, parts));
    for (int64_t p = 0; p < parts; ++p) sizes.push_back(std::max<int64_t>(0, std::min(chunk, dim - p * chunk)));
  }
  int64_t total = 0;
  for (auto s : sizes) {
    if (s < 0) invalid(n, fmt::format("split size {} is negative", s));
    total += s;
  }
  if (total != dim) invalid(n, fmt::format("split sizes sum to {}, axis {} has {}", total, axis, dim));
  Outputs out;
  int64_t begin = 0;
  for (auto s : sizes) {
    out.push_back(take_range(x, axis, begin, s));
    begin += s;
  }
  return out;
}

Outputs slice(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const int64_t rank = int64_t(x.shape.size());
  std::vector<int64_t> starts, ends, axes, steps;
  if (n.opset < 10) {
    starts = attr_ints(n, "starts", {});
    ends = attr_ints(n, "ends", {});
    axes = attr_ints(n, "axes", {});
  } else {
    starts = ints_of(in(n, ins, 1));
    ends = ints_of(in(n, ins, 2));
    if (opt(ins, 3)) axes = ints_of(*opt(ins, 3));
    if (opt(ins, 4)) steps = ints_of(*opt(ins, 4));
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(int64_t(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    invalid(n, "starts, ends, axes and steps must have the same length");
  auto st = strides_of(x.shape);
  Shape out = x.shape;
  std::vector<int64_t> ost = st;
  int64_t base = 0;
  std::vector<bool> seen(size_t(rank), false);
  for (size_t i = 0; i < starts.size(); ++i) {
    const int64_t a = norm_axis(n, axes[i], rank, "axes value");
    if (seen[size_t(a)]) invalid(n, fmt::format("axis {} appears twice", a));
    seen[size_t(a)] = true;
    const int64_t dim = x.shape[size_t(a)], step = steps[i];
    if (step == 0) invalid(n, "steps must not be 0");
    int64_t s = starts[i], e = ends[i];
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    int64_t len;
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      len = e > s ? (e - s + step - 1) / step : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      len = s > e ? (s - e + (-step) - 1) / (-step) : 0;
    }
    out[size_t(a)] = len;
    if (len > 0) base += s * st[size_t(a)];
    ost[size_t(a)] = st[size_t(a)] * step;
  }
  return {gather_strided(x, out, ost, base)};
}

Outputs gather(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const Tensor& idx = in(n, ins, 1);
  const int64_t rank = int64_t(x.shape.size());
  const int64_t axis = norm_axis(n, attr_i(n, "axis", 0), rank);
  const int64_t dim = x.shape[size_t(axis)];
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[size_t(d)];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= x.shape[size_t(d)];
  Shape out(x.shape.begin(), x.shape.begin() + axis);
  out.insert(out.end(), idx.shape.begin(), idx.shape.end());
  out.insert(out.end(), x.shape.begin() + axis + 1, x.shape.end());
  std::vector<int64_t> iv = ints_of(idx);
  for (auto& i : iv) {
    if (i < -dim || i >= dim) invalid(n, fmt::format("index {} out of range for axis {} of size {}", i, axis, dim));
    if (i < 0) i += dim;
  }
  Tensor y(x.dtype, out);
  const size_t block = size_t(inner) * elem_size(x);
  for (int64_t o = 0; o < outer; ++o)
    for (size_t k = 0; k < iv.size(); ++k)
      copy_bytes(y.data.data() + (size_t(o) * iv.size() + k) * block,
                  x.data.data() + size_t(o * dim + iv[k]) * block, block);
  return {y};
}

Outputs gather_elements(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const Tensor& idx = in(n, ins, 1);
  const int64_t rank = int64_t(x.shape.size());
  const int64_t axis = norm_axis(n, attr_i(n, "axis", 0), rank);
  if (int64_t(idx.shape.size()) != rank) invalid(n, "indices must have the same rank as data");
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis && idx.shape[size_t(d)] > x.shape[size_t(d)])
      invalid(n, fmt::format("indices {} exceed data {} outside the axis", shape_str(idx.shape), shape_str(x.shape)));
  const int64_t dim = x.shape[size_t(axis)];
  auto xst = strides_of(x.shape);
  // Offset into x of every index position with the axis coordinate taken as 0.
  std::vector<int64_t> st = xst;
  st[size_t(axis)] = 0;
  Tensor y(x.dtype, idx.shape);
  const size_t es = elem_size(x);
  for_each_broadcast(idx.shape, {st}, [&](int64_t o, const int64_t* off) {
    int64_t i = load_i64(idx, size_t(o));
    if (i < -dim || i >= dim) invalid(n, fmt::format("index {} out of range for axis size {}", i, dim));
    if (i < 0) i += dim;
    copy_elem(y, size_t(o), x, size_t(off[0] + i * xst[size_t(axis)]), es);
  });
  return {y};
}

Outputs gather_nd(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const Tensor& idx = in(n, ins, 1);
  const int64_t b = attr_i(n, "batch_dims", 0);
  const int64_t q = int64_t(idx.shape.size()), r = int64_t(x.shape.size());
  if (q < 1) invalid(n, "indices must have rank >= 1");
  const int64_t k = idx.shape.back();
  if (b < 0 || b >= q || b + k > r) invalid(n, "batch_dims / index depth do not fit the data rank");
  Shape out(idx.shape.begin(), idx.shape.end() - 1);
  out.insert(out.end(), x.shape.begin() + b + k, x.shape.end());
  int64_t batch = 1, inner = 1;
  for (int64_t d = 0; d < b; ++d) batch *= x.shape[size_t(d)];
  for (int64_t d = b + k; d < r; ++d) inner *= x.shape[size_t(d)];
  const int64_t per_batch_x = x.numel() / std::max<int64_t>(batch, 1);
  const int64_t tuples = idx.numel() / std::max<int64_t>(k, 1) / std::max<int64_t>(batch, 1);
  auto xst = strides_of(x.shape);
  std::vector<int64_t> iv = ints_of(idx);
  Tensor y(x.dtype, out);
  const size_t es = elem_size(x);
  for (int64_t bi = 0; bi < batch; ++bi)
    for (int64_t t = 0; t < tuples; ++t) {
      int64_t off = bi * per_batch_x;
      for (int64_t j = 0; j < k; ++j) {
        int64_t dim = x.shape[size_t(b + j)], v = iv[size_t((bi * tuples + t) * k + j)];
        if (v < -dim || v >= dim) invalid(n, fmt::format("index {} out of range for dim {}", v, dim));
        off += (v < 0 ? v + dim : v) * xst[size_t(b + j)];
      }
      copy_bytes(y.data.data() + size_t((bi * tuples + t) * inner) * es, x.data.data() + size_t(off) * es, size_t(inner) * es);
    }
  return {y};
}

Outputs pad(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const int64_t rank = int64_t(x.shape.size());
  const std::string mode = attr_s(n, "mode", "constant");
  std::vector<int64_t> pads;
  double value = 0;
  if (n.opset < 11) {
    pads = attr_ints(n, "pads", {});
    value = attr_f(n, "value", 0.0f);
  } else {
    pads = ints_of(in(n, ins, 1));
    if (const Tensor* cv = opt(ins, 2); cv && cv->numel() > 0)
      value = dtype_is_integer(cv->dtype) ? double(load_i64(*cv, 0)) : cv->get(0);
  }
  std::vector<int64_t> axes;
  if (const Tensor* a = opt(ins, 3)) {
    for (auto v : ints_of(*a)) axes.push_back(norm_axis(n, v, rank, "axes value"));
  } else {
    for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  }
  if (pads.size() != 2 * axes.size()) invalid(n, fmt::format("pads has {} values, expected {}", pads.size(), 2 * axes.size()));
  std::vector<int64_t> before(size_t(rank), 0), after(size_t(rank), 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    before[size_t(axes[i])] = pads[i];
    after[size_t(axes[i])] = pads[i + axes.size()];
  }
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
    unsupported(n, fmt::format("attribute mode='{}'", mode));
  Shape out(static_cast<size_t>(rank));
  for (int64_t d = 0; d < rank; ++d) {
    out[size_t(d)] = x.shape[size_t(d)] + before[size_t(d)] + after[size_t(d)];
    if (out[size_t(d)] < 0) invalid(n, fmt::format("negative pads remove more than dim {} has", d));
    if (mode != "constant" && x.shape[size_t(d)] == 0 && out[size_t(d)] > 0) invalid(n, "cannot reflect/edge-pad an empty dimension");
  }
  Tensor y(x.dtype, out);
  const size_t es = elem_size(x);
  Tensor fill(x.dtype, {1});
  if (dtype_is_integer(x.dtype)) store_i64(fill, 0, int64_t(value));
  else fill.set(0, value);
  auto st = strides_of(x.shape);
  std::vector<int64_t> oi(size_t(rank), 0);
  for (int64_t o = 0, total = y.numel(); o < total; ++o) {
    int64_t off = 0;
    bool outside = false;
    for (int64_t d = 0; d < rank; ++d) {
      const int64_t dim = x.shape[size_t(d)];
      int64_t i = oi[size_t(d)] - before[size_t(d)];
      if (i < 0 || i >= dim) {
        if (mode == "constant") { outside = true; break; }
        if (mode == "edge") i = std::clamp<int64_t>(i, 0, dim - 1);
        else if (mode == "wrap") i = ((i % dim) + dim) % dim;
        else if (dim == 1) i = 0;
        else {  // reflect without repeating the edge
          const int64_t period = 2 * (dim - 1);
          i = ((i % period) + period) % period;
          if (i >= dim) i = period - i;
        }
      }
      off += i * st[size_t(d)];
    }
    if (outside) copy_elem(y, size_t(o), fill, 0, es);
    else copy_elem(y, size_t(o), x, size_t(off), es);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++oi[size_t(d)] < out[size_t(d)]) break;
      oi[size_t(d)] = 0;
    }
  }
  return {y};
}

Outputs expand(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  Shape target = ints_of(in(n, ins, 1));
  for (auto d : target)
    if (d < 0) invalid(n, fmt::format("shape {} has a negative dimension", shape_str(target)));
  Shape out = broadcast_shapes(n, {x.shape, target});
  return {gather_strided(x, out, broadcast_strides(x.shape, out), 0)};
}

Outputs tile(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  std::vector<int64_t> reps = ints_of(in(n, ins, 1));
  const size_t rank = x.shape.size();
  if (reps.size() != rank) invalid(n, fmt::format("repeats has {} values for rank {}", reps.size(), rank));
  Shape out(rank);
  for (size_t d = 0; d < rank; ++d) {
    if (reps[d] < 0) invalid(n, "repeats must be non-negative");
    out[d] = x.shape[d] * reps[d];
  }
  Tensor y(x.dtype, out);
  auto st = strides_of(x.shape);
  const size_t es = elem_size(x);
  std::vector<int64_t> oi(rank, 0);
  for (int64_t o = 0, total = y.numel(); o < total; ++o) {
    int64_t off = 0;
    for (size_t d = 0; d < rank; ++d) off += (oi[d] % x.shape[d]) * st[d];
    copy_elem(y, size_t(o), x, size_t(off), es);
    for (int64_t d = int64_t(rank) - 1; d >= 0; --d) {
      if (++oi[size_t(d)] < out[size_t(d)]) break;
      oi[size_t(d)] = 0;
    }
  }
  return {y};
}

Outputs shape_op(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  const int64_t rank = int64_t(x.shape.size());
  int64_t start = attr_i(n, "start", 0), end = attr_i(n, "end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  std::vector<int64_t> dims;
  for (int64_t d = start; d < end; ++d) dims.push_back(x.shape[size_t(d)]);
  return {from_i64({int64_t(dims.size())}, dims)};
}

Outputs size_op(const ir::Node& n, const Inputs& ins) { return {Tensor::from_int64s({}, {in(n, ins, 0).numel()})}; }

Outputs constant_of_shape(const ir::Node& n, const Inputs& ins) {
  Shape s = ints_of(in(n, ins, 0));
  for (auto d : s)
    if (d < 0) invalid(n, fmt::format("shape {} has a negative dimension", shape_str(s)));
  Tensor value = Tensor::from_floats({1}, {0.0f});
  auto it = n.attrs.find("value");
  if (it != n.attrs.end()) {
    value = it->second.t;
    if (value.numel() != 1) invalid(n, "attribute value must hold one element");
  }
  Tensor y(value.dtype, s);
  const size_t es = elem_size(value);
  for (size_t i = 0, cnt = size_t(y.numel()); i < cnt; ++i) copy_elem(y, i, value, 0, es);
  return {y};
}

Outputs constant(const ir::Node& n, const Inputs&) {
  if (auto it = n.attrs.find("value"); it != n.attrs.end()) return {it->second.t};
  if (n.has("value_float")) return {Tensor::from_floats({}, {attr_f(n, "value_float", 0)})};
  if (n.has("value_floats")) {
    auto v = attr_floats(n, "value_floats");
    return {from_f32(DType::F32, {int64_t(v.size())}, v)};
  }
  if (n.has("value_int")) return {Tensor::from_int64s({}, {attr_i(n, "value_int", 0)})};
  if (n.has("value_ints")) {
    auto v = attr_ints(n, "value_ints");
    return {from_i64({int64_t(v.size())}, v)};
  }
  unsupported(n, "Constant without value/value_float(s)/value_int(s) (sparse and string constants)");
}

Outputs range(const ir::Node& n, const Inputs& ins) {
  const Tensor& start = in(n, ins, 0);
  const Tensor& limit = in(n, ins, 1);
  const Tensor& delta = in(n, ins, 2);
  if (dtype_is_integer(start.dtype)) {
    int64_t s = scalar_i(n, start, "start"), l = scalar_i(n, limit, "limit"), d = scalar_i(n, delta, "delta");
    if (d == 0) invalid(n, "delta must not be 0");
    int64_t cnt = std::max<int64_t>(0, (l - s + d + (d > 0 ? -1 : 1)) / d);
    Tensor y(start.dtype, {cnt});
    for (int64_t i = 0; i < cnt; ++i) store_i64(y, size_t(i), s + i * d);
    return {y};
  }
  double s = scalar_f(n, start, "start"), l = scalar_f(n, limit, "limit"), d = scalar_f(n, delta, "delta");
  if (d == 0 || !std::isfinite((l - s) / d)) invalid(n, "delta must be non-zero and start/limit finite");
  int64_t cnt = std::max<int64_t>(0, int64_t(std::ceil((l - s) / d)));
  Tensor y(start.dtype, {cnt});
  for (int64_t i = 0; i < cnt; ++i) y.set(size_t(i), s + double(i) * d);
  return {y};
}

Outputs depth_space(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  if (x.shape.size() != 4) invalid(n, fmt::format("X {} must be 4-D", shape_str(x.shape)));
  const int64_t bs = attr_i(n, "blocksize", 0);
  if (bs <= 0) invalid(n, "attribute blocksize must be positive");
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  auto st = strides_of(x.shape);
  if (n.op_type == "DepthToSpace") {
    if (C % (bs * bs)) invalid(n, "channels not divisible by blocksize^2");
    const bool crd = attr_s(n, "mode", "DCR") == "CRD";
    const int64_t c2 = C / (bs * bs);
    // View x as 6-D and permute: DCR [N,b1,b2,c2,H,W] -> [N,c2,H,b1,W,b2]; CRD [N,c2,b1,b2,H,W] -> same out.
    Shape out6{N, c2, H, bs, W, bs};
    int64_t sc2 = crd ? bs * bs * st[1] : st[1], sb1 = crd ? bs * st[1] : bs * c2 * st[1], sb2 = crd ? st[1] : c2 * st[1];
    Tensor y = gather_strided(x, out6, {st[0], sc2, st[2], sb1, st[3], sb2}, 0);
    return {reshaped(y, {N, c2, H * bs, W * bs})};
  }
  if (H % bs || W % bs) invalid(n, "height/width not divisible by blocksize");
  // SpaceToDepth: [N,C,H/b,b1,W/b,b2] -> [N,b1,b2,C,H/b,W/b]
  Shape out6{N, bs, bs, C, H / bs, W / bs};
  Tensor y = gather_strided(x, out6, {st[0], st[2], st[3], st[1], bs * st[2], bs * st[3]}, 0);
  return {reshaped(y, {N, C * bs * bs, H / bs, W / bs})};
}

Outputs trilu(const ir::Node& n, const Inputs& ins) {
  const Tensor& x = in(n, ins, 0);
  if (x.shape.size() < 2) invalid(n, "input must have rank >= 2");
  const int64_t k = opt(ins, 1) ? scalar_i(n, *opt(ins, 1), "k") : 0;
  const bool upper = attr_i(n, "upper", 1) != 0;
  const int64_t R = x.shape[x.shape.size() - 2], C = x.shape.back();
  Tensor y = x;
  const size_t es = elem_size(x);
  for (int64_t i = 0, total = x.numel(); i < total; ++i) {
    int64_t c = i % C, r = (i / C) % R;
    bool keep = upper ? c - r >= k : c - r <= k;
    if (!keep) std::memset(y.data.data() + size_t(i) * es, 0, es);
  }
  return {y};
}

}  // namespace

void register_shape_ops(KernelTable& t) {
  t["Identity"] = identity;
  t["Dropout"] = dropout;
  t["Reshape"] = reshape;
  t["Flatten"] = flatten;
  t["Transpose"] = transpose;
  t["Squeeze"] = squeeze;
  t["Unsqueeze"] = unsqueeze;
  t["Concat"] = concat;
  t["Split"] = split;
  t["Slice"] = slice;
  t["Gather"] = gather;
  t["GatherElements"] = gather_elements;
  t["GatherND"] = gather_nd;
  t["Pad"] = pad;
  t["Expand"] = expand;
  t["Tile"] = tile;
  t["Shape"] = shape_op;
  t["Size"] = size_op;
  t["ConstantOfShape"] = constant_of_shape;
  t["Constant"] = constant;
  t["Range"] = range;
  t["DepthToSpace"] = depth_space;
  t["SpaceToDepth"] = depth_space;
  t["Trilu"] = trilu;
}

}  // namespace cardsim::ref::detail
