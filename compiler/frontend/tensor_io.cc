#include "compiler/frontend/tensor_io.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "compiler/frontend/file_util.h"
#include "core/error.h"
#include "onnx/onnx_pb.h"

namespace cardsim {

namespace fs = std::filesystem;

static bool known_dtype(int t) {
  switch (t) {
    case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 8: case 9: case 10: case 11: case 12: case 13: case 16:
      return true;
    default:
      return false;
  }
}

static std::string origin(const onnx::TensorProto& p, const std::string& where) {
  std::string s = where.empty() ? std::string("tensor") : where;
  if (!p.name().empty()) s += " '" + p.name() + "'";
  return s;
}

// Reads the bytes of an EXTERNAL tensor: keys location (relative to base_dir), offset, length.
static std::string read_external(const onnx::TensorProto& p, const std::string& base_dir, const std::string& where,
                                 size_t expected) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : p.external_data()) {
    try {
      if (kv.key() == "location") location = kv.value();
      else if (kv.key() == "offset") offset = std::stoll(kv.value());
      else if (kv.key() == "length") length = std::stoll(kv.value());
    } catch (const std::exception&) {
      fail(ErrorKind::Format, "{}: external_data '{}' = '{}' is not an integer", origin(p, where), kv.key(), kv.value());
    }
  }
  if (location.empty()) fail(ErrorKind::Format, "{}: data_location is EXTERNAL but external_data has no 'location'", origin(p, where));
  fs::path rel(location);
  if (rel.is_absolute()) fail(ErrorKind::Format, "{}: external data location '{}' must be relative to the model's folder", origin(p, where), location);
  fs::path file = fs::path(base_dir.empty() ? "." : base_dir) / rel;
  if (offset < 0) fail(ErrorKind::Format, "{}: negative external data offset {}", origin(p, where), offset);
  if (length >= 0 && size_t(length) != expected)
    fail(ErrorKind::Format, "{}: external data length {} but shape and dtype need {} bytes", origin(p, where), length, expected);
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(ErrorKind::Io, "{}: cannot open external data file {} (location '{}')", origin(p, where), file.string(), location);
  in.seekg(0, std::ios::end);
  int64_t size = int64_t(in.tellg());
  if (offset + int64_t(expected) > size)
    fail(ErrorKind::Format, "{}: external data file {} has {} bytes; needed {} bytes at offset {} (short read)",
         origin(p, where), file.string(), size, expected, offset);
  std::string bytes(expected, '\0');
  in.seekg(offset);
  in.read(bytes.data(), std::streamsize(expected));
  if (size_t(in.gcount()) != expected)
    fail(ErrorKind::Io, "{}: short read from {} ({} of {} bytes at offset {})", origin(p, where), file.string(),
         in.gcount(), expected, offset);
  return bytes;
}

// Name and element count of the typed field that carries dtype dt.
static std::pair<const char*, int> typed_field(const onnx::TensorProto& p, DType dt) {
  switch (dt) {
    case DType::F32: return {"float_data", p.float_data_size()};
    case DType::F64: return {"double_data", p.double_data_size()};
    case DType::I64: return {"int64_data", p.int64_data_size()};
    case DType::U32: case DType::U64: return {"uint64_data", p.uint64_data_size()};
    case DType::String: return {"string_data", p.string_data_size()};
    default: return {"int32_data", p.int32_data_size()};  // I32 and every narrower type, f16/bf16 as bits
  }
}

Tensor tensor_from_proto(const onnx::TensorProto& p, const std::string& base_dir, const std::string& where) {
  if (!known_dtype(p.data_type()))
    fail(ErrorKind::Unsupported, "{}: data type {} ({}) is not supported (expected a real number, integer, bool or string type)",
         origin(p, where), p.data_type(),
         onnx::TensorProto_DataType_IsValid(p.data_type()) ? onnx::TensorProto_DataType_Name(onnx::TensorProto_DataType(p.data_type())) : "invalid");
  if (p.has_segment()) fail(ErrorKind::Unsupported, "{}: segmented tensors are not supported", origin(p, where));
  Shape shape(p.dims().begin(), p.dims().end());
  uint64_t n64 = 1;
  for (auto d : shape) {
    if (d < 0) fail(ErrorKind::Format, "{}: negative dimension in {}", origin(p, where), shape_str(shape));
    if (d != 0 && n64 > (uint64_t(1) << 40) / uint64_t(d))
      fail(ErrorKind::Format, "{}: shape {} is implausibly large", origin(p, where), shape_str(shape));
    n64 *= uint64_t(d);
  }
  const DType dt = DType(p.data_type());
  const size_t n = size_t(n64);
  const size_t esize = dt == DType::String ? 0 : dtype_size(dt);
  const size_t nbytes = n * esize;

  // Every size is checked against the data present before allocating, so a corrupt file
  // cannot request terabytes.
  if (dt != DType::String && p.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string bytes = read_external(p, base_dir, where, nbytes);
    Tensor t(dt, shape);
    if (nbytes) std::memcpy(t.data.data(), bytes.data(), nbytes);
    return t;
  }
  if (dt != DType::String && p.has_raw_data()) {
    if (p.raw_data().size() != nbytes)
      fail(ErrorKind::Format, "{}: raw_data has {} bytes but {} {} needs {}", origin(p, where), p.raw_data().size(),
           dtype_name(dt), shape_str(shape), nbytes);
    Tensor t(dt, shape);
    if (nbytes) std::memcpy(t.data.data(), p.raw_data().data(), nbytes);
    return t;
  }
  auto [field, count] = typed_field(p, dt);
  if (size_t(count) != n)
    fail(ErrorKind::Format, "{}: {} has {} elements but {} {} needs {}", origin(p, where), field, count, dtype_name(dt),
         shape_str(shape), n);
  Tensor t(dt, shape);
  uint8_t* out = t.data.data();
  switch (dt) {
    case DType::String:
      for (size_t i = 0; i < n; ++i) t.strings[i] = p.string_data(int(i));
      break;
    case DType::F32:
      if (n) std::memcpy(out, p.float_data().data(), nbytes);
      break;
    case DType::F64:
      if (n) std::memcpy(out, p.double_data().data(), nbytes);
      break;
    case DType::I64:
      if (n) std::memcpy(out, p.int64_data().data(), nbytes);
      break;
    case DType::U32:
    case DType::U64:
      for (size_t i = 0; i < n; ++i) {
        uint64_t v = p.uint64_data(int(i));
        if (dt == DType::U32) {
          uint32_t w = uint32_t(v);
          std::memcpy(out + 4 * i, &w, 4);
        } else {
          std::memcpy(out + 8 * i, &v, 8);
        }
      }
      break;
    default:
      for (size_t i = 0; i < n; ++i) {
        int32_t v = p.int32_data(int(i));
        switch (esize) {
          case 1: out[i] = dt == DType::Bool ? uint8_t(v != 0) : uint8_t(v); break;
          case 2: { uint16_t h = uint16_t(v); std::memcpy(out + 2 * i, &h, 2); break; }
          case 4: std::memcpy(out + 4 * i, &v, 4); break;
          default: fail(ErrorKind::Internal, "{}: unexpected element size {}", origin(p, where), esize);
        }
      }
  }
  return t;
}

