#include "compiler/frontend/onnx_loader.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>

#include "compiler/frontend/file_util.h"
#include "compiler/frontend/onnx_convert.h"
#include "compiler/frontend/sha256.h"
#include "compiler/frontend/tensor_io.h"
#include "compiler/ir/graph_utils.h"
#include "compiler/reference/ops.h"
#include "core/error.h"
#include "onnx/defs/schema.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"

namespace cardsim {

namespace fs = std::filesystem;

namespace {

constexpr int kMinOpset = 9;
constexpr int kMaxOpset = 17;
// Constants up to this many elements are handed to ONNX shape inference with their data
// (Reshape's shape, Slice's starts, ...); bigger ones (weights) only with their type.
constexpr int64_t kInferenceDataLimit = 4096;

// ---------------------------------------------------------------- parsing

// Protobuf only says "parse failed"; walk the top-level fields to say where and which.
std::string locate_parse_failure(const std::string& bytes) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()), int(bytes.size()));
  in.SetTotalBytesLimit(INT32_MAX);
  while (true) {
    int offset = in.CurrentPosition();
    uint32_t tag = in.ReadTag();
    if (tag == 0) {
      if (offset == int(bytes.size())) return "every top-level field is complete, so a nested message is malformed";
      return fmt::format("invalid field tag at byte offset {}", offset);
    }
    int field = int(WireFormatLite::GetTagFieldNumber(tag));
    if (!WireFormatLite::SkipField(&in, tag))
      return fmt::format("top-level field {} (wire type {}) starting at byte offset {} runs past the end of the {} bytes or is malformed",
                         field, int(WireFormatLite::GetTagWireType(tag)), offset, bytes.size());
  }
}

onnx::ModelProto parse_model(const std::string& bytes, const std::string& path) {
  if (bytes.empty()) fail(ErrorKind::Format, "{}: empty file, expected an ONNX model", path);
  if (bytes.size() > size_t(INT32_MAX))
    fail(ErrorKind::Unsupported, "{}: {} bytes; protobuf cannot parse models over 2 GiB (store weights as external data)", path,
         bytes.size());
  onnx::ModelProto m;
  if (!m.ParseFromString(bytes))
    fail(ErrorKind::Format, "{}: not a valid ONNX model: protobuf could not parse it as onnx.ModelProto ({}; file truncated or corrupt?)",
         path, locate_parse_failure(bytes));
  if (!m.has_graph() || m.ir_version() <= 0)
    fail(ErrorKind::Format, "{}: parsed as protobuf but is not an ONNX model (ir_version {}, {}graph)", path, m.ir_version(),
         m.has_graph() ? "has a " : "no ");
  return m;
}

// ---------------------------------------------------------------- types

DType dtype_from_onnx(int elem_type, const std::string& what) {
  switch (elem_type) {
    case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 8: case 9: case 10: case 11: case 12: case 13: case 16:
      return DType(elem_type);
    default:
      fail(ErrorKind::Unsupported, "{}: element type {} ({}) is not supported", what, elem_type,
           onnx::TensorProto_DataType_IsValid(elem_type) ? onnx::TensorProto_DataType_Name(onnx::TensorProto_DataType(elem_type))
                                                         : "invalid");
  }
}

