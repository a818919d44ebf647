// Instruction encoding: hand-computed layouts, seeded random round trips, range errors.
#include <gtest/gtest.h>

#include "core/error.h"
#include "isa/encoding.h"
#include "test_util.h"

using namespace cardsim;
using namespace cardsim::isa;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Independent LSB-first bit reader.
uint64_t bits_at(const std::vector<uint8_t>& b, int pos, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= uint64_t((b[size_t((pos + i) / 8)] >> ((pos + i) % 8)) & 1) << i;
  return v;
}

}  // namespace

TEST(Encoding, SemSignalByHand) {
  // opcode | wait | signal | layer (16) | sem (8) | count (16): exactly 64 bits.
  Instr in;
  in.op = Opcode::SemSignal;
  in.wait = 1;
  in.signal = 2;
  in.layer = 0x1234;
  in.sem = 3;
  in.count = 0xABCD;
  std::vector<uint8_t> expect = {0x03, 0x01, 0x02, 0x34, 0x12, 0x03, 0xCD, 0xAB};
  EXPECT_EQ(encode(in), expect);
}

TEST(Encoding, NopIsPaddedToEightBytes) {
  Instr in;
  in.op = Opcode::Nop;
  in.layer = 7;
  std::vector<uint8_t> expect = {0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00};
  EXPECT_EQ(encode(in), expect);
  EXPECT_EQ(encoded_size(Opcode::End), 8u);
}

TEST(Encoding, OddWidthFieldsShareBytes) {
  // mxu.conv: df (2 bits) at bit 40, acc (1) at 42, dtype (5) at 43 -> byte 5 = df | acc<<2 | dtype<<3.
  Instr in;
  in.op = Opcode::MxuConv;
  in.df = int64_t(Dataflow::OS);
  in.acc = 1;
  in.dtype = int64_t(DType::I32);  // 6
  in.in_c = 0x0102;                // u16 at bit 48
  std::vector<uint8_t> b = encode(in);
  EXPECT_EQ(b[0], uint8_t(Opcode::MxuConv));
  EXPECT_EQ(b[5], uint8_t(1 | 1 << 2 | 6 << 3));
  EXPECT_EQ(b[6], 0x02);
  EXPECT_EQ(b[7], 0x01);
  EXPECT_EQ(b.size() % 8, 0u);
}

TEST(Encoding, SignedAndFloatFieldsByHand) {
  Instr in;
  in.op = Opcode::DmaFill;  // n0..n3 (4x24) from bit 40, then d_space (2) at 136, d_addr (40) at 138
  in.n0 = 0xFFFFFF;
  in.d_space = int64_t(Space::Sram);
  in.d_addr = 0x123456789A;
  in.d_s0 = -2;
  in.alpha = -1.5f;
  std::vector<uint8_t> b = encode(in);
  EXPECT_EQ(bits_at(b, 40, 24), 0xFFFFFFu);
  EXPECT_EQ(bits_at(b, 136, 2), 2u);
  EXPECT_EQ(bits_at(b, 138, 40), 0x123456789Au);
  // d_type (5) at 178, d_s0 (s32) at 183: two's complement.
  EXPECT_EQ(bits_at(b, 183, 32), 0xFFFFFFFEu);
  // alpha is the last field: f32 bits of -1.5 = 0xBFC00000.
  const auto& layout = encoding_layout(Opcode::DmaFill);
  ASSERT_EQ(layout.back().field, FieldId::alpha);
  EXPECT_EQ(bits_at(b, layout.back().bit_offset, 32), 0xBFC00000u);
}

TEST(Encoding, RandomInstructionsRoundTrip) {
  std::mt19937_64 rng(20261122);
  for (int iter = 0; iter < 3000; ++iter) {
    Opcode op = Opcode(rng() % kNumOpcodes);
    Instr in = isa_test::random_instr(rng, op);
    std::vector<uint8_t> b = encode(in);
    ASSERT_EQ(b.size(), encoded_size(op));
    // Each field sits where the layout says, read back by an independent bit reader.
    for (const FieldSlot& s : encoding_layout(op)) {
      const FieldInfo& fi = field_info(s.field);
      uint64_t raw = bits_at(b, s.bit_offset, fi.bits);
      double v = get_field(in, s.field);
      if (fi.kind == FieldKind::F)
        ASSERT_EQ(raw, std::bit_cast<uint32_t>(float(v))) << fi.name;
      else if (fi.kind == FieldKind::S)
        ASSERT_EQ(raw, uint64_t(int64_t(v)) & ((1ull << fi.bits) - 1)) << fi.name;
      else
        ASSERT_EQ(raw, uint64_t(v)) << fi.name;
    }
    size_t off = 0;
    Instr back = decode(b.data(), b.size(), off);
    ASSERT_EQ(off, b.size());
    ASSERT_EQ(back, in) << opcode_info(op).mnemonic << " iteration " << iter;
  }
}

