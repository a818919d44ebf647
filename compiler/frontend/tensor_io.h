// ONNX TensorProto <-> cardsim::Tensor, and the backend test-data layout
// (test_data_set_N/input_0.pb, input_1.pb, ..., output_0.pb, ...).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace onnx {  // ONNX_NAMESPACE=onnx (libonnx-dev's build)
class TensorProto;
}

namespace cardsim {

// Converts any TensorProto data type cardsim has a DType for (raw_data or the typed
// fields; external data is read relative to base_dir). `where` names the tensor's origin in
// error messages (file, initializer, attribute). Error(Format) on inconsistent sizes,
// Error(Unsupported) for complex/segmented tensors, Error(Io) for missing external files.
Tensor tensor_from_proto(const onnx::TensorProto& p, const std::string& base_dir, const std::string& where = "");
// Always writes raw_data (string_data for strings), like the ONNX test data.
onnx::TensorProto tensor_to_proto(const Tensor& t, const std::string& name);

Tensor read_tensor_pb(const std::string& path, std::string* name = nullptr);
// Atomic: writes path.tmp.<pid> and renames it over path.
void write_tensor_pb(const Tensor& t, const std::string& name, const std::string& path);

// Reads <dir>/<prefix>0.pb, <prefix>1.pb, ... in numeric order (stops at the first gap;
// files beyond a gap are an Error). Returns (tensor name, tensor) pairs.
std::vector<std::pair<std::string, Tensor>> read_test_data_dir(const std::string& dir, const std::string& prefix);

}  // namespace cardsim
