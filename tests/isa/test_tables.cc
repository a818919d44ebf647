// The opcode and field tables themselves: consistent, complete, names round-trip.
#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "core/dtype.h"
#include "isa/isa.h"

using namespace cardsim;
using namespace cardsim::isa;

TEST(IsaTables, OpcodeTableIsIndexedByOpcodeAndMnemonicsAreUnique) {
  std::set<std::string_view> seen;
  for (int o = 0; o < kNumOpcodes; ++o) {
    const OpcodeInfo& oi = opcode_info(Opcode(o));
    EXPECT_EQ(int(oi.op), o);
    EXPECT_TRUE(seen.insert(oi.mnemonic).second) << oi.mnemonic;
    ASSERT_NE(opcode_by_mnemonic(oi.mnemonic), nullptr);
    EXPECT_EQ(opcode_by_mnemonic(oi.mnemonic)->op, oi.op);
    std::set<FieldId> fields(oi.fields.begin(), oi.fields.end());
    EXPECT_EQ(fields.size(), oi.fields.size()) << oi.mnemonic << " lists a field twice";
    for (FieldId f : {FieldId::wait, FieldId::signal, FieldId::layer}) {
      EXPECT_FALSE(fields.count(f)) << oi.mnemonic << ": wait/signal/layer are implicit";
      EXPECT_TRUE(opcode_has_field(oi.op, f));
    }
  }
  EXPECT_EQ(opcode_by_mnemonic("dma.copyy"), nullptr);
  // The mnemonics the brief fixes.
  const char* expected[] = {"nop", "end", "sem.wait", "sem.signal", "barrier", "irq", "host.call", "dma.copy",
                            "dma.fill", "mxu.conv", "vpu.unary", "vpu.binary", "vpu.requant", "vpu.reduce", "vpu.pool"};
  for (int o = 0; o < kNumOpcodes; ++o) EXPECT_EQ(opcode_info(Opcode(o)).mnemonic, expected[o]);
}

TEST(IsaTables, EveryFieldIsCarriedBySomeOpcode) {
  for (int f = 0; f < kNumFields; ++f) {
    bool used = false;
    for (int o = 0; o < kNumOpcodes; ++o) used |= opcode_has_field(Opcode(o), FieldId(f));
    EXPECT_TRUE(used) << field_info(FieldId(f)).name;
  }
}

TEST(IsaTables, FieldsMatchTheSemantics) {
  auto has = [](const char* m, const char* f) {
    return opcode_has_field(opcode_by_mnemonic(m)->op, *field_by_name(f));
  };
  EXPECT_TRUE(has("dma.copy", "cbytes"));
  EXPECT_TRUE(has("dma.copy", "a_zp"));
  EXPECT_FALSE(has("dma.copy", "b_addr"));
  EXPECT_TRUE(has("mxu.conv", "b_s3"));
  EXPECT_TRUE(has("mxu.conv", "d_s1"));
  EXPECT_FALSE(has("mxu.conv", "d_s2"));
  EXPECT_TRUE(has("vpu.requant", "c_dim"));
  EXPECT_TRUE(has("vpu.requant", "b_addr"));
  EXPECT_FALSE(has("vpu.requant", "b_type"));
  EXPECT_TRUE(has("sem.wait", "count"));
  EXPECT_TRUE(has("host.call", "id"));
  EXPECT_FALSE(has("nop", "id"));
  EXPECT_TRUE(has("vpu.pool", "pad_r"));
}

TEST(IsaTables, FieldNamesAndKindsComeFromTheXMacro) {
  EXPECT_EQ(field_info(FieldId::d_addr).name, "d_addr");
  EXPECT_EQ(field_info(FieldId::d_addr).bits, 40);
  EXPECT_EQ(field_info(FieldId::alpha).kind, FieldKind::F);
  EXPECT_EQ(field_info(FieldId::pad_t).kind, FieldKind::S);
  EXPECT_EQ(*field_by_name("mult"), FieldId::mult);
  EXPECT_FALSE(field_by_name("nosuch"));
}

