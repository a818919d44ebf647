// Byte form of one graph node, for operators the compiler places on the host: the
// loadable stores them and the host runtime parses them back and runs the reference kernel.
// The format is a serialized onnx.NodeProto; the opset travels in doc_string as
// "cardsim.opset=<n>".
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "compiler/ir/graph.h"

namespace cardsim {

std::vector<uint8_t> serialize_node(const ir::Node& n);
// Error(Format) when the bytes are not a NodeProto written by serialize_node.
ir::Node parse_node(const uint8_t* data, size_t size);

}  // namespace cardsim