void set_tensor_type(onnx::ValueInfoProto* vi, const ir::Value& v) {
  vi->set_name(v.name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(int(v.dtype));
  auto* sh = tt->mutable_shape();
  for (auto d : v.shape) sh->add_dim()->set_dim_value(d);
}

// Static (dtype, shape) from an inferred TypeProto, or nothing if anything is unknown.
std::optional<std::pair<DType, Shape>> static_type(const onnx::TypeProto& t) {
  if (!t.has_tensor_type()) return std::nullopt;
  const auto& tt = t.tensor_type();
  if (tt.elem_type() == 0 || !tt.has_shape()) return std::nullopt;
  Shape s;
  for (const auto& d : tt.shape().dim()) {
    if (!d.has_dim_value() || d.dim_value() < 0) return std::nullopt;
    s.push_back(d.dim_value());
  }
  switch (tt.elem_type()) {
    case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 8: case 9: case 10: case 11: case 12: case 13: case 16:
      return std::make_pair(DType(tt.elem_type()), s);
    default:
      return std::nullopt;
  }
}

std::string describe_node(const ir::Node& n) {
  return fmt::format("node '{}' ({}{}, opset {})", n.name, n.domain.empty() ? "" : n.domain + ".", n.op_type, n.opset);
}

// ---------------------------------------------------------------- graph construction

// Fixes the dims of one graph input from its declared type and the user's options.
Shape input_shape(const onnx::ValueInfoProto& vi, const LoadOptions& opt, const std::string& path) {
  const auto& tt = vi.type().tensor_type();
  auto given = opt.shapes.find(vi.name());
  std::string example;
  std::vector<std::string> declared;
  if (tt.has_shape())
    for (const auto& d : tt.shape().dim())
      declared.push_back(d.has_dim_value() ? std::to_string(d.dim_value()) : d.has_dim_param() ? "'" + d.dim_param() + "'" : "?");
  auto declared_str = [&] {
    std::string r;
    for (size_t i = 0; i < declared.size(); ++i) r += (i ? "," : "") + declared[i];
    return "[" + r + "]";
  };
  if (given != opt.shapes.end()) {
    const Shape& s = given->second;
    if (tt.has_shape()) {
      if (tt.shape().dim_size() != int(s.size()))
        fail(ErrorKind::Usage, "{}: --shape {}={} has rank {} but the model declares input '{}' as {} (rank {})", path, vi.name(),
             shape_str(s), s.size(), vi.name(), declared_str(), tt.shape().dim_size());
      for (int i = 0; i < tt.shape().dim_size(); ++i) {
        const auto& d = tt.shape().dim(i);
        if (d.has_dim_value() && d.dim_value() != s[size_t(i)])
          fail(ErrorKind::Usage, "{}: --shape {}={} sets dim {} to {} but the model fixes it to {} ({})", path, vi.name(),
               shape_str(s), i, s[size_t(i)], d.dim_value(), declared_str());
      }
    }
    for (auto d : s)
      if (d < 0) fail(ErrorKind::Usage, "--shape {}={}: dims must be >= 0", vi.name(), shape_str(s));
    return s;
  }
  auto hint = [&](const Shape& partial) {
    if (partial.empty()) return fmt::format("pass --shape {}=1x3x224x224 (with its real dims)", vi.name());
    std::string dims;
    bool only_batch = true;
    for (size_t i = 0; i < partial.size(); ++i) {
      std::string d = partial[i] >= 0 ? std::to_string(partial[i]) : i == 0 ? "N" : "D" + std::to_string(i);
      only_batch &= partial[i] >= 0 || i == 0;
      dims += (i ? "x" : "") + d;
    }
    if (only_batch) return fmt::format("pass --batch N or --shape {}={}", vi.name(), dims);
    return fmt::format("pass --shape {}={} with numbers for the unknown dims (--batch N only sets dim 0)", vi.name(), dims);
  };
  if (!tt.has_shape())
    fail(ErrorKind::Unsupported, "{}: input '{}' has no declared shape (not even its rank); {}", path, vi.name(), hint({}));
  Shape s;
  std::vector<int> dynamic;
  for (int i = 0; i < tt.shape().dim_size(); ++i) {
    const auto& d = tt.shape().dim(i);
    if (d.has_dim_value() && d.dim_value() >= 0) {
      s.push_back(d.dim_value());
    } else if (i == 0 && opt.batch > 0) {
      s.push_back(opt.batch);
    } else {
      s.push_back(-1);
      dynamic.push_back(i);
    }
  }
  if (!dynamic.empty()) {
    std::string which;
    for (int i : dynamic) which += fmt::format("{}dim {} {}", which.empty() ? "" : ", ", i, declared[size_t(i)]);
    fail(ErrorKind::Unsupported, "{}: input '{}' has dynamic dims {} ({}); {}", path, vi.name(), declared_str(), which, hint(s));
  }
  return s;
}

// 1-D tensors from lists that may be empty (Tensor::from_* memcpy from a null pointer then).
Tensor int64_vector(const std::vector<int64_t>& v) {
  return v.empty() ? Tensor(DType::I64, {0}) : Tensor::from_int64s({int64_t(v.size())}, v);
}
Tensor float_vector(const std::vector<float>& v) {
  return v.empty() ? Tensor(DType::F32, {0}) : Tensor::from_floats({int64_t(v.size())}, v);
}

// Tensor of a Constant node (value, value_float(s), value_int(s), value_string(s)).
Tensor constant_node_value(const ir::Node& n) {
  if (n.attrs.size() != 1)
    fail(ErrorKind::Format, "{}: a Constant node needs exactly one value attribute, found {}", describe_node(n), n.attrs.size());
  const auto& [name, a] = *n.attrs.begin();
  if (name == "value") return a.t;
  if (name == "value_float") return Tensor::from_floats({}, {a.f});
  if (name == "value_floats") return float_vector(a.floats);
  if (name == "value_int") return Tensor::from_int64s({}, {a.i});
  if (name == "value_ints") return int64_vector(a.ints);
  if (name == "value_string" || name == "value_strings") {
    Tensor t(DType::String, name == "value_string" ? Shape{} : Shape{int64_t(a.strings.size())});
    if (name == "value_string") t.strings = {a.s};
    else t.strings = a.strings;
    return t;
  }
  fail(ErrorKind::Unsupported, "{}: Constant attribute '{}' is not supported", describe_node(n), name);
}

void add_constant(ir::Graph& g, const std::string& name, Tensor t) {
  ir::Value& v = g.values[name];
  v.name = name;
  v.dtype = t.dtype;
  v.shape = t.shape;
  v.constant = std::move(t);
}

ir::Graph build_graph(onnx::ModelProto& m, const std::string& path, const LoadOptions& opt) {
  const std::string base_dir = fs::path(path).parent_path().string();
  ir::Graph g;
  auto& gp = *m.mutable_graph();
  g.name = gp.name().empty() ? fs::path(path).stem().string() : gp.name();

  // Opsets.
  std::map<std::string, int> opsets;
  for (const auto& imp : m.opset_import()) opsets[imp.domain() == "ai.onnx" ? "" : imp.domain()] = int(imp.version());
  if (m.opset_import_size() == 0) opsets[""] = 1;  // IR version < 3 implies opset 1
  auto onnx_opset = opsets.find("");
  if (onnx_opset == opsets.end())
    fail(ErrorKind::Unsupported, "{}: the model imports no ai.onnx opset; cardsim supports ai.onnx opsets {}-{}", path, kMinOpset, kMaxOpset);
  if (onnx_opset->second < kMinOpset || onnx_opset->second > kMaxOpset)
    fail(ErrorKind::Unsupported, "{}: ai.onnx opset {} is not supported; cardsim supports opsets {}-{} (re-export, e.g. "
         "torch.onnx.export(..., opset_version=13))", path, onnx_opset->second, kMinOpset, kMaxOpset);
  g.opset = onnx_opset->second;

  // Initializers are constants (even when also listed as graph inputs).
  std::set<std::string> initializer_names;
  for (auto& t : *gp.mutable_initializer()) {
    if (t.name().empty()) fail(ErrorKind::Format, "{}: an initializer has no name", path);
    if (!initializer_names.insert(t.name()).second) fail(ErrorKind::Format, "{}: initializer '{}' is defined twice", path, t.name());
    add_constant(g, t.name(), tensor_from_proto(t, base_dir, path + ": initializer"));
    std::string().swap(*t.mutable_raw_data());  // the bytes now live in g: keep peak memory ~2x the model
  }
  if (gp.sparse_initializer_size())
    fail(ErrorKind::Unsupported, "{}: sparse initializers ('{}') are not supported", path, gp.sparse_initializer(0).values().name());

  // Options must name real inputs (checked first: a typo would otherwise surface as a
  // confusing "dynamic dims" error).
  std::set<std::string> declared_inputs;
  for (const auto& vi : gp.input())
    if (!initializer_names.count(vi.name())) declared_inputs.insert(vi.name());
  auto list_inputs = [&] {
    std::string r;
    for (const auto& vi : gp.input())
      if (!initializer_names.count(vi.name())) r += (r.empty() ? "" : ", ") + vi.name();
    return r;
  };
  for (const auto& [name, s] : opt.shapes)
    if (!declared_inputs.count(name))
      fail(ErrorKind::Usage, "{}: --shape names '{}', which is not an input of the network (inputs: {})", path, name, list_inputs());
  for (const auto& [name, t] : opt.constants)
    if (!declared_inputs.count(name))
      fail(ErrorKind::Usage, "{}: a bound constant names '{}', which is not an input of the network (inputs: {})", path, name,
           list_inputs());

  std::set<std::string> input_names;
  for (const auto& vi : gp.input()) {
    if (initializer_names.count(vi.name())) continue;
    if (!input_names.insert(vi.name()).second) fail(ErrorKind::Format, "{}: graph input '{}' is listed twice", path, vi.name());
    if (!vi.type().has_tensor_type())
      fail(ErrorKind::Unsupported, "{}: graph input '{}' is not a tensor (sequences, maps and optionals are not supported)", path, vi.name());
    DType dt = dtype_from_onnx(vi.type().tensor_type().elem_type(), path + ": graph input '" + vi.name() + "'");
    auto bound = opt.constants.find(vi.name());
    if (bound != opt.constants.end()) {
      if (bound->second.dtype != dt)
        fail(ErrorKind::Usage, "{}: value bound to input '{}' is {} but the model declares {}", path, vi.name(),
             dtype_name(bound->second.dtype), dtype_name(dt));
      add_constant(g, vi.name(), bound->second);
      continue;
    }
    ir::Value& v = g.values[vi.name()];
    v.name = vi.name();
    v.dtype = dt;
    v.shape = input_shape(vi, opt, path);
    g.inputs.push_back(vi.name());
  }
  // Nodes: unique names, Constant nodes become constant values.
  std::set<std::string> taken;
  for (const auto& np : gp.node()) taken.insert(np.name());
  std::set<std::string> used_names;
  std::map<std::string, int> counters;
  if (opt.stats) opt.stats->nodes_in += gp.node_size();
  for (int k = 0; k < gp.node_size(); ++k) {
    const auto& np = gp.node(k);
    std::string domain = np.domain() == "ai.onnx" ? "" : np.domain();
    auto os = opsets.find(domain);
    if (os == opsets.end() && !domain.empty())
      fail(ErrorKind::Format, "{}: node '{}' ({}) uses domain '{}', which the model does not import", path, np.name(), np.op_type(), domain);
    ir::Node n = node_from_proto(np, os == opsets.end() ? g.opset : os->second, base_dir);
    if (n.name.empty() || used_names.count(n.name)) {
      std::string base = n.op_type.empty() ? "node" : n.op_type;
      std::string cand;
      do cand = base + "_" + std::to_string(counters[base]++);
      while (taken.count(cand) || used_names.count(cand));
      n.name = cand;
    }
    used_names.insert(n.name);
    if (n.op_type.empty()) fail(ErrorKind::Format, "{}: node #{} ('{}') has no op_type", path, k, n.name);
    for (const auto& o : n.outputs) {
      if (o.empty()) continue;
      if (g.values.count(o))
        fail(ErrorKind::Format, "{}: {} writes '{}', which is already defined (graph input, initializer or another node)", path,
             describe_node(n), o);
    }
    if (n.op_type == "Constant" && n.domain.empty()) {
      if (n.outputs.size() != 1 || n.outputs[0].empty()) fail(ErrorKind::Format, "{}: {} needs one output", path, describe_node(n));
      add_constant(g, n.outputs[0], constant_node_value(n));
      if (opt.stats) ++opt.stats->constant_nodes;
      continue;
    }
    for (const auto& o : n.outputs) {
      if (o.empty()) continue;
      ir::Value& v = g.values[o];
      v.name = o;
      v.dtype = DType::Undefined;
      v.shape = {-1};  // unknown until inference
    }
    g.nodes.push_back(std::move(n));
  }
  for (const auto& o : gp.output()) {
    if (!g.values.count(o.name()))
      fail(ErrorKind::Format, "{}: graph output '{}' is not produced by any node, initializer or input", path, o.name());
    g.outputs.push_back(o.name());
  }
  return g;
}

// ---------------------------------------------------------------- inference + folding

bool all_static(const ir::Value& v) {
  if (v.dtype == DType::Undefined) return false;
  return std::all_of(v.shape.begin(), v.shape.end(), [](int64_t d) { return d >= 0; });
}

// Shape/Size of a value with a static shape: computed here, no kernel needed.
std::optional<Tensor> fold_shape_op(const ir::Graph& g, const ir::Node& n) {
  if (!n.domain.empty() || (n.op_type != "Shape" && n.op_type != "Size") || n.inputs.empty()) return std::nullopt;
  const ir::Value& in = g.value(n.inputs[0]);
  if (!all_static(in)) return std::nullopt;
  if (n.op_type == "Size") return Tensor::from_int64s({}, {shape_numel(in.shape)});
  int64_t rank = int64_t(in.shape.size());
  auto clamp = [&](int64_t a) { return std::clamp(a < 0 ? a + rank : a, int64_t(0), rank); };
  int64_t start = clamp(n.attr_i("start", 0)), end = clamp(n.attr_i("end", rank));
  std::vector<int64_t> dims;
  for (int64_t i = start; i < end; ++i) dims.push_back(in.shape[size_t(i)]);
  return int64_vector(dims);
}

bool is_quantized_weight(const ir::Graph& g, const ir::Node& n) {
  if (n.op_type != "DequantizeLinear" || !n.domain.empty() || n.inputs.empty()) return false;
  const ir::Value& w = g.value(n.inputs[0]);
  return (w.dtype == DType::I8 || w.dtype == DType::U8 || w.dtype == DType::I32) && shape_numel(w.shape) > 1;
}

bool should_fold(const ir::Graph& g, const ir::Node& n, const LoadOptions& opt) {
  if (!n.domain.empty()) return false;
  bool any_input = false;
  for (const auto& in : n.inputs) {
    if (in.empty()) continue;
    any_input = true;
    if (!g.is_constant(in)) return false;
  }
  // Nodes without inputs are either Constant (handled) or random generators: never fold.
  if (!any_input) return false;
  if (opt.keep_quantized_weights && is_quantized_weight(g, n)) return false;
  return ref::is_supported(n.op_type);
}

std::vector<const Tensor*> constant_inputs(const ir::Graph& g, const ir::Node& n, std::vector<Tensor>* zero_storage) {
  std::vector<const Tensor*> ins;
  if (zero_storage) zero_storage->reserve(n.inputs.size());
  for (const auto& in : n.inputs) {
    if (in.empty()) {
      ins.push_back(nullptr);
    } else if (g.is_constant(in)) {
      ins.push_back(&*g.value(in).constant);
    } else {
      const ir::Value& v = g.value(in);
      zero_storage->emplace_back(v.dtype, v.shape);
      ins.push_back(&zero_storage->back());
    }
  }
  return ins;
}

// ONNX 1.12's shape inference trusts some invariants and reads out of bounds when a
// (malformed) model breaks them, e.g. a Conv whose input rank differs from its weight's.
// Checked here first so bad files give an Error, not a crash.
void check_axes(const ir::Graph& g, const ir::Node& n) {
  if (n.inputs.empty() || n.inputs[0].empty()) return;
  const int64_t rank = int64_t(g.value(n.inputs[0]).shape.size());
  auto check_range = [&](const std::string& what, int64_t v, int64_t r, bool inclusive_end) {
    if (v < -r || v > (inclusive_end ? r : r - 1))
      fail(ErrorKind::Format, "{}: {} {} is out of range for input '{}' of rank {} (expected {}..{})", describe_node(n), what, v,
           n.inputs[0], rank, -r, inclusive_end ? r : r - 1);
  };
  auto it = n.attrs.find("axis");
  if (it != n.attrs.end() && it->second.kind == ir::Attr::Kind::Int)
    check_range("attribute 'axis'", it->second.i, rank, n.op_type == "Flatten");
  // Unsqueeze's axes index the output, which has one more dim per axis.
  auto axes_rank = [&](size_t count) { return n.op_type == "Unsqueeze" ? rank + int64_t(count) : rank; };
  it = n.attrs.find("axes");
  if (it != n.attrs.end() && it->second.kind == ir::Attr::Kind::Ints)
    for (auto a : it->second.ints) check_range("attribute 'axes' value", a, axes_rank(it->second.ints.size()), false);
  // Since opset 13 the axes of Squeeze/Unsqueeze/ReduceSum are an input, which inference reads.
  static const std::map<std::string, size_t> axes_input = {{"Squeeze", 1}, {"Unsqueeze", 1}, {"ReduceSum", 1}, {"Slice", 3}};
  auto ai = axes_input.find(n.op_type);
  if (ai != axes_input.end() && n.inputs.size() > ai->second && g.is_constant(n.inputs[ai->second])) {
    const Tensor& t = *g.value(n.inputs[ai->second]).constant;
    if (dtype_is_integer(t.dtype))
      for (auto a : t.to_int64s()) check_range("axes input value", a, axes_rank(size_t(t.numel())), false);
  }
  it = n.attrs.find("perm");
  if (n.op_type == "Transpose" && it != n.attrs.end()) {
    std::vector<int64_t> sorted = it->second.ints;
    std::sort(sorted.begin(), sorted.end());
    bool ok = int64_t(sorted.size()) == rank;
    for (size_t i = 0; ok && i < sorted.size(); ++i) ok = sorted[i] == int64_t(i);
    if (!ok) fail(ErrorKind::Format, "{}: attribute 'perm' is not a permutation of 0..{}", describe_node(n), rank - 1);
  }
}

void check_inference_preconditions(const ir::Graph& g, const ir::Node& n) {
  if (!n.domain.empty()) return;
  check_axes(g, n);
  static const std::set<std::string> conv_like = {"Conv", "ConvTranspose", "ConvInteger", "QLinearConv",
                                                  "MaxPool", "AveragePool", "LpPool"};
  if (!conv_like.count(n.op_type)) return;
  const size_t data_index = 0;
  if (n.inputs.size() <= data_index || n.inputs[data_index].empty())
    fail(ErrorKind::Format, "{}: missing its data input", describe_node(n));
  const size_t rank = g.value(n.inputs[data_index]).shape.size();
  if (rank < 3)
    fail(ErrorKind::Format, "{}: input '{}' has rank {}, expected N x C x spatial... (rank >= 3)", describe_node(n),
         n.inputs[data_index], rank);
  const size_t spatial = rank - 2;
  const bool has_weight = n.op_type.find("Conv") != std::string::npos;
  if (has_weight) {
    const size_t w_index = n.op_type == "QLinearConv" ? 3 : 1;
    if (n.inputs.size() <= w_index || n.inputs[w_index].empty())
      fail(ErrorKind::Format, "{}: missing its weight input", describe_node(n));
    const size_t w_rank = g.value(n.inputs[w_index]).shape.size();
    if (w_rank != rank)
      fail(ErrorKind::Format, "{}: weight '{}' has rank {} but input '{}' has rank {} (they must match)", describe_node(n),
           n.inputs[w_index], w_rank, n.inputs[data_index], rank);
  }
  for (const char* a : {"kernel_shape", "strides", "dilations", "output_padding"}) {
    if (n.has(a) && n.attr_ints(a).size() != spatial)
      fail(ErrorKind::Format, "{}: attribute '{}' has {} values, expected {} (one per spatial dim)", describe_node(n), a,
           n.attr_ints(a).size(), spatial);
  }
  if (n.has("pads") && n.attr_ints("pads").size() != 2 * spatial)
    fail(ErrorKind::Format, "{}: attribute 'pads' has {} values, expected {}", describe_node(n), n.attr_ints("pads").size(),
         2 * spatial);
  if (!has_weight && !n.has("kernel_shape") && n.op_type != "LpPool")
    fail(ErrorKind::Format, "{}: attribute 'kernel_shape' is required", describe_node(n));
  for (const char* a : {"kernel_shape", "strides", "dilations"})
    if (n.has(a))
      for (auto v : n.attr_ints(a))
        if (v <= 0) fail(ErrorKind::Format, "{}: attribute '{}' has a non-positive value {}", describe_node(n), a, v);
}

// ONNX's own shape inference for one node, given its inputs' types (and the data of small
// constants). Returns per output the static type, or nothing; `error` gets ONNX's complaint.
std::vector<std::optional<std::pair<DType, Shape>>> onnx_infer_node(const ir::Graph& g, const ir::Node& n, std::string* error) {
  std::vector<std::optional<std::pair<DType, Shape>>> result(n.outputs.size());
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* imp = m.add_opset_import();
  imp->set_domain("");
  imp->set_version(n.domain.empty() ? n.opset : g.opset);
  if (!n.domain.empty()) {
    auto* dimp = m.add_opset_import();
    dimp->set_domain(n.domain);
    dimp->set_version(n.opset);
  }
  auto* gp = m.mutable_graph();
  gp->set_name("infer");
  std::set<std::string> seen;
  for (const auto& in : n.inputs) {
    if (in.empty() || !seen.insert(in).second) continue;
    const ir::Value& v = g.value(in);
    if (v.constant && v.constant->numel() <= kInferenceDataLimit) *gp->add_initializer() = tensor_to_proto(*v.constant, in);
    else set_tensor_type(gp->add_input(), v);
  }
  *gp->add_node() = node_to_proto(n);
  try {
    onnx::ShapeInferenceOptions options(/*check_type=*/false, /*error_mode=*/1, /*data_prop=*/false);
    onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    *error = e.what();
    // Partial results may still be present; fall through and take what is static.
  }
  std::map<std::string, const onnx::TypeProto*> types;
  for (const auto& vi : m.graph().value_info()) types[vi.name()] = &vi.type();
  for (const auto& vi : m.graph().output()) types[vi.name()] = &vi.type();
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    auto it = types.find(n.outputs[i]);
    if (it != types.end()) result[i] = static_type(*it->second);
  }
  return result;
}

