#include "compiler/frontend/onnx_convert.h"

#include "compiler/frontend/tensor_io.h"
#include "core/error.h"

namespace cardsim {

ir::Attr attr_from_proto(const onnx::AttributeProto& a, const std::string& where, const std::string& base_dir) {
  using AP = onnx::AttributeProto;
  ir::Attr r;
  if (!a.ref_attr_name().empty())
    fail(ErrorKind::Unsupported, "{}: attribute '{}' refers to a function attribute '{}' (functions are not supported)", where,
         a.name(), a.ref_attr_name());
  int type = a.type();
  if (type == AP::UNDEFINED) {
    // Very old exporters (IR version < 2) leave `type` unset; infer it from the field present.
    if (a.has_f()) type = AP::FLOAT;
    else if (a.has_i()) type = AP::INT;
    else if (a.has_s()) type = AP::STRING;
    else if (a.has_t()) type = AP::TENSOR;
    else if (a.floats_size()) type = AP::FLOATS;
    else if (a.ints_size()) type = AP::INTS;
    else if (a.strings_size()) type = AP::STRINGS;
    else if (a.has_g() || a.graphs_size()) type = AP::GRAPH;
    else fail(ErrorKind::Format, "{}: attribute '{}' has no type and no value", where, a.name());
  }
  switch (type) {
    case AP::INT: r.kind = ir::Attr::Kind::Int; r.i = a.i(); break;
    case AP::FLOAT: r.kind = ir::Attr::Kind::Float; r.f = a.f(); break;
    case AP::STRING: r.kind = ir::Attr::Kind::String; r.s = a.s(); break;
    case AP::INTS: r.kind = ir::Attr::Kind::Ints; r.ints.assign(a.ints().begin(), a.ints().end()); break;
    case AP::FLOATS: r.kind = ir::Attr::Kind::Floats; r.floats.assign(a.floats().begin(), a.floats().end()); break;
    case AP::STRINGS: r.kind = ir::Attr::Kind::Strings; r.strings.assign(a.strings().begin(), a.strings().end()); break;
    case AP::TENSOR:
      r.kind = ir::Attr::Kind::Tensor;
      r.t = tensor_from_proto(a.t(), base_dir, where + " attribute '" + a.name() + "'");
      break;
    default:
      fail(ErrorKind::Unsupported, "{}: attribute '{}' is of type {} (subgraphs, sparse tensors and type protos are not supported)",
           where, a.name(), AP::AttributeType_IsValid(type) ? AP::AttributeType_Name(AP::AttributeType(type)) : std::to_string(type));
  }
  return r;
}

void attr_to_proto(const std::string& name, const ir::Attr& a, onnx::AttributeProto* out) {
  using AP = onnx::AttributeProto;
  out->set_name(name);
  switch (a.kind) {
    case ir::Attr::Kind::Int: out->set_type(AP::INT); out->set_i(a.i); break;
    case ir::Attr::Kind::Float: out->set_type(AP::FLOAT); out->set_f(a.f); break;
    case ir::Attr::Kind::String: out->set_type(AP::STRING); out->set_s(a.s); break;
    case ir::Attr::Kind::Ints:
      out->set_type(AP::INTS);
      for (auto v : a.ints) out->add_ints(v);
      break;
    case ir::Attr::Kind::Floats:
      out->set_type(AP::FLOATS);
      for (auto v : a.floats) out->add_floats(v);
      break;
    case ir::Attr::Kind::Strings:
      out->set_type(AP::STRINGS);
      for (const auto& v : a.strings) out->add_strings(v);
      break;
    case ir::Attr::Kind::Tensor:
      out->set_type(AP::TENSOR);
      *out->mutable_t() = tensor_to_proto(a.t, "");
      break;
  }
}

ir::Node node_from_proto(const onnx::NodeProto& p, int opset, const std::string& base_dir) {
  ir::Node n;
  n.name = p.name();
  n.op_type = p.op_type();
  n.domain = p.domain() == "ai.onnx" ? "" : p.domain();
  n.opset = opset;
  n.inputs.assign(p.input().begin(), p.input().end());
  n.outputs.assign(p.output().begin(), p.output().end());
  std::string where = "node '" + p.name() + "' (" + p.op_type() + ")";
  for (const auto& a : p.attribute()) {
    if (n.attrs.count(a.name())) fail(ErrorKind::Format, "{}: attribute '{}' given twice", where, a.name());
    n.attrs[a.name()] = attr_from_proto(a, where, base_dir);
  }
  return n;
}

onnx::NodeProto node_to_proto(const ir::Node& n) {
  onnx::NodeProto p;
  p.set_name(n.name);
  p.set_op_type(n.op_type);
  if (!n.domain.empty()) p.set_domain(n.domain);
  for (const auto& in : n.inputs) p.add_input(in);
  for (const auto& o : n.outputs) p.add_output(o);
  for (const auto& [name, a] : n.attrs) attr_to_proto(name, a, p.add_attribute());  // std::map: sorted, deterministic
  return p;
}

}  // namespace cardsim
