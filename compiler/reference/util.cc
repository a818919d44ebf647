#include <algorithm>

#include "compiler/reference/detail.h"

namespace cardsim::ref::detail {

std::string where(const ir::Node& n) {
  return fmt::format("node '{}' ({}{}{}, opset {})", n.name, n.domain, n.domain.empty() ? "" : ".", n.op_type,
                     n.opset);
}

void unsupported(const ir::Node& n, const std::string& what) {
  fail(ErrorKind::Unsupported, "{}: {}", where(n), what);
}

void invalid(const ir::Node& n, const std::string& what) { fail(ErrorKind::Format, "{}: {}", where(n), what); }

static const ir::Attr* find_attr(const ir::Node& n, const std::string& a) {
  auto it = n.attrs.find(a);
  return it == n.attrs.end() ? nullptr : &it->second;
}

int64_t attr_i(const ir::Node& n, const std::string& a, int64_t def) {
  const ir::Attr* at = find_attr(n, a);
  if (!at) return def;
  if (at->kind != ir::Attr::Kind::Int) invalid(n, fmt::format("attribute '{}' must be an int", a));
  return at->i;
}

float attr_f(const ir::Node& n, const std::string& a, float def) {
  const ir::Attr* at = find_attr(n, a);
  if (!at) return def;
  if (at->kind == ir::Attr::Kind::Int) return float(at->i);
  if (at->kind != ir::Attr::Kind::Float) invalid(n, fmt::format("attribute '{}' must be a float", a));
  return at->f;
}

std::string attr_s(const ir::Node& n, const std::string& a, const std::string& def) {
  const ir::Attr* at = find_attr(n, a);
  if (!at) return def;
  if (at->kind != ir::Attr::Kind::String) invalid(n, fmt::format("attribute '{}' must be a string", a));
  return at->s;
}

std::vector<int64_t> attr_ints(const ir::Node& n, const std::string& a, std::vector<int64_t> def) {
  const ir::Attr* at = find_attr(n, a);
  if (!at) return def;
  if (at->kind == ir::Attr::Kind::Int) return {at->i};
  if (at->kind != ir::Attr::Kind::Ints) invalid(n, fmt::format("attribute '{}' must be a list of ints", a));
  return at->ints;
}

std::vector<float> attr_floats(const ir::Node& n, const std::string& a, std::vector<float> def) {
  const ir::Attr* at = find_attr(n, a);
  if (!at) return def;
  if (at->kind == ir::Attr::Kind::Float) return {at->f};
  if (at->kind != ir::Attr::Kind::Floats) invalid(n, fmt::format("attribute '{}' must be a list of floats", a));
  return at->floats;
}

const Tensor& in(const ir::Node& n, const Inputs& ins, size_t i) {
  if (i >= ins.size() || !ins[i])
    invalid(n, fmt::format("required input {} is missing (node has {} inputs)", i, ins.size()));
  return *ins[i];
}

const Tensor* opt(const Inputs& ins, size_t i) { return i < ins.size() ? ins[i] : nullptr; }

bool wants_output(const ir::Node& n, size_t i) { return i < n.outputs.size() && !n.outputs[i].empty(); }

std::vector<int64_t> ints_of(const Tensor& t) {
  std::vector<int64_t> r(size_t(t.numel()));
  for (size_t i = 0; i < r.size(); ++i) r[i] = load_i64(t, i);
  return r;
}

static void check_scalar(const ir::Node& n, const Tensor& t, const char* what) {
  if (t.numel() < 1) invalid(n, fmt::format("{} must hold a value, got shape {}", what, shape_str(t.shape)));
}

double scalar_f(const ir::Node& n, const Tensor& t, const char* what) {
  check_scalar(n, t, what);
  return dtype_is_integer(t.dtype) ? double(load_i64(t, 0)) : t.get(0);
}

int64_t scalar_i(const ir::Node& n, const Tensor& t, const char* what) {
  check_scalar(n, t, what);
  return load_i64(t, 0);
}

int64_t norm_axis(const ir::Node& n, int64_t axis, int64_t rank, const char* what) {
  if (axis < -rank || axis >= rank)
    invalid(n, fmt::format("{} {} is out of range for rank {}", what, axis, rank));
  return axis < 0 ? axis + rank : axis;
}

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int64_t d = int64_t(s.size()) - 2; d >= 0; --d) st[d] = st[d + 1] * s[d + 1];
  return st;
}

