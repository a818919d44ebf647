// Private helpers shared by the reference kernels (not part of the public interface in
// ops.h): attribute access with ONNX defaults, input checking, axis normalisation, numpy
// broadcasting, and element access that keeps integers exact.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "compiler/ir/graph.h"
#include "core/error.h"
#include "core/tensor.h"

namespace cardsim::ref::detail {

using Inputs = std::vector<const Tensor*>;
using Outputs = std::vector<Tensor>;
using Kernel = Outputs (*)(const ir::Node&, const Inputs&);
using KernelTable = std::map<std::string, Kernel>;

// Each kernel file adds its operators to the table.
void register_elementwise(KernelTable& t);
void register_linalg(KernelTable& t);
void register_nn(KernelTable& t);
void register_shape_ops(KernelTable& t);
void register_resize(KernelTable& t);
void register_index_ops(KernelTable& t);
void register_rnn(KernelTable& t);

// ---- errors -------------------------------------------------------------------------
// "node 'conv1' (Conv, opset 13)" — the prefix every kernel error message starts with.
std::string where(const ir::Node& n);
[[noreturn]] void unsupported(const ir::Node& n, const std::string& what);
[[noreturn]] void invalid(const ir::Node& n, const std::string& what);

// ---- attributes (ONNX defaults are passed by the caller) ----------------------------
int64_t attr_i(const ir::Node& n, const std::string& a, int64_t def);
float attr_f(const ir::Node& n, const std::string& a, float def);
std::string attr_s(const ir::Node& n, const std::string& a, const std::string& def);
std::vector<int64_t> attr_ints(const ir::Node& n, const std::string& a, std::vector<int64_t> def = {});
std::vector<float> attr_floats(const ir::Node& n, const std::string& a, std::vector<float> def = {});

// ---- inputs --------------------------------------------------------------------------
const Tensor& in(const ir::Node& n, const Inputs& ins, size_t i);   // required input
const Tensor* opt(const Inputs& ins, size_t i);                      // nullptr when omitted
bool wants_output(const ir::Node& n, size_t i);                      // output i is requested
std::vector<int64_t> ints_of(const Tensor& t);                       // exact for i32/i64
// The single value of a scalar-like input (checks it has at least one element).
double scalar_f(const ir::Node& n, const Tensor& t, const char* what);
int64_t scalar_i(const ir::Node& n, const Tensor& t, const char* what);
int64_t norm_axis(const ir::Node& n, int64_t axis, int64_t rank, const char* what = "axis");

// ---- shapes and broadcasting ---------------------------------------------------------
std::vector<int64_t> strides_of(const Shape& s);  // row-major element strides
Shape broadcast_shapes(const ir::Node& n, const std::vector<Shape>& shapes);
// Element strides of `in` seen through `out` (0 along broadcast dimensions).
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out);

// Calls f(out_index, offsets) for every element of `out`, where offsets[j] is the element
// offset into input j whose broadcast strides are strides[j].
template <class F>
void for_each_broadcast(const Shape& out, const std::vector<std::vector<int64_t>>& strides, F&& f) {
  const size_t r = out.size(), k = strides.size();
  const int64_t total = shape_numel(out);
  if (total == 0) return;
  const int64_t inner = r ? out[r - 1] : 1;
  std::vector<int64_t> idx(r, 0), off(k, 0), cur(k), inner_st(k);
  for (size_t j = 0; j < k; ++j) inner_st[j] = r ? strides[j][r - 1] : 0;
  for (int64_t o = 0; o < total; o += inner) {
    for (size_t j = 0; j < k; ++j) cur[j] = off[j];
    for (int64_t i = 0; i < inner; ++i) {
      f(o + i, cur.data());
      for (size_t j = 0; j < k; ++j) cur[j] += inner_st[j];
    }
    for (int64_t d = int64_t(r) - 2; d >= 0; --d) {
      ++idx[d];
      for (size_t j = 0; j < k; ++j) off[j] += strides[j][d];
      if (idx[d] < out[d]) break;
      for (size_t j = 0; j < k; ++j) off[j] -= strides[j][d] * out[d];
      idx[d] = 0;
    }
  }
}

// ---- element access --------------------------------------------------------------------
// Integers go through int64 so that i64/u64 values above 2^53 stay exact; stores wrap like
// a C cast (numpy semantics for integer arithmetic overflow).
int64_t load_i64(const Tensor& t, size_t i);
void store_i64(Tensor& t, size_t i, int64_t v);
inline bool is_float(const Tensor& t) { return dtype_is_float(t.dtype); }

// Whole tensor as float / double and back (the kernels' arithmetic types).
std::vector<float> to_f32(const Tensor& t);
std::vector<double> to_f64(const Tensor& t);
Tensor from_f32(DType dt, const Shape& s, const std::vector<float>& v);
Tensor from_f64(DType dt, const Shape& s, const std::vector<double>& v);
Tensor from_i64(const Shape& s, const std::vector<int64_t>& v);  // I64 tensor; v may be empty

// memcpy that accepts n == 0 with null pointers (empty tensors).
inline void copy_bytes(void* dst, const void* src, size_t n) {
  if (n) std::memcpy(dst, src, n);
}

// Copies element src[i] to dst[j] of the same dtype (byte copy).
inline void copy_elem(Tensor& dst, size_t j, const Tensor& src, size_t i, size_t esize) {
  std::memcpy(dst.data.data() + j * esize, src.data.data() + i * esize, esize);
}
size_t elem_size(const Tensor& t);  // 0 for strings

// Round half to even, as the ONNX quantization ops require.
inline double round_half_even(double v) { return std::nearbyint(v); }

// Spatial window geometry shared by Conv, ConvTranspose and the pools.
struct Window {
  std::vector<int64_t> kernel, strides, dilations, pads_begin, pads_end, out;
};
// Resolves kernel_shape/strides/dilations/pads/auto_pad/ceil_mode for a forward window op
// on spatial input dims `in`.
Window forward_window(const ir::Node& n, const Shape& in_spatial, const std::vector<int64_t>& kernel,
                      bool allow_ceil);

}  // namespace cardsim::ref::detail