void set_output(ir::Graph& g, const std::string& name, DType dt, const Shape& s) {
  ir::Value& v = g.values[name];
  v.name = name;
  v.dtype = dt;
  v.shape = s;
}

// Runs the reference kernel on the real constants and zero-filled runtime inputs to learn
// output shapes ONNX inference could not give.
void shapes_from_reference(ir::Graph& g, const ir::Node& n, const std::string& onnx_error) {
  for (const auto& in : n.inputs) {
    if (in.empty() || g.is_constant(in)) continue;
    const ir::Value& v = g.value(in);
    // An integer runtime input of a node ONNX could not type is almost surely a shape,
    // index or count: zeros would give a wrong shape silently.
    if (!dtype_is_float(v.dtype))
      fail(ErrorKind::Unsupported,
           "{}: the shape of its output depends on the values of runtime input '{}' ({} {}){}; cardsim needs static shapes "
           "(make that input a constant / initializer, or bind it with LoadOptions::constants)",
           describe_node(n), in, dtype_name(v.dtype), shape_str(v.shape), onnx_error.empty() ? "" : " [ONNX: " + onnx_error + "]");
  }
  if (!n.domain.empty() || !ref::is_supported(n.op_type))
    fail(ErrorKind::Unsupported, "{}: cannot determine the shape of its outputs (ONNX shape inference: {}; no reference kernel)",
         describe_node(n), onnx_error.empty() ? "no result" : onnx_error);
  std::vector<Tensor> zeros;
  auto ins = constant_inputs(g, n, &zeros);
  std::vector<Tensor> outs;
  try {
    outs = ref::run_node(n, ins);
  } catch (const Error& e) {
    fail(e.kind(), "{}: cannot determine the shape of its outputs (ONNX shape inference: {}; reference kernel: {})", describe_node(n),
         onnx_error.empty() ? "no result" : onnx_error, e.what());
  } catch (const std::bad_alloc&) {
    fail(ErrorKind::Unsupported, "{}: out of memory running it on zero inputs to learn its output shape", describe_node(n));
  } catch (const std::exception& e) {
    fail(ErrorKind::Internal, "{}: reference kernel failed on zero inputs: {}", describe_node(n), e.what());
  }
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    if (n.outputs[i].empty()) continue;
    if (i >= outs.size())
      fail(ErrorKind::Internal, "{}: reference kernel returned {} outputs, the node has {}", describe_node(n), outs.size(), n.outputs.size());
    set_output(g, n.outputs[i], outs[i].dtype, outs[i].shape);
  }
}