TEST(Encoding, RandomBytesEitherDecodeCanonicallyOrFailCleanly) {
  std::mt19937_64 rng(7);
  int decoded = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<uint8_t> b(size_t(8 + rng() % 64));
    for (auto& x : b) x = uint8_t(rng());
    b[0] = uint8_t(rng() % (kNumOpcodes + 2));
    size_t off = 0;
    try {
      Instr in = decode(b.data(), b.size(), off);
      std::vector<uint8_t> again = encode(in);
      ASSERT_EQ(again, std::vector<uint8_t>(b.begin(), b.begin() + long(off)));
      ++decoded;
    } catch (const Error& e) {
      ASSERT_EQ(e.kind(), ErrorKind::Format);
    }
  }
  EXPECT_GT(decoded, 0);
}

TEST(Encoding, OutOfRangeFieldNamesInstructionFieldValueAndRange) {
  Instr in;
  in.op = Opcode::DmaCopy;
  in.n0 = 1 << 24;
  std::string msg = error_of([&] { encode(in); });
  EXPECT_NE(msg.find("dma.copy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("n0"), std::string::npos) << msg;
  EXPECT_NE(msg.find("16777216"), std::string::npos) << msg;
  EXPECT_NE(msg.find("0..16777215"), std::string::npos) << msg;

  in.n0 = 1;
  in.pad_t = 1;  // not a dma.copy field: would be dropped silently
  msg = error_of([&] { encode(in); });
  EXPECT_NE(msg.find("pad_t"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no such field"), std::string::npos) << msg;

  Instr neg;
  neg.op = Opcode::VpuPool;
  neg.pad_l = -129;
  msg = error_of([&] { encode(neg); });
  EXPECT_NE(msg.find("pad_l = -129"), std::string::npos) << msg;
  EXPECT_NE(msg.find("-128..127"), std::string::npos) << msg;

  Instr badenum;
  badenum.op = Opcode::VpuUnary;
  badenum.fn = 31;
  msg = error_of([&] { encode(badenum); });
  EXPECT_NE(msg.find("fn = 31"), std::string::npos) << msg;
  EXPECT_NE(msg.find("relu=1"), std::string::npos) << msg;

  Instr w;
  w.op = Opcode::Nop;
  w.wait = 256;
  msg = error_of([&] { encode(w); });
  EXPECT_NE(msg.find("nop: field wait = 256"), std::string::npos) << msg;
}

TEST(Encoding, DecodeErrorsNameTheByteOffset) {
  Instr a;  // a nop: 8 bytes
  a.layer = 5;
  std::vector<uint8_t> b = encode(a);
  b.push_back(0x7F);  // unknown opcode at byte 8
  for (int i = 0; i < 7; ++i) b.push_back(0);
  size_t off = 0;
  EXPECT_EQ(decode(b.data(), b.size(), off), a);
  std::string msg = error_of([&] { decode(b.data(), b.size(), off); });
  EXPECT_NE(msg.find("byte offset 8"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown opcode 0x7f"), std::string::npos) << msg;

  std::vector<uint8_t> c = encode(a);
  Instr copy;
  copy.op = Opcode::DmaCopy;
  std::vector<uint8_t> cc = encode(copy);
  c.insert(c.end(), cc.begin(), cc.end() - 3);  // truncated dma.copy at byte 8
  off = 8;
  msg = error_of([&] { decode(c.data(), c.size(), off); });
  EXPECT_NE(msg.find("byte offset 8"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated dma.copy"), std::string::npos) << msg;
  EXPECT_NE(msg.find(std::to_string(encoded_size(Opcode::DmaCopy)) + " bytes"), std::string::npos) << msg;

  // Invalid enumeration value: fn of vpu.unary at byte 5 = 31 (no such function).
  Instr u;
  u.op = Opcode::VpuUnary;
  std::vector<uint8_t> ub = encode(u);
  ub[5] = 31;
  off = 0;
  msg = error_of([&] { decode(ub.data(), ub.size(), off); });
  EXPECT_NE(msg.find("fn = 31"), std::string::npos) << msg;

  // Non-zero padding after the last field.
  std::vector<uint8_t> nb = encode(Instr{});
  nb[7] = 1;
  off = 0;
  msg = error_of([&] { decode(nb.data(), nb.size(), off); });
  EXPECT_NE(msg.find("padding"), std::string::npos) << msg;
}