Shape broadcast_shapes(const ir::Node& n, const std::vector<Shape>& shapes) {
  size_t r = 0;
  for (auto& s : shapes) r = std::max(r, s.size());
  Shape out(r, 1);
  for (auto& s : shapes) {
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t& o = out[r - s.size() + i];
      int64_t d = s[i];
      if (d == o || d == 1) continue;
      if (o == 1) { o = d; continue; }
      std::string all;
      for (auto& x : shapes) all += shape_str(x) + " ";
      invalid(n, fmt::format("input shapes {}are not broadcastable (numpy rules)", all));
    }
  }
  return out;
}

std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> st(out.size(), 0);
  auto own = strides_of(in);
  size_t lead = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) st[lead + i] = in[i] == 1 ? 0 : own[i];
  return st;
}

int64_t load_i64(const Tensor& t, size_t i) {
  const uint8_t* b = t.data.data();
  switch (t.dtype) {
    case DType::I8: return int8_t(b[i]);
    case DType::U8: case DType::Bool: return b[i];
    case DType::I16: { int16_t v; std::memcpy(&v, b + 2 * i, 2); return v; }
    case DType::U16: { uint16_t v; std::memcpy(&v, b + 2 * i, 2); return v; }
    case DType::I32: { int32_t v; std::memcpy(&v, b + 4 * i, 4); return v; }
    case DType::U32: { uint32_t v; std::memcpy(&v, b + 4 * i, 4); return v; }
    case DType::I64: { int64_t v; std::memcpy(&v, b + 8 * i, 8); return v; }
    case DType::U64: { uint64_t v; std::memcpy(&v, b + 8 * i, 8); return int64_t(v); }
    default: {
      double v = t.get(i);
      if (std::isnan(v)) return 0;
      if (v >= 9.2233720368547758e18) return INT64_MAX;
      if (v <= -9.2233720368547758e18) return INT64_MIN;
      return int64_t(v);  // C cast truncates toward zero, as ONNX Cast does
    }
  }
}

void store_i64(Tensor& t, size_t i, int64_t v) {
  uint8_t* b = t.data.data();
  switch (t.dtype) {
    case DType::I8: case DType::U8: b[i] = uint8_t(v); return;
    case DType::Bool: b[i] = v != 0; return;
    case DType::I16: case DType::U16: { uint16_t x = uint16_t(v); std::memcpy(b + 2 * i, &x, 2); return; }
    case DType::I32: case DType::U32: { uint32_t x = uint32_t(v); std::memcpy(b + 4 * i, &x, 4); return; }
    case DType::I64: case DType::U64: std::memcpy(b + 8 * i, &v, 8); return;
    default: t.set(i, double(v)); return;
  }
}

size_t elem_size(const Tensor& t) { return t.dtype == DType::String ? 0 : dtype_size(t.dtype); }

std::vector<float> to_f32(const Tensor& t) {
  std::vector<float> r(size_t(t.numel()));
  if (t.dtype == DType::F32) {
    copy_bytes(r.data(), t.data.data(), r.size() * 4);
  } else {
    for (size_t i = 0; i < r.size(); ++i) r[i] = float(t.get(i));
  }
  return r;
}

std::vector<double> to_f64(const Tensor& t) {
  std::vector<double> r(size_t(t.numel()));
  if (t.dtype == DType::F32) {
    const float* p = t.ptr<float>();
    for (size_t i = 0; i < r.size(); ++i) r[i] = p[i];
  } else if (dtype_is_integer(t.dtype)) {
    for (size_t i = 0; i < r.size(); ++i) r[i] = double(load_i64(t, i));
  } else {
    for (size_t i = 0; i < r.size(); ++i) r[i] = t.get(i);
  }
  return r;
}