void remove_identities(ir::Graph& g) {
  std::set<std::string> graph_outputs(g.outputs.begin(), g.outputs.end());
  std::set<std::string> graph_inputs(g.inputs.begin(), g.inputs.end());
  std::vector<bool> drop(g.nodes.size(), false);
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    ir::Node& n = g.nodes[k];
    if (n.op_type != "Identity" || !n.domain.empty() || n.inputs.size() != 1 || n.outputs.size() != 1) continue;
    const std::string in = n.inputs[0], out = n.outputs[0];
    if (in.empty() || out.empty()) continue;
    if (!graph_outputs.count(out)) {
      replace_uses(g, out, in);
      g.values.erase(out);
      drop[k] = true;
    } else if (g.is_constant(in)) {
      g.values[out].constant = g.value(in).constant;
      drop[k] = true;
    } else if (!graph_outputs.count(in) && !graph_inputs.count(in)) {
      // The graph output keeps its name: the producer of `in` now writes `out` directly.
      for (size_t j = 0; j < k; ++j)
        for (auto& o : g.nodes[j].outputs)
          if (o == in) o = out;
      replace_uses(g, in, out);
      g.values.erase(in);
      drop[k] = true;
    }
    // else: graph input/output passed straight through; keep the Identity.
  }
  std::vector<ir::Node> kept;
  for (size_t k = 0; k < g.nodes.size(); ++k)
    if (!drop[k]) kept.push_back(std::move(g.nodes[k]));
  g.nodes = std::move(kept);
}

}  // namespace