TEST(IsaTables, EnumerationNamesRoundTrip) {
  for (EnumSet s : {EnumSet::Space, EnumSet::DType, EnumSet::Fn, EnumSet::Dataflow}) {
    auto vals = enum_values(s);
    EXPECT_FALSE(vals.empty());
    FieldId f = s == EnumSet::Space ? FieldId::a_space : s == EnumSet::DType ? FieldId::d_type
               : s == EnumSet::Fn  ? FieldId::fn : FieldId::df;
    EXPECT_EQ(enum_set_of(f), s);
    for (const auto& [v, n] : vals) {
      EXPECT_EQ(enum_value_name(f, v), n);
      EXPECT_EQ(*enum_value_from_name(f, n), v);
    }
  }
  EXPECT_EQ(fn_name(Fn::LeakyRelu), "leaky_relu");
  EXPECT_EQ(*fn_from_name("avgpool"), Fn::AvgPool);
  EXPECT_EQ(fn_name(Fn(31)), "");  // a hole in the numbering
  EXPECT_EQ(space_name(Space::Acc), "acc");
  EXPECT_EQ(*space_from_name("dram"), Space::Dram);
  EXPECT_EQ(dataflow_name(Dataflow::IS), "is");
  EXPECT_EQ(enum_value_name(FieldId::a_type, 14), "");  // no DType 14
  EXPECT_EQ(enum_value_name(FieldId::a_type, int64_t(DType::BF16)), "bf16");
}

TEST(IsaTables, QueueNames) {
  EXPECT_EQ(queue_name(0), "mxu");
  EXPECT_EQ(queue_name(1), "vpu");
  EXPECT_EQ(queue_name(2), "dma0");
  EXPECT_EQ(queue_name(5), "dma3");
  for (int q = 0; q < 40; ++q) EXPECT_EQ(*queue_from_name(queue_name(q)), q);
  EXPECT_FALSE(queue_from_name("dma"));
  EXPECT_FALSE(queue_from_name("dma01"));
  EXPECT_FALSE(queue_from_name("dmax"));
  EXPECT_TRUE(engine_runs_on_queue(Engine::Dma, 3));
  EXPECT_FALSE(engine_runs_on_queue(Engine::Dma, 1));
  EXPECT_FALSE(engine_runs_on_queue(Engine::Mxu, 1));
  EXPECT_TRUE(engine_runs_on_queue(Engine::Any, 7));
}

TEST(IsaTables, FieldValueRanges) {
  EXPECT_EQ(field_value_problem(FieldId::wait, 255), "");
  EXPECT_NE(field_value_problem(FieldId::wait, 256), "");
  EXPECT_NE(field_value_problem(FieldId::wait, -1), "");
  EXPECT_EQ(field_value_problem(FieldId::pad_t, -128), "");
  EXPECT_NE(field_value_problem(FieldId::pad_t, -129), "");
  EXPECT_NE(field_value_problem(FieldId::pad_t, 128), "");
  EXPECT_EQ(field_value_problem(FieldId::d_addr, double(kNoAddr)), "");
  EXPECT_NE(field_value_problem(FieldId::d_addr, double(kNoAddr) + 1), "");
  EXPECT_NE(field_value_problem(FieldId::n0, 1.5), "");
  EXPECT_NE(field_value_problem(FieldId::fn, 31), "");
  std::string msg = field_value_problem(FieldId::acc, 2);
  EXPECT_NE(msg.find("acc"), std::string::npos) << msg;
  EXPECT_NE(msg.find("0..1"), std::string::npos) << msg;
}

TEST(IsaTables, GetSetFieldCoverEveryMember) {
  Instr in;
  for (int f = 0; f < kNumFields; ++f) set_field(in, FieldId(f), f + 1);
  for (int f = 0; f < kNumFields; ++f) EXPECT_EQ(get_field(in, FieldId(f)), f + 1);
  EXPECT_EQ(in.wait, 1);
  EXPECT_EQ(in.mult, kNumFields);
  set_field(in, FieldId::alpha, 0.25);
  EXPECT_EQ(in.alpha, 0.25f);
  set_field(in, FieldId::c_addr, double(kNoAddr));
  EXPECT_EQ(uint64_t(in.c_addr), kNoAddr);
}
