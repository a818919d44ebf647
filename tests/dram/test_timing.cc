// DRAM timing against hand calculation. The configuration is a single DDR4-3200 rank with
// refresh off and no controller latency, so every figure below is a sum of table timings:
// tCK 0.625 ns, tRCD 22, CL 22, CWL 16, tRP 22, burst BL8/2 = 4 tCK, tRRD_S 4, tCCD_S 4.
#include <gtest/gtest.h>

#include "core/error.h"
#include "models/dram/dram_model.h"

using namespace cardsim;
using namespace cardsim::dram;

namespace {

constexpr double kTck = 0.625;

DramConfig one_rank(const std::string& mapping = "RoRaBaCoBgCh") {
  DramConfig c = typical_config("DDR4", "DDR4_3200");  // 1 rank, 4x4 banks, 8 KiB rows, 8 GiB
  c.address_mapping = mapping;
  c.refresh = false;
  c.controller_latency_ns = 0;
  return c;
}

// Address of (bank group, bank, row, column) under RoRaBaCoBgCh with 1 rank, 1 channel:
// 6 offset bits, 2 Bg bits, 7 Co bits, 2 Ba bits, then the row.
uint64_t addr(int bg, int bank, uint64_t row, uint64_t col = 0) {
  return (uint64_t(bg) << 6) | (col << 8) | (uint64_t(bank) << 15) | (row << 17);
}

Request read_at(uint64_t a, double t) {
  Request r;
  r.addr = a;
  r.arrive_ns = t;
  return r;
}

}  // namespace

TEST(DramSpeedGrades, TableValuesAndErrors) {
  const DramTiming t = find_speed_grade("DDR4", "DDR4_3200");  // DRAMSim3 DDR4_8Gb_x8_3200.ini
  EXPECT_EQ(t.CL, 22);
  EXPECT_EQ(t.tRCD, 22);
  EXPECT_EQ(t.tFAW, 34);
  EXPECT_EQ(t.tCCD_L, 8);
  EXPECT_EQ(t.tRFC, 560);
  EXPECT_DOUBLE_EQ(t.tCK_ns, 0.625);
  const DramTiming h = find_speed_grade("HBM2", "HBM2_2000");
  EXPECT_EQ(h.BL, 4);
  EXPECT_EQ(h.tRRD_L, 6);
  for (const auto& s : standards()) EXPECT_FALSE(speed_grades(s).empty()) << s;
  try {
    find_speed_grade("DDR4", "DDR4_9999");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Config);
    EXPECT_NE(std::string(e.what()).find("DDR4_3200"), std::string::npos) << e.what();
  }
  EXPECT_THROW(find_speed_grade("DDR9", "x"), Error);
}

TEST(DramModelTiming, PeakBandwidth) {
  EXPECT_NEAR(DramModel(one_rank()).peak_bandwidth_gbps(), 25.6, 1e-9);  // 64 B per 4 x 0.625 ns
}

TEST(DramModelTiming, ClosedBankReadIsRcdPlusClPlusBurst) {
  DramConfig c = one_rank();
  c.controller_latency_ns = 3;
  DramModel m(c);
  EXPECT_NEAR(m.access(addr(0, 0, 5), false, 0), 3 + (22 + 22 + 4) * kTck, 1e-9);
  EXPECT_NEAR(m.idle_latency_ns(), 3 + 48 * kTck, 1e-9);
}

TEST(DramModelTiming, RowHitAndRowConflict) {
  DramModel m(one_rank());
  m.access(addr(1, 2, 7), false, 0);
  // Same row, long after: CL + burst.
  EXPECT_NEAR(m.access(addr(1, 2, 7, 3), false, 1000) - 1000, (22 + 4) * kTck, 1e-9);
  // Other row, same bank: tRP + tRCD + CL + burst.
  EXPECT_NEAR(m.access(addr(1, 2, 8), false, 2000) - 2000, (22 + 22 + 22 + 4) * kTck, 1e-9);
  const ChannelStats s = m.channel_stats()[0];
  EXPECT_EQ(s.row_misses, 1u);
  EXPECT_EQ(s.row_hits, 1u);
  EXPECT_EQ(s.row_conflicts, 1u);
  EXPECT_EQ(s.activates, 2u);
  EXPECT_EQ(s.precharges, 1u);
}