void infer_and_fold(ir::Graph& g, const LoadOptions& opt) {
  LoadStats local;
  LoadStats& stats = opt.stats ? *opt.stats : local;
  ir::topo_sort(g);
  std::vector<ir::Node> kept;
  kept.reserve(g.nodes.size());
  for (auto& n : g.nodes) {
    for (const auto& in : n.inputs)
      if (!in.empty() && !all_static(g.value(in)))
        fail(ErrorKind::Internal, "{}: input '{}' has no static shape yet", describe_node(n), in);

    if (auto t = fold_shape_op(g, n)) {
      add_constant(g, n.outputs[0], std::move(*t));
      ++stats.folded;
      continue;
    }
    if (should_fold(g, n, opt)) {
      std::vector<Tensor> outs;
      bool folded = true;
      try {
        outs = ref::run_node(n, constant_inputs(g, n, nullptr));
      } catch (const Error& e) {
        // The reference may lack an attribute combination the backend handles: keep the node.
        if (e.kind() != ErrorKind::Unsupported) throw;
        folded = false;
      } catch (const std::bad_alloc&) {
        fail(ErrorKind::Unsupported, "{}: out of memory evaluating it at load time (constant output too large?)", describe_node(n));
      } catch (const std::exception& e) {
        fail(ErrorKind::Internal, "{}: reference kernel failed while folding constants: {}", describe_node(n), e.what());
      }
      if (folded) {
        for (size_t i = 0; i < n.outputs.size(); ++i) {
          if (n.outputs[i].empty()) continue;
          if (i >= outs.size())
            fail(ErrorKind::Internal, "{}: reference kernel returned {} outputs, the node has {}", describe_node(n), outs.size(),
                 n.outputs.size());
          add_constant(g, n.outputs[i], std::move(outs[i]));
        }
        ++stats.folded;
        continue;
      }
    }
    // Re-runs (after backend rewrites) keep shapes already known: fused cardsim.* ops have
    // no ONNX schema and no reference kernel.
    bool known = !n.outputs.empty();
    for (const auto& o : n.outputs)
      if (!o.empty() && (!g.values.count(o) || !all_static(g.value(o)))) known = false;
    if (known) {
      kept.push_back(std::move(n));
      continue;
    }
    check_inference_preconditions(g, n);
    std::string onnx_error;
    auto inferred = onnx_infer_node(g, n, &onnx_error);
    bool complete = true;
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      if (n.outputs[i].empty()) continue;
      if (inferred[i]) set_output(g, n.outputs[i], inferred[i]->first, inferred[i]->second);
      else complete = false;
    }
    if (!complete) shapes_from_reference(g, n, onnx_error);
    ++(complete ? stats.onnx_inferred : stats.reference_inferred);
    kept.push_back(std::move(n));
  }
  g.nodes = std::move(kept);
  size_t before = g.nodes.size();
  remove_identities(g);
  stats.identities_removed += int(before - g.nodes.size());
  stats.dead_removed += int(ir::remove_dead_nodes(g));
  ir::remove_unused_values(g);
  ir::validate(g, /*require_static_shapes=*/true);
}

