// Calibration against DESIGN.md's reference figures (DRAMSim3 / Ramulator 2). Each test
// prints cardsim's figure beside the reference and asserts the 10% bound; bench_dram prints
// the full table with larger runs against the 5% target.
#include <gtest/gtest.h>

#include <cstdio>

#include "bench/dram/calibration.h"

using namespace cardsim::dram;
namespace cal = cardsim::dram::calibration;

namespace {
constexpr uint64_t kRequests = 100000;

void check(const char* what, double lo, double hi, double got) {
  const double err = got < lo ? (got - lo) / lo : got > hi ? (got - hi) / hi : 0.0;
  std::printf("[calibration] %-44s reference %.1f-%.1f  cardsim %.2f  error %+.1f%%\n", what, lo, hi, got,
              100 * err);
  EXPECT_LE(std::abs(err), 0.10) << what;
}
}  // namespace

TEST(DramCalibration, Ddr4SequentialBankGroupInterleaved) {
  check("DDR4-3200 sequential BG-interleaved GB/s", 24.1, 24.2,
        cal::bandwidth(cal::ddr4_3200("RoRaBaCoBgCh"), Pattern::Sequential, kRequests, 0).bandwidth_gbps);
}

TEST(DramCalibration, Ddr4SequentialRowMajor) {
  check("DDR4-3200 sequential RoBaRaCoCh GB/s", 13.8, 16.9,
        cal::bandwidth(cal::ddr4_3200("RoBaRaCoCh"), Pattern::Sequential, kRequests, 0).bandwidth_gbps);
}

TEST(DramCalibration, Ddr4Random) {
  check("DDR4-3200 random over 8 GiB GB/s", 20.5, 21.7,
        cal::bandwidth(cal::ddr4_3200("RoRaBaCoBgCh"), Pattern::Random, kRequests, 8ull << 30).bandwidth_gbps);
}

TEST(DramCalibration, Ddr4Latencies) {
  const DramModel m(cal::ddr4_3200("RoRaBaCoBgCh"));
  check("DDR4-3200 idle latency, closed bank ns", 27.6, 28.0, m.idle_latency_ns());
  check("DDR4-3200 idle latency, random (conflict) ns", 46.0, 46.1, m.conflict_latency_ns());
  check("DDR4-3200 p50 latency, light random load ns", 46.0, 46.1,
        cal::light_load_p50(cal::ddr4_3200("RoRaBaCoBgCh"), 5000, 8ull << 30));
}

TEST(DramCalibration, Hbm2SequentialAndRandom) {
  check("HBM2 8ch sequential GB/s", 236, 236,
        cal::bandwidth(cal::hbm2_8ch(), Pattern::Sequential, kRequests, 0).bandwidth_gbps);
  check("HBM2 8ch random GB/s", 61.5, 61.5,
        cal::bandwidth(cal::hbm2_8ch(), Pattern::Random, kRequests, 8ull << 30).bandwidth_gbps);
  const DramModel m(cal::hbm2_8ch());
  check("HBM2 idle latency, closed bank ns", 32.0, 32.0, m.idle_latency_ns());
  check("HBM2 idle latency, random (conflict) ns", 44.4, 44.4, m.conflict_latency_ns());
}
