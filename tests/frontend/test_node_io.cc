#include "compiler/frontend/node_io.h"
#include "core/error.h"
#include <gtest/gtest.h>

namespace cardsim {
namespace {

ir::Attr attr_of(ir::Attr::Kind k) {
  ir::Attr a;
  a.kind = k;
  return a;
}

TEST(NodeIo, RoundTripEveryAttributeKind) {
  ir::Node n;
  n.name = "host_resize_3";
  n.op_type = "Resize";
  n.opset = 11;
  n.inputs = {"x", "", "scales"};  // omitted optional input survives
  n.outputs = {"y"};
  auto i = attr_of(ir::Attr::Kind::Int);
  i.i = -7;
  auto f = attr_of(ir::Attr::Kind::Float);
  f.f = 0.75f;
  auto s = attr_of(ir::Attr::Kind::String);
  s.s = "nearest";
  auto is = attr_of(ir::Attr::Kind::Ints);
  is.ints = {1, -2, int64_t(1) << 40};
  auto fs = attr_of(ir::Attr::Kind::Floats);
  fs.floats = {1.5f, -0.0f, 3e-8f};
  auto ss = attr_of(ir::Attr::Kind::Strings);
  ss.strings = {"a", "", "ccc"};
  auto t = attr_of(ir::Attr::Kind::Tensor);
  t.t = Tensor::from_int64s({2, 2}, {1, 2, 3, -4});
  n.attrs = {{"i", i}, {"f", f}, {"mode", s}, {"ints", is}, {"floats", fs}, {"strings", ss}, {"value", t}};

  auto bytes = serialize_node(n);
  ir::Node b = parse_node(bytes.data(), bytes.size());
  EXPECT_EQ(b.name, n.name);
  EXPECT_EQ(b.op_type, n.op_type);
  EXPECT_EQ(b.domain, "");
  EXPECT_EQ(b.opset, 11);
  EXPECT_EQ(b.inputs, n.inputs);
  EXPECT_EQ(b.outputs, n.outputs);
  ASSERT_EQ(b.attrs.size(), n.attrs.size());
  EXPECT_EQ(b.attr_i("i", 0), -7);
  EXPECT_EQ(b.attr_f("f", 0), 0.75f);
  EXPECT_EQ(b.attr_s("mode", ""), "nearest");
  EXPECT_EQ(b.attr_ints("ints"), is.ints);
  EXPECT_EQ(b.attrs.at("floats").floats, fs.floats);
  EXPECT_EQ(b.attrs.at("strings").strings, ss.strings);
  EXPECT_EQ(b.attrs.at("value").kind, ir::Attr::Kind::Tensor);
  EXPECT_EQ(b.attrs.at("value").t.shape, (Shape{2, 2}));
  EXPECT_EQ(b.attrs.at("value").t.to_int64s(), (std::vector<int64_t>{1, 2, 3, -4}));
  // Deterministic bytes: serializing the parsed node gives the same record.
  EXPECT_EQ(serialize_node(b), bytes);
}

TEST(NodeIo, DomainSurvives) {
  ir::Node n;
  n.name = "c";
  n.op_type = "ConvAct";
  n.domain = "cardsim";
  n.opset = 1;
  n.inputs = {"x"};
  n.outputs = {"y"};
  auto bytes = serialize_node(n);
  ir::Node b = parse_node(bytes.data(), bytes.size());
  EXPECT_EQ(b.domain, "cardsim");
  EXPECT_EQ(b.opset, 1);
}

TEST(NodeIo, GarbageIsFormatError) {
  const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
  try {
    parse_node(junk, sizeof junk);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Format);
  }
  // A valid NodeProto without our opset tag is rejected too.
  const uint8_t no_tag[] = {0x22, 0x04, 'R', 'e', 'l', 'u'};  // field 4 (op_type) = "Relu"
  try {
    parse_node(no_tag, sizeof no_tag);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Format);
    EXPECT_NE(std::string(e.what()).find("opset"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cardsim