std::vector<std::string> check_known_ops(const ir::Graph& g, const std::vector<std::string>& extra_known) {
  std::set<std::string> ops;
  std::set<std::string> extra(extra_known.begin(), extra_known.end());
  for (const auto& n : g.nodes) {
    std::string full = n.domain.empty() ? n.op_type : n.domain + "." + n.op_type;
    bool known = extra.count(full) || extra.count(n.op_type) || (n.domain.empty() && ref::is_supported(n.op_type));
    if (!known) {
      auto supported = ref::supported_ops();
      std::sort(supported.begin(), supported.end());
      std::string list;
      for (const auto& s : supported) list += (list.empty() ? "" : " ") + s;
      fail(ErrorKind::Unsupported, "node '{}': operator {} (domain '{}', opset {}) is not supported by cardsim. Supported ai.onnx ops: {}",
           n.name, n.op_type, n.domain.empty() ? "ai.onnx" : n.domain, n.opset, list);
    }
    ops.insert(full);
  }
  return {ops.begin(), ops.end()};
}

namespace {

ir::Graph load_parsed(onnx::ModelProto& m, const std::string& path, const std::string& sha256, const LoadOptions& opt) {
  ir::Graph g = build_graph(m, path, opt);
  m.Clear();
  g.source_sha256 = sha256;
  try {
    if (opt.check_ops) check_known_ops(g, opt.extra_known_ops);
    infer_and_fold(g, opt);
  } catch (const Error& e) {
    throw Error(e.kind(), path + ": " + e.what());
  } catch (const std::bad_alloc&) {
    fail(ErrorKind::Unsupported, "{}: out of memory while loading (shapes too large?)", path);
  }
  return g;
}

}  // namespace

ir::Graph load_onnx_bytes(const std::string& bytes, const std::string& path, const LoadOptions& opt) {
  onnx::ModelProto m = parse_model(bytes, path);
  return load_parsed(m, path, sha256_hex(bytes), opt);
}

ir::Graph load_onnx(const std::string& path, const LoadOptions& opt) {
  std::string bytes = read_file_bytes(path);
  onnx::ModelProto m = parse_model(bytes, path);
  std::string sha = sha256_hex(bytes);
  std::string().swap(bytes);  // free the file image before the weights are copied again
  return load_parsed(m, path, sha, opt);
}

}  // namespace cardsim