TEST(DramModelTiming, SameBankGroupActivatesRespectTrrdL) {
  DramConfig c = one_rank();
  c.timing = find_speed_grade("DDR4", "DDR4_3200");
  c.timing.tRRD_L = 12;  // longer than tCCD_L (8) so the ACT spacing decides
  DramModel m(c);
  std::vector<Request> b{read_at(addr(0, 0, 1), 0), read_at(addr(0, 1, 1), 0)};
  m.serve(b);
  EXPECT_NEAR(b[0].done_ns, (22 + 22 + 4) * kTck, 1e-9);
  // Second ACT at 12, RD at 12 + 22, data CL + burst later.
  EXPECT_NEAR(b[1].done_ns, (12 + 22 + 22 + 4) * kTck, 1e-9);
}

TEST(DramModelTiming, FifthActivateWaitsForFaw) {
  DramConfig c = one_rank();
  c.timing = find_speed_grade("DDR4", "DDR4_3200");
  c.timing.tFAW = 40;
  DramModel m(c);
  // Four bank groups, then a second bank in group 0: ACTs at 0, 4, 8, 12 (tRRD_S), and the
  // fifth at tFAW = 40 after the first (not 16).
  std::vector<Request> b{read_at(addr(0, 0, 1), 0), read_at(addr(1, 0, 1), 0), read_at(addr(2, 0, 1), 0),
                         read_at(addr(3, 0, 1), 0), read_at(addr(0, 1, 1), 0)};
  m.serve(b);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(b[i].done_ns, (4 * i + 22 + 22 + 4) * kTck, 1e-9) << i;
  EXPECT_NEAR(b[4].done_ns, (40 + 22 + 22 + 4) * kTck, 1e-9);
}

TEST(DramModelTiming, RefreshBlocksForTrfc) {
  DramConfig c = one_rank();
  c.refresh = true;
  DramModel m(c);
  // One rank refreshes every tREFI = 12480 tCK (7800 ns); a read arriving exactly then waits
  // tRFC = 560 tCK before it can activate.
  const double t = 12480 * kTck;
  EXPECT_NEAR(m.access(addr(0, 0, 1), false, t) - t, (560 + 22 + 22 + 4) * kTck, 1e-9);
  EXPECT_EQ(m.channel_stats()[0].refreshes, 1u);
  // Before the first refresh is due nothing waits.
  DramModel fresh(c);
  EXPECT_NEAR(fresh.access(addr(0, 0, 1), false, 100), 100 + 48 * kTck, 1e-9);
}

TEST(DramModelTiming, RefreshClosesOpenRows) {
  DramConfig c = one_rank();
  c.refresh = true;
  DramModel m(c);
  m.access(addr(2, 3, 9), false, 0);
  const double t = 20000;  // after the refresh at 7800 ns: the row was closed, so a miss
  EXPECT_NEAR(m.access(addr(2, 3, 9, 1), false, t) - t, 48 * kTck, 1e-9);
}

TEST(DramModelTiming, WriteToReadTurnaround) {
  DramModel m(one_rank());
  Request w = read_at(addr(0, 0, 1), 0);
  w.is_write = true;
  std::vector<Request> b{w, read_at(addr(1, 0, 1), 0)};
  m.serve(b);
  // WR at 22: data 22+CWL .. +burst = 42. RD (other bank group) no earlier than
  // WR + CWL + burst + tWTR_S = 22 + 16 + 4 + 4 = 46; data CL + burst later.
  EXPECT_NEAR(b[0].done_ns, (22 + 16 + 4) * kTck, 1e-9);
  EXPECT_NEAR(b[1].done_ns, (46 + 22 + 4) * kTck, 1e-9);
}

TEST(DramModelTiming, FrFcfsServesRowHitBeforeOlderConflict) {
  for (const char* sched : {"FRFCFS", "FCFS"}) {
    DramConfig c = one_rank();
    c.scheduler = sched;
    DramModel m(c);
    m.access(addr(0, 0, 1), false, 0);  // row 1 open in bank (0,0)
    std::vector<Request> b{read_at(addr(0, 0, 2), 1000), read_at(addr(0, 0, 1, 5), 1000)};
    m.serve(b);
    if (std::string(sched) == "FRFCFS") {
      EXPECT_NEAR(b[1].done_ns - 1000, 26 * kTck, 1e-9);  // the hit goes first: CL + burst
      EXPECT_GT(b[0].done_ns, b[1].done_ns);
    } else {
      EXPECT_NEAR(b[0].done_ns - 1000, 70 * kTck, 1e-9);  // in order: the conflict first
      EXPECT_GT(b[1].done_ns, b[0].done_ns);
    }
  }
}

TEST(DramModelTiming, ClosedPagePolicyPrechargesAfterAccess) {
  DramConfig c = one_rank();
  c.page_policy = "closed";
  DramModel m(c);
  m.access(addr(0, 0, 1), false, 0);
  // Same row later: the row was closed after the first access, so ACT again (no tRP wait).
  EXPECT_NEAR(m.access(addr(0, 0, 1, 1), false, 1000) - 1000, 48 * kTck, 1e-9);
  EXPECT_EQ(m.channel_stats()[0].row_hits, 0u);
}

