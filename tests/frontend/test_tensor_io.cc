#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "compiler/frontend/tensor_io.h"
#include "core/error.h"
#include "onnx/onnx_pb.h"
#include "tests/frontend/model_builder.h"
#include <fmt/format.h>
#include <gtest/gtest.h>

namespace cardsim {
namespace {

const std::string kNodeData = "/usr/share/libonnx-testdata/data/node/";

template <typename F>
ErrorKind error_kind_of(F&& f, std::string* msg = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (msg) *msg = e.what();
    return e.kind();
  }
  ADD_FAILURE() << "expected a cardsim::Error";
  return ErrorKind::Internal;
}

Tensor pattern_tensor(DType dt, const Shape& s) {
  Tensor t(dt, s);
  if (dt == DType::String) {
    for (size_t i = 0; i < t.strings.size(); ++i) t.strings[i] = fmt::format("s{}{}", i, std::string(i, 'x'));
    return t;
  }
  for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = uint8_t(i * 37 + 11);
  if (dt == DType::Bool)
    for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = i % 3 == 0;
  return t;
}

TEST(TensorIo, PbRoundTripEveryDtype) {
  std::string dir = test::temp_dir("roundtrip");
  const DType all[] = {DType::F32, DType::U8, DType::I8, DType::U16, DType::I16, DType::I32, DType::I64,
                       DType::String, DType::Bool, DType::F16, DType::F64, DType::U32, DType::U64, DType::BF16};
  for (DType dt : all) {
    for (const Shape& s : {Shape{2, 3}, Shape{}, Shape{0, 4}, Shape{5}}) {
      Tensor t = pattern_tensor(dt, s);
      std::string path = dir + "/t.pb", name;
      write_tensor_pb(t, "tensor_" + std::string(dtype_name(dt)), path);
      Tensor back = read_tensor_pb(path, &name);
      EXPECT_EQ(name, "tensor_" + std::string(dtype_name(dt)));
      EXPECT_EQ(back.dtype, dt) << dtype_name(dt);
      EXPECT_EQ(back.shape, s) << dtype_name(dt);
      EXPECT_EQ(back.data, t.data) << dtype_name(dt) << " " << shape_str(s);
      EXPECT_EQ(back.strings, t.strings) << dtype_name(dt);
    }
  }
  // Atomic write leaves no temporary behind.
  size_t files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);
}

