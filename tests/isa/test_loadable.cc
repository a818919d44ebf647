// The .cbin loadable: round trip, layout checked against the documented format, and every
// class of bad input rejected with a message that says where and what.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "core/error.h"
#include "isa/encoding.h"
#include "isa/loadable.h"
#include "test_util.h"

using namespace cardsim;
using namespace cardsim::isa;
using isa_test::get32;
using isa_test::get64;
using isa_test::put32;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

Program sample_program() {
  Program p;
  p.num_semaphores = 32;
  p.constants_addr = 0x100000;
  for (int i = 0; i < 300; ++i) p.constants.push_back(uint8_t(i * 7));
  p.inputs.push_back({"image", DType::I8, {1, 3, 8, 8}, 0x1000, 0.0078125f, -1});
  p.outputs.push_back({"logits", DType::F32, {1, 10}, 0x2000, 0.0f, 0});
  p.regions.push_back({"weights", Space::Dram, 0x100000, 0x10000, false});
  p.regions.push_back({"scratch", Space::Sram, 0, 0x4000, true});
  p.layers.push_back({"conv1", "Conv", 27648, "card"});
  p.layers.push_back({"softmax", "Softmax", 0, "host"});
  HostOp h;
  h.op_type = "Softmax";
  h.node = {1, 2, 3, 0, 255};
  h.inputs.push_back({DType::F32, {1, 10}, 0x2000});
  h.outputs.push_back({DType::F32, {1, 10}, 0x2100});
  p.host_ops.push_back(h);
  p.metadata["precision"] = "int8";
  p.metadata["model_sha256"] = "abc";
  p.dram_bytes = 0x200000;
  p.sram_bytes = 0x4000;
  p.acc_bytes = 0x1000;
  std::mt19937_64 rng(99);
  p.queues.resize(4);
  for (int q = 0; q < 4; ++q) {
    for (int i = 0; i < 20; ++i) {
      Opcode op;
      do op = Opcode(rng() % kNumOpcodes);
      while (!engine_runs_on_queue(opcode_info(op).engine, q));
      Instr in = isa_test::random_instr(rng, op);
      in.wait %= 32;
      in.signal %= 32;
      if (op == Opcode::SemWait || op == Opcode::SemSignal) in.sem %= 32;
      p.queues[size_t(q)].push_back(in);
    }
    p.queues[size_t(q)].push_back(Instr{Opcode::End});
  }
  return p;
}

struct SectionEntry {
  uint32_t kind, index;
  uint64_t offset, size;
};
std::vector<SectionEntry> section_table(const std::vector<uint8_t>& b) {
  std::vector<SectionEntry> out;
  uint32_t n = get32(b, 12);
  for (uint32_t i = 0; i < n; ++i) {
    size_t e = 24 + 32 * i;
    out.push_back({get32(b, e), get32(b, e + 4), get64(b, e + 8), get64(b, e + 16)});
  }
  return out;
}

// Recompute every checksum after a deliberate edit, so a test reaches the check behind them.
void fix_checksums(std::vector<uint8_t>& b) {
  uint32_t n = get32(b, 12);
  for (uint32_t i = 0; i < n; ++i) {
    size_t e = 24 + 32 * i;
    put32(b, e + 24, isa_test::crc32_reference(b.data() + get64(b, e + 8), get64(b, e + 16)));
  }
  size_t hdr = 24 + 32 * size_t(n);
  put32(b, hdr, isa_test::crc32_reference(b.data(), hdr));
}

}  // namespace

TEST(Loadable, RoundTripAndDeterminism) {
  Program p = sample_program();
  std::vector<uint8_t> b = serialize_program(p);
  EXPECT_EQ(serialize_program(p), b);
  Program back = parse_program(b.data(), b.size(), "mem");
  EXPECT_EQ(back, p);
  EXPECT_EQ(serialize_program(back), b);
  // The empty program too.
  Program empty;
  auto eb = serialize_program(empty);
  EXPECT_EQ(parse_program(eb.data(), eb.size(), "empty"), empty);
}

