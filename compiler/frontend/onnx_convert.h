// ONNX NodeProto/AttributeProto <-> ir::Node/ir::Attr, shared by the loader and node_io.
#pragma once
#include <string>

#include "compiler/ir/graph.h"
#include "onnx/onnx_pb.h"

namespace cardsim {

// `where` names the node for error messages; base_dir resolves external data of TENSOR attrs.
ir::Attr attr_from_proto(const onnx::AttributeProto& a, const std::string& where, const std::string& base_dir);
void attr_to_proto(const std::string& name, const ir::Attr& a, onnx::AttributeProto* out);

// Copies name, op_type, domain, inputs, outputs and attributes; opset is the caller's.
ir::Node node_from_proto(const onnx::NodeProto& p, int opset, const std::string& base_dir);
onnx::NodeProto node_to_proto(const ir::Node& n);

}  // namespace cardsim