TEST(TensorIo, TypedFieldsDecodeLikeOnnx) {
  onnx::TensorProto p;
  auto reset = [&](int dt, std::vector<int64_t> dims) {
    p.Clear();
    p.set_data_type(dt);
    for (auto d : dims) p.add_dims(d);
  };
  reset(1, {2});
  p.add_float_data(1.5f);
  p.add_float_data(-2.f);
  EXPECT_EQ(tensor_from_proto(p, "").to_doubles(), (std::vector<double>{1.5, -2}));

  reset(3, {2});  // int8 in int32_data
  p.add_int32_data(-3);
  p.add_int32_data(127);
  Tensor i8 = tensor_from_proto(p, "");
  EXPECT_EQ(i8.data, (std::vector<uint8_t>{0xfd, 0x7f}));

  reset(2, {1});  // uint8
  p.add_int32_data(255);
  EXPECT_EQ(tensor_from_proto(p, "").data, std::vector<uint8_t>{255});

  reset(9, {3});  // bool
  p.add_int32_data(0);
  p.add_int32_data(1);
  p.add_int32_data(1);
  EXPECT_EQ(tensor_from_proto(p, "").data, (std::vector<uint8_t>{0, 1, 1}));

  reset(10, {2});  // float16 bit patterns: 1.0, -2.0
  p.add_int32_data(0x3c00);
  p.add_int32_data(0xc000);
  EXPECT_EQ(tensor_from_proto(p, "").to_doubles(), (std::vector<double>{1.0, -2.0}));

  reset(16, {1});  // bfloat16 1.0
  p.add_int32_data(0x3f80);
  EXPECT_EQ(tensor_from_proto(p, "").to_doubles(), std::vector<double>{1.0});

  reset(5, {1});  // int16
  p.add_int32_data(-2);
  EXPECT_EQ(tensor_from_proto(p, "").to_doubles(), std::vector<double>{-2});

  reset(4, {1});  // uint16
  p.add_int32_data(65535);
  EXPECT_EQ(tensor_from_proto(p, "").to_doubles(), std::vector<double>{65535});

  reset(6, {2});  // int32
  p.add_int32_data(-100000);
  p.add_int32_data(7);
  EXPECT_EQ(tensor_from_proto(p, "").to_doubles(), (std::vector<double>{-100000, 7}));

  reset(7, {2});  // int64
  p.add_int64_data(int64_t(1) << 40);
  p.add_int64_data(-1);
  EXPECT_EQ(tensor_from_proto(p, "").to_int64s(), (std::vector<int64_t>{int64_t(1) << 40, -1}));

  reset(11, {1});  // double
  p.add_double_data(0.1);
  EXPECT_EQ(tensor_from_proto(p, "").to_doubles(), std::vector<double>{0.1});

  reset(12, {1});  // uint32 in uint64_data
  p.add_uint64_data(4000000000u);
  EXPECT_EQ(tensor_from_proto(p, "").to_doubles(), std::vector<double>{4000000000.0});

  reset(13, {1});  // uint64
  p.add_uint64_data((uint64_t(1) << 63) + 5);
  uint64_t u64;
  std::memcpy(&u64, tensor_from_proto(p, "").data.data(), 8);
  EXPECT_EQ(u64, (uint64_t(1) << 63) + 5);

  reset(8, {2});  // string
  p.add_string_data("hello");
  p.add_string_data("");
  EXPECT_EQ(tensor_from_proto(p, "").strings, (std::vector<std::string>{"hello", ""}));
}