TEST(Loadable, LayoutMatchesTheSpec) {
  Program p = sample_program();
  std::vector<uint8_t> b = serialize_program(p);
  EXPECT_EQ(std::string(b.begin(), b.begin() + 4), "CBIN");
  EXPECT_EQ(get32(b, 4), kLoadableFormatVersion);
  EXPECT_EQ(get32(b, 8), kIsaVersion);
  EXPECT_EQ(get64(b, 16), b.size());
  uint32_t n = get32(b, 12);
  size_t hdr = 24 + 32 * size_t(n);
  EXPECT_EQ(get32(b, hdr), isa_test::crc32_reference(b.data(), hdr));
  uint64_t expect_offset = hdr + 8;
  int code_sections = 0;
  for (const auto& s : section_table(b)) {
    EXPECT_EQ(s.offset, expect_offset);  // contiguous
    expect_offset += s.size;
    if (s.kind == 2) {
      ++code_sections;
      // The code section is exactly the concatenated encodings of that queue.
      std::vector<uint8_t> code;
      for (const Instr& in : p.queues[s.index]) encode_into(in, code);
      EXPECT_EQ(std::vector<uint8_t>(b.begin() + long(s.offset), b.begin() + long(s.offset + s.size)), code);
    }
    if (s.kind == 3) {  // constants: u64 address then the bytes
      EXPECT_EQ(get64(b, s.offset), p.constants_addr);
      EXPECT_EQ(s.size, 8 + p.constants.size());
    }
  }
  EXPECT_EQ(code_sections, 4);
  EXPECT_EQ(expect_offset, b.size());
  // CRC-32 check value of "123456789" is 0xCBF43926: the reference implementation is right.
  const char* check = "123456789";
  EXPECT_EQ(isa_test::crc32_reference(reinterpret_cast<const uint8_t*>(check), 9), 0xCBF43926u);
}

TEST(Loadable, EveryFlippedByteIsDetectedAndNamesItsSection) {
  Program p = sample_program();
  std::vector<uint8_t> b = serialize_program(p);
  auto table = section_table(b);
  size_t header_end = table.front().offset;
  const char* names[] = {"", "program", "code", "constants", "tensors", "regions", "layers", "hostops", "metadata",
                         "footprint"};
  for (size_t i = 0; i < b.size(); ++i) {
    std::vector<uint8_t> c = b;
    c[i] ^= 0x10;
    std::string msg = error_of([&] { parse_program(c.data(), c.size(), "flip.cbin"); });
    ASSERT_NE(msg, "(no error)") << "flipped byte " << i << " went unnoticed";
    ASSERT_EQ(msg.rfind("flip.cbin: ", 0), 0u) << msg;
    if (i >= header_end) {
      for (const auto& s : table)
        if (i >= s.offset && i < s.offset + s.size) {
          ASSERT_NE(msg.find(fmt::format("checksum mismatch in section '{}", names[s.kind])), std::string::npos)
              << "byte " << i << ": " << msg;
        }
    } else if (i >= 24) {
      // The section table and header tail: the header checksum / reserved-zero check.
      ASSERT_NE(msg.find("header"), std::string::npos) << "byte " << i << ": " << msg;
    }
  }
}

TEST(Loadable, TruncationIsReportedWithSizes) {
  std::vector<uint8_t> b = serialize_program(sample_program());
  for (size_t len : {size_t(0), size_t(3), size_t(10), size_t(30), b.size() / 2, b.size() - 1}) {
    std::string msg = error_of([&] { parse_program(b.data(), len, "t.cbin"); });
    if (len < 4) {
      EXPECT_NE(msg.find("magic"), std::string::npos) << msg;
    } else {
      EXPECT_NE(msg.find("truncated"), std::string::npos) << len << ": " << msg;
    }
  }
  std::string msg = error_of([&] { parse_program(b.data(), b.size() - 1, "t.cbin"); });
  EXPECT_NE(msg.find(fmt::format("file is {} bytes, header says {}", b.size() - 1, b.size())), std::string::npos)
      << msg;
}

TEST(Loadable, WrongMagicAndVersion) {
  std::vector<uint8_t> b = serialize_program(sample_program());
  std::vector<uint8_t> c = b;
  c[0] = 'X';
  std::string msg = error_of([&] { parse_program(c.data(), c.size(), "m.cbin"); });
  EXPECT_NE(msg.find("not a cardsim loadable: magic is 'XBIN', expected 'CBIN'"), std::string::npos) << msg;

  c = b;
  put32(c, 4, 2);
  msg = error_of([&] { parse_program(c.data(), c.size(), "v.cbin"); });
  EXPECT_NE(msg.find("unsupported loadable format version 2 (this cardsim reads version 1)"), std::string::npos)
      << msg;

  c = b;
  put32(c, 8, 9);  // ISA version
  fix_checksums(c);
  msg = error_of([&] { parse_program(c.data(), c.size(), "v.cbin"); });
  EXPECT_NE(msg.find("ISA version 9 is not supported"), std::string::npos) << msg;
}

