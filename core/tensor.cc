#include "core/tensor.h"

#include "core/error.h"

namespace cardsim {

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

std::string shape_str(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) r += ',';
    r += std::to_string(s[i]);
  }
  return r + "]";
}

Tensor::Tensor(DType t, Shape s) : dtype(t), shape(std::move(s)) {
  if (t == DType::String) strings.resize(size_t(numel()));
  else data.assign(size_t(numel()) * dtype_size(t), 0);
}

std::vector<double> Tensor::to_doubles() const {
  std::vector<double> r(static_cast<size_t>(numel()));
  for (size_t i = 0; i < r.size(); ++i) r[i] = get(i);
  return r;
}

std::vector<int64_t> Tensor::to_int64s() const {
  std::vector<int64_t> r(static_cast<size_t>(numel()));
  if (dtype == DType::I64) {
    if (!r.empty()) std::memcpy(r.data(), data.data(), r.size() * 8);
  } else {
    for (size_t i = 0; i < r.size(); ++i) r[i] = int64_t(get(i));
  }
  return r;
}

Tensor Tensor::from_floats(const Shape& s, const std::vector<float>& v) {
  Tensor t(DType::F32, s);
  if (int64_t(v.size()) != t.numel()) fail(ErrorKind::Internal, "from_floats: {} values for shape {}", v.size(), shape_str(s));
  if (!v.empty()) std::memcpy(t.data.data(), v.data(), v.size() * 4);
  return t;
}

Tensor Tensor::from_int64s(const Shape& s, const std::vector<int64_t>& v) {
  Tensor t(DType::I64, s);
  if (int64_t(v.size()) != t.numel()) fail(ErrorKind::Internal, "from_int64s: {} values for shape {}", v.size(), shape_str(s));
  if (!v.empty()) std::memcpy(t.data.data(), v.data(), v.size() * 8);
  return t;
}

Tensor Tensor::cast(DType to) const {
  Tensor r(to, shape);
  if (to == dtype) { r.data = data; r.strings = strings; return r; }
  if (to == DType::I64 && dtype_is_integer(dtype)) {
    for (size_t i = 0, n = size_t(numel()); i < n; ++i) {
      int64_t v = int64_t(get(i));
      std::memcpy(r.data.data() + 8 * i, &v, 8);
    }
    return r;
  }
  for (size_t i = 0, n = size_t(numel()); i < n; ++i) r.set(i, get(i));
  return r;
}

}  // namespace cardsim
