// Builds small ONNX models in memory for the frontend tests.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"
#include "onnx/onnx_pb.h"

namespace cardsim::test {

struct ModelBuilder {
  onnx::ModelProto model;
  explicit ModelBuilder(int opset = 13);
  // dims < 0 become a symbolic dim_param "N".
  ModelBuilder& input(const std::string& name, DType dt, const std::vector<int64_t>& dims);
  ModelBuilder& output(const std::string& name);
  ModelBuilder& initializer(const std::string& name, const Tensor& t);
  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& ins, const std::vector<std::string>& outs,
                        const std::string& name = "");
  std::string bytes() const;
  void save(const std::string& path) const;
};

void add_int_attr(onnx::NodeProto& n, const std::string& name, int64_t v);
void add_ints_attr(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v);

// A fresh empty directory under the test temp dir.
std::string temp_dir(const std::string& tag);

}  // namespace cardsim::test
