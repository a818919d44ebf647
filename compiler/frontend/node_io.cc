#include "compiler/frontend/node_io.h"

#include "compiler/frontend/onnx_convert.h"
#include "core/error.h"

namespace cardsim {

static const std::string kOpsetTag = "cardsim.opset=";

std::vector<uint8_t> serialize_node(const ir::Node& n) {
  onnx::NodeProto p = node_to_proto(n);
  p.set_doc_string(kOpsetTag + std::to_string(n.opset));
  std::string bytes;
  if (!p.SerializeToString(&bytes)) fail(ErrorKind::Internal, "node '{}' ({}): could not serialize", n.name, n.op_type);
  return {bytes.begin(), bytes.end()};
}

ir::Node parse_node(const uint8_t* data, size_t size) {
  onnx::NodeProto p;
  if (!p.ParseFromArray(data, int(size)))
    fail(ErrorKind::Format, "host node record ({} bytes): not a serialized onnx.NodeProto", size);
  if (p.op_type().empty()) fail(ErrorKind::Format, "host node record ({} bytes): node '{}' has no op_type", size, p.name());
  const std::string& doc = p.doc_string();
  if (doc.rfind(kOpsetTag, 0) != 0)
    fail(ErrorKind::Format, "host node record: node '{}' ({}) has no '{}' in doc_string", p.name(), p.op_type(), kOpsetTag);
  int opset = 0;
  try {
    opset = std::stoi(doc.substr(kOpsetTag.size()));
  } catch (const std::exception&) {
    fail(ErrorKind::Format, "host node record: node '{}' ({}): bad opset '{}'", p.name(), p.op_type(), doc);
  }
  return node_from_proto(p, opset, "");
}

}  // namespace cardsim