onnx::TensorProto tensor_to_proto(const Tensor& t, const std::string& name) {
  onnx::TensorProto p;
  p.set_name(name);
  p.set_data_type(int(t.dtype));
  for (auto d : t.shape) p.add_dims(d);
  if (t.dtype == DType::String) {
    if (int64_t(t.strings.size()) != t.numel())
      fail(ErrorKind::Internal, "tensor '{}': {} strings for shape {}", name, t.strings.size(), shape_str(t.shape));
    for (const auto& s : t.strings) p.add_string_data(s);
  } else {
    if (t.data.size() != size_t(t.numel()) * dtype_size(t.dtype))
      fail(ErrorKind::Internal, "tensor '{}': {} bytes for {} {}", name, t.data.size(), dtype_name(t.dtype), shape_str(t.shape));
    p.set_raw_data(t.data.data(), t.data.size());
  }
  return p;
}

Tensor read_tensor_pb(const std::string& path, std::string* name) {
  std::string bytes = read_file_bytes(path);
  onnx::TensorProto p;
  if (!p.ParseFromString(bytes))
    fail(ErrorKind::Format, "{}: not a serialized onnx.TensorProto (protobuf could not parse its {} bytes; truncated or corrupt?)",
         path, bytes.size());
  if (p.data_type() == 0 && p.dims_size() == 0 && !p.has_raw_data())
    fail(ErrorKind::Format, "{}: TensorProto has no data_type, dims or data (expected a tensor written by onnx.numpy_helper)", path);
  Tensor t = tensor_from_proto(p, fs::path(path).parent_path().string(), path);
  if (name) *name = p.name();
  return t;
}

void write_tensor_pb(const Tensor& t, const std::string& name, const std::string& path) {
  std::string bytes;
  if (!tensor_to_proto(t, name).SerializeToString(&bytes))
    fail(ErrorKind::Internal, "{}: could not serialize tensor '{}'", path, name);
  write_file_atomic(path, bytes);
}

// The N of "<prefix>N.pb" (N all decimal digits), or -1 for any other name.
static long test_data_index(const std::string& dir, const std::string& fname, const std::string& prefix) {
  const std::string suffix = ".pb";
  if (fname.size() <= prefix.size() + suffix.size() || fname.compare(0, prefix.size(), prefix) != 0 ||
      fname.compare(fname.size() - suffix.size(), suffix.size(), suffix) != 0)
    return -1;
  const char* first = fname.data() + prefix.size();
  const char* last = fname.data() + fname.size() - suffix.size();
  if (!std::all_of(first, last, [](char c) { return c >= '0' && c <= '9'; })) return -1;
  long idx = 0;
  if (std::from_chars(first, last, idx).ec != std::errc())
    fail(ErrorKind::Format, "{}: {}: index out of range", dir, fname);
  return idx;
}

std::vector<std::pair<std::string, Tensor>> read_test_data_dir(const std::string& dir, const std::string& prefix) {
  if (!fs::is_directory(dir)) fail(ErrorKind::Io, "{}: not a directory (expected {}0.pb, {}1.pb, ...)", dir, prefix, prefix);
  // Collect the indices present so a gap (input_0, input_2) is reported instead of ignored.
  std::map<long, fs::path> found;
  for (const auto& e : fs::directory_iterator(dir)) {
    const long idx = test_data_index(dir, e.path().filename().string(), prefix);
    if (idx >= 0) found[idx] = e.path();
  }
  std::vector<std::pair<std::string, Tensor>> r;
  long expect = 0;
  for (const auto& [idx, file] : found) {
    if (idx != expect) fail(ErrorKind::Format, "{}: found {} but no {}{}.pb", dir, file.filename().string(), prefix, expect);
    std::string name;
    Tensor t = read_tensor_pb(file.string(), &name);
    r.emplace_back(name, std::move(t));
    ++expect;
  }
  return r;
}

}  // namespace cardsim