Tensor from_f32(DType dt, const Shape& s, const std::vector<float>& v) {
  Tensor t(dt, s);
  if (int64_t(v.size()) != t.numel()) fail(ErrorKind::Internal, "from_f32: {} values for shape {}", v.size(), shape_str(s));
  if (dt == DType::F32) {
    copy_bytes(t.data.data(), v.data(), v.size() * 4);
  } else {
    for (size_t i = 0; i < v.size(); ++i) t.set(i, v[i]);
  }
  return t;
}

Tensor from_i64(const Shape& s, const std::vector<int64_t>& v) {
  Tensor t(DType::I64, s);
  if (int64_t(v.size()) != t.numel()) fail(ErrorKind::Internal, "from_i64: {} values for shape {}", v.size(), shape_str(s));
  copy_bytes(t.data.data(), v.data(), v.size() * 8);
  return t;
}

Tensor from_f64(DType dt, const Shape& s, const std::vector<double>& v) {
  Tensor t(dt, s);
  if (dt == DType::F32) {
    float* p = t.ptr<float>();
    for (size_t i = 0; i < v.size(); ++i) p[i] = float(v[i]);
  } else {
    for (size_t i = 0; i < v.size(); ++i) t.set(i, v[i]);
  }
  return t;
}

Window forward_window(const ir::Node& n, const Shape& in, const std::vector<int64_t>& kernel, bool allow_ceil) {
  const size_t r = in.size();
  Window w;
  w.kernel = kernel;
  if (kernel.size() != r)
    invalid(n, fmt::format("kernel has {} spatial dims but the input has {}", kernel.size(), r));
  w.strides = attr_ints(n, "strides", std::vector<int64_t>(r, 1));
  w.dilations = attr_ints(n, "dilations", std::vector<int64_t>(r, 1));
  auto pads = attr_ints(n, "pads", std::vector<int64_t>(2 * r, 0));
  if (w.strides.size() != r || w.dilations.size() != r || pads.size() != 2 * r)
    invalid(n, fmt::format("strides/dilations need {} values and pads {} (got {}, {}, {})", r, 2 * r,
                           w.strides.size(), w.dilations.size(), pads.size()));
  std::string auto_pad = attr_s(n, "auto_pad", "NOTSET");
  bool ceil_mode = attr_i(n, "ceil_mode", 0) != 0;
  if (ceil_mode && !allow_ceil) unsupported(n, "attribute ceil_mode=1");
  w.pads_begin.assign(pads.begin(), pads.begin() + long(r));
  w.pads_end.assign(pads.begin() + long(r), pads.end());
  w.out.resize(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t s = w.strides[i], eff = (kernel[i] - 1) * w.dilations[i] + 1;
    if (s <= 0 || w.dilations[i] <= 0 || kernel[i] <= 0)
      invalid(n, "strides, dilations and kernel_shape must be positive");
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      int64_t out = (in[i] + s - 1) / s;
      int64_t total = std::max<int64_t>(0, (out - 1) * s + eff - in[i]);
      int64_t small = total / 2, big = total - small;
      w.pads_begin[i] = auto_pad == "SAME_UPPER" ? small : big;
      w.pads_end[i] = auto_pad == "SAME_UPPER" ? big : small;
      w.out[i] = out;
    } else if (auto_pad == "VALID" || auto_pad == "NOTSET") {
      if (auto_pad == "VALID") w.pads_begin[i] = w.pads_end[i] = 0;
      int64_t span = in[i] + w.pads_begin[i] + w.pads_end[i] - eff;
      if (span < 0)
        invalid(n, fmt::format("window {} (dilated) is larger than padded input {} along spatial dim {}", eff,
                               in[i] + w.pads_begin[i] + w.pads_end[i], i));
      int64_t out = ceil_mode ? (span + s - 1) / s + 1 : span / s + 1;
      // A window may not start in the end padding only (PyTorch / onnxruntime rule).
      if (ceil_mode && (out - 1) * s >= in[i] + w.pads_begin[i]) --out;
      w.out[i] = out;
    } else {
      unsupported(n, fmt::format("attribute auto_pad='{}'", auto_pad));
    }
  }
  return w;
}

}  // namespace cardsim::ref::detail
