// A dense host-side tensor: dtype, shape and little-endian bytes. Used for weights,
// constants, inputs/outputs and the reference interpreter. Row-major (C order).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace cardsim {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& s);
std::string shape_str(const Shape& s);  // "[1,3,224,224]"

struct Tensor {
  DType dtype = DType::F32;
  Shape shape;
  std::vector<uint8_t> data;  // numel * dtype_size bytes (for String: unused)
  std::vector<std::string> strings;  // only for DType::String

  Tensor() = default;
  Tensor(DType t, Shape s);  // zero-filled

  int64_t numel() const { return shape_numel(shape); }
  size_t nbytes() const { return data.size(); }
  template <typename T> T* ptr() { return reinterpret_cast<T*>(data.data()); }
  template <typename T> const T* ptr() const { return reinterpret_cast<const T*>(data.data()); }
  double get(size_t i) const { return load_as_double(data.data(), dtype, i); }
  void set(size_t i, double v) { store_from_double(data.data(), dtype, i, v); }

  // Convenience: all elements as double / int64 (for shape plumbing).
  std::vector<double> to_doubles() const;
  std::vector<int64_t> to_int64s() const;
  static Tensor from_floats(const Shape& s, const std::vector<float>& v);
  static Tensor from_int64s(const Shape& s, const std::vector<int64_t>& v);
  Tensor cast(DType to) const;
};

}  // namespace cardsim