TEST(TensorIo, InconsistentProtosAreFormatErrors) {
  onnx::TensorProto p;
  p.set_name("w");
  p.set_data_type(1);
  p.add_dims(3);
  p.add_float_data(1.f);
  std::string msg;
  EXPECT_EQ(error_kind_of([&] { tensor_from_proto(p, "", "model.onnx: initializer"); }, &msg), ErrorKind::Format);
  EXPECT_NE(msg.find("float_data"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'w'"), std::string::npos) << msg;

  p.clear_float_data();
  p.set_raw_data(std::string(8, '\0'));
  EXPECT_EQ(error_kind_of([&] { tensor_from_proto(p, ""); }, &msg), ErrorKind::Format);
  EXPECT_NE(msg.find("raw_data has 8 bytes"), std::string::npos) << msg;

  p.set_data_type(14);  // complex64
  EXPECT_EQ(error_kind_of([&] { tensor_from_proto(p, ""); }, &msg), ErrorKind::Unsupported);
  EXPECT_NE(msg.find("COMPLEX64"), std::string::npos) << msg;
}

onnx::TensorProto external_proto(const std::string& location, int64_t offset, int64_t length) {
  onnx::TensorProto p;
  p.set_name("ext");
  p.set_data_type(1);
  p.add_dims(3);
  p.set_data_location(onnx::TensorProto::EXTERNAL);
  auto add = [&](const std::string& k, const std::string& v) {
    auto* e = p.add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  add("location", location);
  add("offset", std::to_string(offset));
  if (length >= 0) add("length", std::to_string(length));
  return p;
}

TEST(TensorIo, ExternalData) {
  std::string dir = test::temp_dir("external");
  float values[3] = {0.5f, -1.25f, 3.f};
  {
    std::ofstream out(dir + "/weights.bin", std::ios::binary);
    out << std::string(16, 'z');
    out.write(reinterpret_cast<const char*>(values), 12);
  }
  Tensor t = tensor_from_proto(external_proto("weights.bin", 16, 12), dir);
  EXPECT_EQ(t.to_doubles(), (std::vector<double>{0.5, -1.25, 3.0}));
  Tensor t2 = tensor_from_proto(external_proto("weights.bin", 16, -1), dir);  // length optional
  EXPECT_EQ(t2.data, t.data);

  std::string msg;
  EXPECT_EQ(error_kind_of([&] { tensor_from_proto(external_proto("missing.bin", 0, 12), dir); }, &msg), ErrorKind::Io);
  EXPECT_NE(msg.find("missing.bin"), std::string::npos) << msg;
  EXPECT_EQ(error_kind_of([&] { tensor_from_proto(external_proto("weights.bin", 20, -1), dir); }, &msg), ErrorKind::Format);
  EXPECT_NE(msg.find("short read"), std::string::npos) << msg;
  EXPECT_EQ(error_kind_of([&] { tensor_from_proto(external_proto("weights.bin", 0, 8), dir); }, &msg), ErrorKind::Format);
  EXPECT_NE(msg.find("length 8"), std::string::npos) << msg;
}

TEST(TensorIo, TestDataDirNumericOrderAndGaps) {
  std::string dir = test::temp_dir("datadir");
  for (int i = 0; i < 12; ++i)
    write_tensor_pb(Tensor::from_int64s({1}, {i}), fmt::format("t{}", i), fmt::format("{}/input_{}.pb", dir, i));
  write_tensor_pb(Tensor::from_int64s({1}, {99}), "o", dir + "/output_0.pb");
  auto r = read_test_data_dir(dir, "input_");
  ASSERT_EQ(r.size(), 12u);
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(r[size_t(i)].first, fmt::format("t{}", i));
    EXPECT_EQ(r[size_t(i)].second.to_int64s(), std::vector<int64_t>{i});
  }
  EXPECT_EQ(read_test_data_dir(dir, "output_").size(), 1u);
  std::filesystem::remove(dir + "/input_5.pb");
  std::string msg;
  EXPECT_EQ(error_kind_of([&] { read_test_data_dir(dir, "input_"); }, &msg), ErrorKind::Format);
  EXPECT_NE(msg.find("input_5.pb"), std::string::npos) << msg;
}

TEST(TensorIo, ReadsOnnxBackendTestData) {
  // Abs: output must equal |input| element by element - an independent check of decoding.
  auto in = read_test_data_dir(kNodeData + "test_abs/test_data_set_0", "input_");
  auto out = read_test_data_dir(kNodeData + "test_abs/test_data_set_0", "output_");
  ASSERT_EQ(in.size(), 1u);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(in[0].second.shape, (Shape{3, 4, 5}));
  EXPECT_EQ(in[0].first, "x");
  auto x = in[0].second.to_doubles(), y = out[0].second.to_doubles();
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(std::fabs(x[i]), y[i]);
  // Cast float -> float16: output f16 is the input rounded to half precision.
  auto cin = read_test_data_dir(kNodeData + "test_cast_FLOAT_to_FLOAT16/test_data_set_0", "input_");
  auto cout = read_test_data_dir(kNodeData + "test_cast_FLOAT_to_FLOAT16/test_data_set_0", "output_");
  ASSERT_EQ(cout[0].second.dtype, DType::F16);
  auto a = cin[0].second.to_doubles(), b = cout[0].second.to_doubles();
  for (size_t i = 0; i < a.size(); ++i)
    if (std::isfinite(a[i]) && std::fabs(a[i]) < 60000) {
      EXPECT_NEAR(a[i], b[i], std::fabs(a[i]) * 1e-3 + 1e-7);
    }
}

TEST(TensorIo, BadFilesAreClearErrors) {
  std::string dir = test::temp_dir("badpb");
  std::string msg;
  EXPECT_EQ(error_kind_of([&] { read_tensor_pb(dir + "/nope.pb"); }, &msg), ErrorKind::Io);
  EXPECT_NE(msg.find("nope.pb"), std::string::npos);
  std::ofstream(dir + "/junk.pb", std::ios::binary) << std::string("\xff\xff\xff\xff\xff\x01\x02", 7);
  EXPECT_EQ(error_kind_of([&] { read_tensor_pb(dir + "/junk.pb"); }, &msg), ErrorKind::Format);
  EXPECT_NE(msg.find("junk.pb"), std::string::npos) << msg;
}

}  // namespace
}  // namespace cardsim
