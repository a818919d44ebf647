// Assembly text: the hand-written programs, exact round trips text <-> binary, coverage of
// the whole opcode table, and error messages with file:line:column.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "core/error.h"
#include "isa/assembler.h"
#include "isa/encoding.h"
#include "isa/loadable.h"
#include "test_util.h"

using namespace cardsim;
using namespace cardsim::isa;

namespace {

std::vector<std::string> program_files() {
  std::vector<std::string> out;
  for (auto& e : std::filesystem::directory_iterator(isa_test::programs_dir()))
    if (e.path().extension() == ".s") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string asm_error(const std::string& text) {
  try {
    assemble(text, "t.s");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Format);
    return e.what();
  }
  return "(no error)";
}

const std::string kHead = ".isa 1\n.queue dma0\n";  // lines 1-2

}  // namespace

TEST(Assembler, ProgramsRoundTripByteForByte) {
  auto files = program_files();
  ASSERT_GE(files.size(), 3u);
  for (const std::string& f : files) {
    SCOPED_TRACE(f);
    Program p = assemble(isa_test::read_text(f), f);
    std::vector<uint8_t> b1 = serialize_program(p);
    Program parsed = parse_program(b1.data(), b1.size(), f);
    EXPECT_EQ(serialize_program(parsed), b1);  // (Program == is false for NaN fields)
    std::string t1 = disassemble(parsed);
    Program p2 = assemble(t1, f + ".dis");
    EXPECT_EQ(serialize_program(p2), b1);
    EXPECT_EQ(disassemble(p2), t1);  // stable
  }
}

TEST(Assembler, ProgramsCoverEveryOpcodeAndField) {
  // For every opcode, every field it carries (wait/signal/layer included) is non-zero in
  // some instruction of that opcode: each bit position is exercised by a round trip.
  std::map<Opcode, std::set<FieldId>> nonzero;
  std::set<std::string> directives;
  for (const std::string& f : program_files()) {
    std::string text = isa_test::read_text(f);
    Program p = assemble(text, f);
    for (const auto& q : p.queues)
      for (const Instr& in : q) {
        auto& s = nonzero[in.op];
        for (const FieldSlot& slot : encoding_layout(in.op)) {
          double v = get_field(in, slot.field);
          bool nz = field_info(slot.field).kind == FieldKind::F ? std::bit_cast<uint32_t>(float(v)) != 0 : v != 0;
          if (nz) s.insert(slot.field);
        }
      }
    for (const char* d : {".isa", ".semaphores", ".footprint", ".meta", ".input", ".output", ".region", ".layer",
                          ".hostop", ".hostin", ".hostout", ".queue", ".constants", ".data"})
      if (text.find(std::string("\n") + d + " ") != std::string::npos) directives.insert(d);
  }
  for (int o = 0; o < kNumOpcodes; ++o) {
    const OpcodeInfo& oi = opcode_info(Opcode(o));
    ASSERT_TRUE(nonzero.count(oi.op)) << "no program uses " << oi.mnemonic;
    for (const FieldSlot& slot : encoding_layout(oi.op))
      EXPECT_TRUE(nonzero[oi.op].count(slot.field))
          << oi.mnemonic << "." << field_info(slot.field).name << " is never non-zero in tests/isa/programs";
  }
  EXPECT_EQ(directives.size(), 14u);
}

