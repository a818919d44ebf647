// Address mapping decode, trace parsing (both formats, bad lines) and the replay summary.
#include <gtest/gtest.h>

#include <sstream>

#include "core/error.h"
#include "models/dram/replay.h"

using namespace cardsim;
using namespace cardsim::dram;

namespace {
DramConfig ddr4_2rank(const std::string& mapping) {
  DramConfig c = typical_config("DDR4", "DDR4_3200");
  c.ranks = 2;
  c.capacity_bytes = 16ull << 30;
  c.address_mapping = mapping;
  return c;
}
}  // namespace

TEST(DramMapping, RoBaRaCoChIsRowMajor) {
  // 64 B bursts: 6 offset bits, then Co (8 KiB row / 64 B = 7 bits), Ra (1), Ba (4: bank
  // group in the low 2), Ro.
  AddressMapping m(ddr4_2rank("RoBaRaCoCh"), 64);
  EXPECT_EQ(m.rows(), (16ull << 30) / (2 * 16 * 8192));
  DramCoord c = m.decode(0x40);
  EXPECT_EQ(c.column, 1u);
  EXPECT_EQ(c.rank, 0);
  c = m.decode(8192);
  EXPECT_EQ(c.column, 0u);
  EXPECT_EQ(c.rank, 1);
  c = m.decode(16384);  // Ba = 1: bank group 1, bank 0 (bank groups interleave first)
  EXPECT_EQ(c.rank, 0);
  EXPECT_EQ(c.bank_group, 1);
  EXPECT_EQ(c.bank, 0);
  c = m.decode(16384ull * 4);  // Ba = 4: bank group 0, bank 1
  EXPECT_EQ(c.bank_group, 0);
  EXPECT_EQ(c.bank, 1);
  c = m.decode(16384ull * 16);  // next row
  EXPECT_EQ(c.row, 1u);
  EXPECT_EQ(c.bank, 0);
  c = m.decode(0x3f);  // offset bits only
  EXPECT_EQ(c.column, 0u);
}

TEST(DramMapping, SeparateBankGroupFieldAndDramsim3Spelling) {
  AddressMapping a(ddr4_2rank("RoRaBaCoBgCh"), 64);
  EXPECT_EQ(a.decode(64).bank_group, 1);
  EXPECT_EQ(a.decode(256).column, 1u);
  EXPECT_EQ(a.decode(256).bank_group, 0);
  EXPECT_EQ(a.decode(1ull << 15).bank, 1);
  // DRAMSim3 lower-case form of the same order.
  AddressMapping b(ddr4_2rank("rorabacobgch"), 64);
  for (uint64_t x : {0ull, 64ull, 4096ull, 123456789ull * 64})
    EXPECT_EQ(a.decode(x).bank, b.decode(x).bank) << x;
}

TEST(DramMapping, ChannelBitsLowestSpreadConsecutiveBursts) {
  DramConfig c;
  c.standard = "HBM2";
  c.speed_grade = "HBM2_2000";
  c.channels = 8;
  c.bus_width_bits = 128;
  c.row_bytes = 1024;
  c.capacity_bytes = 8ull << 30;
  c.address_mapping = "RoBaRaCoCh";
  DramModel m(c);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(m.channel_of(uint64_t(i) * 64), i % 8);
}

TEST(DramTrace, ParsesDramsim3AndRamulator) {
  std::istringstream d("0x1aa9e6600 READ 400\n# comment\n\n0x40 WRITE 410\n");
  auto r = parse_trace(d, "a.trace", TraceFormat::Auto, 0.5);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].addr, 0x1aa9e6600ull);
  EXPECT_FALSE(r[0].is_write);
  EXPECT_DOUBLE_EQ(r[0].arrive_ns, 200.0);  // cycle 400 at tCK 0.5 ns
  EXPECT_TRUE(r[1].is_write);
  EXPECT_DOUBLE_EQ(r[1].arrive_ns, 205.0);

  std::istringstream ram("LD 0x1000\nST 0x2040\n");
  auto q = parse_trace(ram, "b.trace", TraceFormat::Auto, 0.5);
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[1].addr, 0x2040u);
  EXPECT_TRUE(q[1].is_write);
  EXPECT_DOUBLE_EQ(q[1].arrive_ns, 0.0);
}

