// Helpers for hand-built single-node tests of the reference kernels.
#pragma once
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "compiler/ir/graph.h"
#include "compiler/reference/ops.h"
#include "core/error.h"
#include "core/tensor.h"

namespace reftest {

using cardsim::DType;
using cardsim::Shape;
using cardsim::Tensor;
namespace ir = cardsim::ir;

inline ir::Attr ai(int64_t v) { ir::Attr a; a.kind = ir::Attr::Kind::Int; a.i = v; return a; }
inline ir::Attr af(float v) { ir::Attr a; a.kind = ir::Attr::Kind::Float; a.f = v; return a; }
inline ir::Attr as(std::string v) { ir::Attr a; a.kind = ir::Attr::Kind::String; a.s = std::move(v); return a; }
inline ir::Attr ais(std::vector<int64_t> v) { ir::Attr a; a.kind = ir::Attr::Kind::Ints; a.ints = std::move(v); return a; }
inline ir::Attr afs(std::vector<float> v) { ir::Attr a; a.kind = ir::Attr::Kind::Floats; a.floats = std::move(v); return a; }

inline ir::Node node(const std::string& op, std::map<std::string, ir::Attr> attrs = {}, int opset = 13,
                     size_t outputs = 1) {
  ir::Node n;
  n.name = "test_" + op;
  n.op_type = op;
  n.opset = opset;
  n.attrs = std::move(attrs);
  for (size_t i = 0; i < outputs; ++i) n.outputs.push_back(fmt::format("y{}", i));
  return n;
}

inline Tensor F(const Shape& s, const std::vector<float>& v) { return Tensor::from_floats(s, v); }
inline Tensor I64(const Shape& s, const std::vector<int64_t>& v) {
  Tensor t(DType::I64, s);  // not Tensor::from_int64s: it memcpys from a null pointer when v is empty
  for (size_t i = 0; i < v.size(); ++i) t.ptr<int64_t>()[i] = v[i];
  return t;
}
inline Tensor typed(DType t, const Shape& s, const std::vector<double>& v) {
  Tensor x(t, s);
  for (size_t i = 0; i < v.size(); ++i) x.set(i, v[i]);
  return x;
}
inline Tensor iota(const Shape& s, double start = 0, double step = 1) {
  Tensor x(DType::F32, s);
  for (size_t i = 0; i < size_t(x.numel()); ++i) x.set(i, start + step * double(i));
  return x;
}

// Deterministic pseudo-random floats in [-1, 1).
inline Tensor rnd(const Shape& s, uint32_t seed) {
  Tensor x(DType::F32, s);
  uint32_t st = seed * 2654435761u + 1;
  for (size_t i = 0; i < size_t(x.numel()); ++i) {
    st = st * 1664525u + 1013904223u;
    x.set(i, double(st >> 8) / double(1 << 24) * 2 - 1);
  }
  return x;
}

// Runs `n` on inputs; an empty-shape tensor with DType::Undefined marks an omitted input.
inline std::vector<Tensor> run(ir::Node n, const std::vector<Tensor>& ins) {
  std::vector<const Tensor*> p;
  for (size_t i = 0; i < ins.size(); ++i) {
    p.push_back(ins[i].dtype == DType::Undefined ? nullptr : &ins[i]);
    n.inputs.push_back(ins[i].dtype == DType::Undefined ? "" : fmt::format("x{}", i));
  }
  return cardsim::ref::run_node(n, p);
}
inline Tensor run1(const ir::Node& n, const std::vector<Tensor>& ins) { return run(n, ins).at(0); }
inline Tensor none() { Tensor t; t.dtype = DType::Undefined; return t; }

inline void expect_values(const Tensor& t, const Shape& shape, const std::vector<double>& want, double tol = 1e-5) {
  ASSERT_EQ(cardsim::shape_str(t.shape), cardsim::shape_str(shape));
  ASSERT_EQ(size_t(t.numel()), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(t.get(i), want[i], tol * (1 + std::fabs(want[i]))) << "element " << i;
}

inline void expect_close(const Tensor& got, const Tensor& want, double tol = 1e-4) {
  ASSERT_EQ(cardsim::shape_str(got.shape), cardsim::shape_str(want.shape));
  for (size_t i = 0; i < size_t(want.numel()); ++i)
    ASSERT_NEAR(got.get(i), want.get(i), tol * (1 + std::fabs(want.get(i)))) << "element " << i;
}

}  // namespace reftest