TEST(Assembler, AllOpcodesProgramValues) {
  std::string f = isa_test::programs_dir() + "/all_opcodes.s";
  Program p = assemble(isa_test::read_text(f), f);
  EXPECT_EQ(p.num_semaphores, 16u);
  EXPECT_EQ(p.sram_bytes, 0x40000u);
  EXPECT_EQ(p.metadata.at("note"), std::string("tab\there, \"quoted\", byte \x01; not a comment # either"));
  ASSERT_EQ(p.inputs.size(), 1u);
  EXPECT_EQ(p.inputs[0], (TensorBinding{"image", DType::I8, {1, 3, 8, 8}, 0x1000, 0.0078125f, -1}));
  ASSERT_EQ(p.regions.size(), 5u);
  EXPECT_EQ(p.regions[1], (Region{"weights", Space::Dram, 0x100000, 0x10000, false}));
  ASSERT_EQ(p.host_ops.size(), 2u);
  EXPECT_EQ(p.host_ops[0].node.size(), 23u);  // 32 base64 characters, one '='
  EXPECT_TRUE(p.host_ops[1].node.empty());
  EXPECT_EQ(p.host_ops[1].outputs[0].dram_addr, 0x2200u);
  ASSERT_EQ(p.queues.size(), 4u);
  const Instr& conv = p.queues[0][1];
  EXPECT_EQ(conv.op, Opcode::MxuConv);
  EXPECT_EQ(conv.pad_l, -1);
  EXPECT_EQ(conv.df, int64_t(Dataflow::OS));
  EXPECT_EQ(conv.b_scale, 0.01f);
  EXPECT_EQ(p.queues[3][3].id, 0xdeadbeef);
  ASSERT_EQ(p.constants.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(p.constants[size_t(i)], i);
  EXPECT_EQ(p.constants_addr, 0x100000u);
}

TEST(Assembler, FloatEdgesSurviveExactly) {
  std::string f = isa_test::programs_dir() + "/float_edges.s";
  Program p = assemble(isa_test::read_text(f), f);
  const Instr& a = p.queues[1][0];
  EXPECT_TRUE(std::isinf(a.alpha) && a.alpha < 0);
  EXPECT_EQ(std::bit_cast<uint32_t>(a.a_scale), 1u);  // 1e-45 is the smallest subnormal
  const Instr& b = p.queues[1][1];
  EXPECT_EQ(std::bit_cast<uint32_t>(b.alpha), 0x7fc00000u);
  EXPECT_EQ(std::bit_cast<uint32_t>(b.beta), 0xffbfffffu);
  EXPECT_EQ(std::bit_cast<uint32_t>(b.d_scale), 0x80000000u);  // -0
  EXPECT_EQ(std::bit_cast<uint32_t>(p.inputs[0].scale), 0x80000000u);
  EXPECT_EQ(p.queues[1][2].b_scale, 0.30000001f);
  EXPECT_EQ(p.metadata.at("utf8"), "caf\xc3\xa9 \\ back");
  EXPECT_EQ(p.queues.size(), 6u);
  EXPECT_TRUE(p.queues[0].empty() && p.queues[2].empty() && p.queues[4].empty());
  std::vector<uint8_t> b1 = serialize_program(p);
  Program back = assemble(disassemble(parse_program(b1.data(), b1.size(), "x")), "y");
  EXPECT_EQ(std::bit_cast<uint32_t>(back.queues[1][1].beta), 0xffbfffffu);
}

TEST(Assembler, RandomProgramsRoundTrip) {
  std::mt19937_64 rng(4242);
  for (int iter = 0; iter < 20; ++iter) {
    Program p;
    p.num_semaphores = 256;
    p.queues.resize(2 + rng() % 4);
    for (size_t q = 0; q < p.queues.size(); ++q)
      for (int i = 0; i < 30; ++i) {
        Opcode op;
        do op = Opcode(rng() % kNumOpcodes);
        while (!engine_runs_on_queue(opcode_info(op).engine, int(q)));
        p.queues[q].push_back(isa_test::random_instr(rng, op));
      }
    for (int i = 0; i < int(rng() % 200); ++i) p.constants.push_back(uint8_t(rng()));
    p.metadata["k"] = std::string(1, char(rng() % 256)) + "\"\\\n\t";
    std::string t = disassemble(p);
    Program back = assemble(t, "rand.s");
    ASSERT_EQ(serialize_program(back), serialize_program(p)) << "iteration " << iter;
    ASSERT_EQ(back, p);
  }
}

TEST(Assembler, ErrorsNameFileLineAndColumn) {
  struct Case {
    std::string text, expect;
  };
  std::vector<Case> cases = {
      {kHead + "  dma.cpy n0=1\n", "t.s:3:3: unknown mnemonic 'dma.cpy'"},
      {kHead + "dma.copy n0=1 pad_t=2\n", "t.s:3:15: unknown field 'pad_t' for dma.copy"},
      {kHead + "dma.copy n0=16777216\n", "t.s:3:13: field n0 = 16777216 does not fit 24 unsigned bits (allowed 0..16777215)"},
      {kHead + "dma.copy n0=12x\n", "t.s:3:13: bad number '12x' for n0"},
      {kHead + "dma.copy d_scale=1.5.2\n", "t.s:3:18: bad number '1.5.2' for d_scale"},
      {kHead + "dma.copy d_space=flash\n", "t.s:3:18: unknown value 'flash' for d_space (expected one of: host dram sram acc)"},
      {kHead + "dma.copy n0\n", "t.s:3:10: expected field=value, got 'n0'"},
      {kHead + "dma.copy n0=1 n0=2\n", "t.s:3:15: field n0 given twice"},
      {kHead + "mxu.conv\n", "t.s:3:1: mxu.conv is a mxu instruction and cannot go on queue dma0"},
      {".isa 1\nnop\n", "t.s:2:1: nop outside a queue"},
      {".isa 2\n", "t.s:1:6: ISA version 2 is not supported"},
      {".isa 1\n.bogus 3\n", "t.s:2:1: unknown directive '.bogus'"},
      {".meta \"a\" \"unterminated\n", "t.s:1:11: string not closed"},
      {".input \"x\" i9 [1] 0x0 1 0\n", "t.s:1:12: unknown data type 'i9'"},
      {".input \"x\" i8 [1,,2] 0x0 1 0\n", "t.s:1:18: bad number '' for a shape dimension"},
      {".input \"x\" i8 [1] 0x0 1\n", "t.s:1:25: .input takes 6 arguments, got 5"},
      {".hostin f32 [1] 0x0\n", "t.s:1:1: .hostin must follow a .hostop"},
      {".constants 0x0 4\n.data AAEC!A==\n", "t.s:2:11: bad base64 data"},
      {".constants 0x0 4\n.data AAEC\n", "t.s:1:1: .constants declares 4 bytes but the .data lines that follow hold 3"},
      {".semaphores 4\n.queue vpu\n  nop wait=4\n", "t.s:3:3: wait = 4 but the program has 4 semaphores"},
      {".semaphores 300\n", "t.s:1:13: 300 semaphores: the encoding addresses at most 256"},
      {".queue dma\n", "t.s:1:8: unknown queue 'dma'"},
      {".region \"r\" dram 0x0 0x10 rx\n", "t.s:1:27: expected rw or ro, got 'rx'"},
  };
  for (const Case& c : cases) {
    std::string msg = asm_error(c.text);
    EXPECT_NE(msg.find(c.expect), std::string::npos) << "input:\n" << c.text << "message: " << msg;
  }
}

TEST(Assembler, CommentsAndDefaults) {
  Program p = assemble("# comment\n; another\n.queue dma0 # trailing\n  nop ; x\n\n  end\n", "c.s");
  ASSERT_EQ(p.queues.size(), 3u);
  EXPECT_TRUE(p.queues[0].empty());
  ASSERT_EQ(p.queues[2].size(), 2u);
  EXPECT_EQ(p.queues[2][1].op, Opcode::End);
  EXPECT_EQ(p.num_semaphores, 64u);
  // c_addr=none is the "no parameters" address.
  Program q = assemble(".queue vpu\nvpu.requant c_addr=none b_addr=0xffffffffff\n", "n.s");
  EXPECT_EQ(uint64_t(q.queues[1][0].c_addr), kNoAddr);
  EXPECT_EQ(uint64_t(q.queues[1][0].b_addr), kNoAddr);
  EXPECT_NE(disassemble(q).find("b_addr=none"), std::string::npos);
}

TEST(Assembler, MutatedTextFailsCleanlyOrAssembles) {
  std::string base = isa_test::read_text(isa_test::programs_dir() + "/all_opcodes.s");
  std::mt19937_64 rng(31337);
  const char alphabet[] = " =\"\\#;.,[]-0x19afAz\n";
  int ok = 0, rejected = 0;
  for (int iter = 0; iter < 1500; ++iter) {
    std::string t = base;
    int edits = 1 + int(rng() % 3);
    for (int k = 0; k < edits; ++k) {
      size_t at = rng() % t.size();
      switch (rng() % 3) {
        case 0: t[at] = alphabet[rng() % (sizeof alphabet - 1)]; break;
        case 1: t.erase(at, 1 + rng() % 5); break;
        default: t.insert(at, 1, alphabet[rng() % (sizeof alphabet - 1)]); break;
      }
    }
    try {
      Program p = assemble(t, "m.s");
      // Whatever assembled must survive the binary round trip.
      std::vector<uint8_t> b = serialize_program(p);
      EXPECT_EQ(serialize_program(parse_program(b.data(), b.size(), "m")), b);
      ++ok;
    } catch (const Error& e) {
      std::string msg = e.what();
      ASSERT_EQ(msg.rfind("m.s:", 0), 0u) << msg;  // always located
      ++rejected;
    }
  }
  EXPECT_GT(ok, 0);
  EXPECT_GT(rejected, 0);
}