TEST(DramTrace, BadLinesNameFileAndLine) {
  const char* bad[] = {
      "0x100 READ 1\n0x200 FETCH 2\n",  // bad op on line 2
      "0x100 READ 1\nzzz READ 2\n",     // bad address
      "0x100 READ 1\n0x200 READ -4\n",  // bad cycle
      "0x100 READ 1\n0x200 READ\n",     // missing field
  };
  for (const char* text : bad) {
    std::istringstream in(text);
    try {
      parse_trace(in, "t.trace", TraceFormat::Auto, 1.0);
      FAIL() << "expected an error for: " << text;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Format);
      EXPECT_NE(std::string(e.what()).find("t.trace:2"), std::string::npos) << e.what();
    }
  }
  std::istringstream mixed("LD 0x100\n0x200 READ 3\n");
  EXPECT_THROW(parse_trace(mixed, "m.trace", TraceFormat::Auto, 1.0), Error);
  EXPECT_THROW(read_trace_file("/nonexistent/x.trace", TraceFormat::Auto, 1.0), Error);
  EXPECT_THROW(parse_trace_format("vcd"), Error);
}

TEST(DramTrace, GeneratedTraceRoundTripsAndReplays) {
  auto reqs = generate_pattern(Pattern::Random, 1000, 1ull << 30, 64, 5, 10.0, 0.25);
  // Deterministic for a seed; different seeds differ.
  auto again = generate_pattern(Pattern::Random, 1000, 1ull << 30, 64, 5, 10.0, 0.25);
  auto other = generate_pattern(Pattern::Random, 1000, 1ull << 30, 64, 6, 10.0, 0.25);
  EXPECT_EQ(reqs[500].addr, again[500].addr);
  EXPECT_NE(reqs[500].addr, other[500].addr);
  for (const auto& r : reqs) EXPECT_LT(r.addr, 1ull << 30);
  std::stringstream text;
  write_trace(text, reqs, TraceFormat::DRAMSim3, 0.625);
  auto parsed = parse_trace(text, "gen", TraceFormat::DRAMSim3, 0.625);
  ASSERT_EQ(parsed.size(), reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    EXPECT_EQ(parsed[i].addr, reqs[i].addr);
    EXPECT_EQ(parsed[i].is_write, reqs[i].is_write);
    EXPECT_NEAR(parsed[i].arrive_ns, reqs[i].arrive_ns, 0.32);
  }
  ReplayResult res = replay_requests(parsed, ddr4_2rank("RoRaBaCoBgCh"));
  EXPECT_EQ(res.requests, 1000u);
  EXPECT_EQ(res.reads + res.writes, 1000u);
  EXPECT_EQ(res.bytes, 64000u);
  EXPECT_GT(res.elapsed_ns, 9990.0);  // last arrival at 9990 ns
  EXPECT_NEAR(res.bandwidth_gbps, 64000.0 / res.elapsed_ns, 1e-9);
  EXPECT_LE(res.p50_latency_ns, res.p99_latency_ns);
  EXPECT_LE(res.p99_latency_ns, res.max_latency_ns);
  const std::string s = format_replay_result(res);
  EXPECT_NE(s.find("bandwidth"), std::string::npos);
  EXPECT_NE(s.find("p99"), std::string::npos);
}

TEST(DramTrace, RequestSizeIsValidated) {
  std::istringstream in("LD 0x0\n");
  EXPECT_THROW(parse_trace(in, "s.trace", TraceFormat::Auto, 1.0, 0), Error);
  DramModel m(ddr4_2rank("RoRaBaCoBgCh"));
  std::vector<Request> huge(1);
  huge[0].bytes = 0xffffffffu;
  EXPECT_THROW(m.serve(huge), Error);
  std::vector<Request> bad_time(1);
  bad_time[0].arrive_ns = -1;
  EXPECT_THROW(m.serve(bad_time), Error);
}
