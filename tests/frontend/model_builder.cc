#include "tests/frontend/model_builder.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "compiler/frontend/tensor_io.h"
#include <gtest/gtest.h>

namespace cardsim::test {

ModelBuilder::ModelBuilder(int opset) {
  model.set_ir_version(8);
  model.set_producer_name("cardsim-test");
  auto* imp = model.add_opset_import();
  imp->set_domain("");
  imp->set_version(opset);
  model.mutable_graph()->set_name("test_graph");
}

ModelBuilder& ModelBuilder::input(const std::string& name, DType dt, const std::vector<int64_t>& dims) {
  auto* vi = model.mutable_graph()->add_input();
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(int(dt));
  auto* sh = tt->mutable_shape();
  for (auto d : dims) {
    if (d < 0) sh->add_dim()->set_dim_param("N");
    else sh->add_dim()->set_dim_value(d);
  }
  return *this;
}

ModelBuilder& ModelBuilder::output(const std::string& name) {
  model.mutable_graph()->add_output()->set_name(name);
  return *this;
}

ModelBuilder& ModelBuilder::initializer(const std::string& name, const Tensor& t) {
  *model.mutable_graph()->add_initializer() = tensor_to_proto(t, name);
  return *this;
}

onnx::NodeProto& ModelBuilder::node(const std::string& op, const std::vector<std::string>& ins,
                                    const std::vector<std::string>& outs, const std::string& name) {
  auto* n = model.mutable_graph()->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const auto& i : ins) n->add_input(i);
  for (const auto& o : outs) n->add_output(o);
  return *n;
}

std::string ModelBuilder::bytes() const { return model.SerializeAsString(); }

void ModelBuilder::save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary);
  out << bytes();
}

void add_int_attr(onnx::NodeProto& n, const std::string& name, int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

void add_ints_attr(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (auto x : v) a->add_ints(x);
}

std::string temp_dir(const std::string& tag) {
  auto dir = std::filesystem::path(::testing::TempDir()) /
             ("cardsim_frontend_" + tag + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace cardsim::test