TEST(Loadable, UnknownOpcodeNamesQueueAndOffset) {
  Program p;
  p.queues.resize(3);
  Instr nop;
  p.queues[2] = {nop, nop, Instr{Opcode::End}};
  std::vector<uint8_t> b = serialize_program(p);
  for (const auto& s : section_table(b))
    if (s.kind == 2 && s.index == 2) b[s.offset + 16] = 0xEE;  // third instruction of dma0
  fix_checksums(b);
  std::string msg = error_of([&] { parse_program(b.data(), b.size(), "op.cbin"); });
  EXPECT_NE(msg.find("section 'code[dma0]'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("byte offset 16"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown opcode 0xee"), std::string::npos) << msg;
}

TEST(Loadable, MalformedSectionContentsAreBoundsChecked) {
  Program p = sample_program();
  std::vector<uint8_t> b = serialize_program(p);
  for (const auto& s : section_table(b))
    if (s.kind == 4) put32(b, s.offset, 0x7FFFFFFF);  // absurd input count
  fix_checksums(b);
  std::string msg = error_of([&] { parse_program(b.data(), b.size(), "s.cbin"); });
  EXPECT_NE(msg.find("section 'tensors'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("input count 2147483647"), std::string::npos) << msg;
}

TEST(Loadable, SerializeRejectsBadPrograms) {
  Program p;
  p.queues.resize(3);
  p.queues[0].push_back(Instr{Opcode::DmaCopy});
  std::string msg = error_of([&] { serialize_program(p); });
  EXPECT_NE(msg.find("queue mxu instruction 0 (dma.copy): a dma instruction cannot run on queue mxu"),
            std::string::npos)
      << msg;
  p.queues[0].clear();
  Instr w;
  w.wait = 64;
  p.queues[2].push_back(w);
  msg = error_of([&] { serialize_program(p); });
  EXPECT_NE(msg.find("wait = 64 is not a semaphore of this program (0..63)"), std::string::npos) << msg;
  p.queues[2][0].wait = 1;
  p.queues[2][0].n0 = 5;
  msg = error_of([&] { serialize_program(p); });
  EXPECT_NE(msg.find("queue dma0 instruction 0: encode nop: field n0 = 5 is set"), std::string::npos) << msg;
}

TEST(Loadable, FilesAreWrittenAtomically) {
  auto dir = std::filesystem::temp_directory_path() / fmt::format("cardsim_isa_test_{}", ::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string path = (dir / "p.cbin").string();
  Program p = sample_program();
  // An existing (longer) file is replaced as a whole.
  {
    std::ofstream f(path, std::ios::binary);
    f << std::string(100000, 'x');
  }
  write_loadable(p, path);
  EXPECT_EQ(read_loadable(path), p);
  EXPECT_EQ(std::filesystem::file_size(path), serialize_program(p).size());
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) ++files, (void)e;
  EXPECT_EQ(files, 1) << "temporary file left behind";

  // A program that cannot be serialized leaves the old file untouched.
  Program bad = p;
  bad.queues[0].push_back(Instr{Opcode::DmaFill});
  EXPECT_THROW(write_loadable(bad, path), Error);
  EXPECT_EQ(read_loadable(path), p);

  std::string missing = (dir / "no" / "such" / "dir.cbin").string();
  try {
    write_loadable(p, missing);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  try {
    read_loadable(missing);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
  }
  std::filesystem::remove_all(dir);
}

TEST(Loadable, MutatedFilesFailCleanlyOrParse) {
  // Random corruption behind valid checksums exercises the content checks: the reader must
  // either produce a program that re-serializes to the same bytes or throw Error(Format).
  Program p = sample_program();
  const std::vector<uint8_t> b = serialize_program(p);
  auto table = section_table(b);
  std::mt19937_64 rng(123);
  int parsed = 0, rejected = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    std::vector<uint8_t> c = b;
    const auto& s = table[rng() % table.size()];
    if (s.size == 0) continue;
    int flips = 1 + int(rng() % 4);
    for (int k = 0; k < flips; ++k) c[s.offset + rng() % s.size] ^= uint8_t(1u << (rng() % 8));
    fix_checksums(c);
    try {
      Program q = parse_program(c.data(), c.size(), "fuzz");
      std::vector<uint8_t> again = serialize_program(q);
      if (again != c) {
        size_t at = 0;
        while (at < c.size() && at < again.size() && c[at] == again[at]) ++at;
        ADD_FAILURE() << "non-canonical file accepted: section kind " << s.kind << " index " << s.index
                      << ", first difference at byte " << at;
      }
      ++parsed;
    } catch (const Error& e) {
      ASSERT_EQ(e.kind(), ErrorKind::Format) << e.what();
      ++rejected;
    }
  }
  EXPECT_GT(parsed, 0);
  EXPECT_GT(rejected, 0);
}