TEST(DramModelTiming, LargeRequestSplitsIntoBursts) {
  DramModel m(one_rank());
  std::vector<Request> b(1);
  b[0].addr = 0;
  b[0].bytes = 256;  // 4 bursts, one per bank group: ACTs 0,4,8,12; RD 22,26,30,34
  m.serve(b);
  EXPECT_EQ(m.channel_stats()[0].reads, 4u);
  EXPECT_EQ(m.channel_stats()[0].bytes_read, 256u);
  EXPECT_NEAR(b[0].done_ns, (34 + 22 + 4) * kTck, 1e-9);
  ASSERT_EQ(m.latency_samples_ns().size(), 1u);
  EXPECT_NEAR(m.latency_samples_ns()[0], b[0].done_ns, 1e-9);
}

TEST(DramModelTiming, BadConfigurationsAreErrors) {
  DramConfig c = one_rank();
  c.address_mapping = "RoXxCo";
  EXPECT_THROW(DramModel{c}, Error);
  c = one_rank();
  c.address_mapping = "RoBaCo";  // lacks Ch? 1 channel has 0 bits, so fine; lacks Ra: 1 rank, fine
  EXPECT_NO_THROW(DramModel{c});
  c.ranks = 2;
  EXPECT_THROW(DramModel{c}, Error);  // now Ra is needed
  c = one_rank();
  c.bank_groups = 3;
  EXPECT_THROW(DramModel{c}, Error);
  c = one_rank();
  c.page_policy = "sometimes";
  EXPECT_THROW(DramModel{c}, Error);
}

TEST(DramSpeedGrades, EveryGradeStreamsBelowPeakAndAboveHalf) {
  // Every table row must give a working model; a row-hit stream spread over bank groups
  // reaches most of the peak but never exceeds it.
  for (const auto& standard : standards()) {
    for (const auto& grade : speed_grades(standard)) {
      DramConfig c = typical_config(standard, grade, 2);
      c.address_mapping = c.bank_groups > 1 ? "RoRaBaCoBgCh" : "RoRaCoBaCh";
      DramModel m(c);
      const double idle = m.idle_latency_ns();
      EXPECT_GT(idle, 10.0) << grade;
      EXPECT_LT(idle, 60.0) << grade;
      std::vector<Request> reqs(20000);
      for (size_t i = 0; i < reqs.size(); ++i) {
        reqs[i].addr = i * m.burst_bytes();
        reqs[i].bytes = m.burst_bytes();
      }
      m.serve(reqs);
      double end = 0;
      for (const auto& r : reqs) end = std::max(end, r.done_ns);
      const double gbps = double(reqs.size() * m.burst_bytes()) / end;
      EXPECT_LE(gbps, m.peak_bandwidth_gbps() * 1.0000001) << grade;
      EXPECT_GT(gbps, 0.5 * m.peak_bandwidth_gbps()) << grade;
    }
  }
}

TEST(DramModelTiming, WindowPersistsAcrossCalls) {
  // A stream served one request per call keeps the controller's lookahead: the same finish
  // time as one big batch (the window admits a burst as soon as the burst 32 places ahead
  // issued), not one full access latency per request.
  DramConfig c = one_rank();
  c.refresh = true;
  std::vector<Request> all(20000);
  for (size_t i = 0; i < all.size(); ++i) all[i].addr = i * 64;
  std::vector<Request> one_by_one = all;
  DramModel a(c), b(c);
  a.serve(all);
  double end_one = 0;
  for (auto& r : one_by_one) {
    std::vector<Request> single{r};
    b.serve(single);
    end_one = std::max(end_one, single[0].done_ns);
  }
  double end_all = 0;
  for (auto& r : all) end_all = std::max(end_all, r.done_ns);
  EXPECT_NEAR(end_one, end_all, 0.01 * end_all);
  EXPECT_LT(end_all, 20000 * 30.0 / 4);  // far below serialised full-latency accesses
}

TEST(DramModelTiming, DefaultConfigurationWorks) {
  // The card's default: HBM2e 3.2 Gb/s, 8 x 128-bit channels = 8 x 51.2 GB/s.
  DramModel m{DramConfig{}};
  EXPECT_NEAR(m.peak_bandwidth_gbps(), 8 * 16 * 3.2, 1e-9);
  EXPECT_EQ(m.burst_bytes(), 64u);
  EXPECT_GT(m.access(0x12340, false, 0), 0.0);
}
