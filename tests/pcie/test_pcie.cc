// PCIe link model against hand calculation and DESIGN.md's reference figures.
#include <gtest/gtest.h>

#include <cstdio>

#include "core/error.h"
#include "models/pcie/pcie_link.h"

using namespace cardsim;
using namespace cardsim::pcie;

namespace {
PcieConfig link(int gen, int lanes = 16, int mps = 256) {
  PcieConfig c;
  c.gen = gen;
  c.lanes = lanes;
  c.max_payload = mps;
  c.max_read_request = 512;
  c.read_completion = 256;
  c.latency_ns = 350;
  c.dma_round_trip_ns = 1000;
  return c;
}
// Bytes per ns after line encoding and the link-efficiency factor.
double eff_rate(double gts, int lanes, double enc) { return gts * lanes * enc / 8 * TlpOverheads::kLinkEfficiency; }
}  // namespace

TEST(PcieLink, RawBandwidthFromRateLanesEncoding) {
  EXPECT_NEAR(PcieLink(link(1, 1)).raw_bandwidth_gbps(), 2.5 * 0.8 / 8, 1e-12);   // 8b/10b
  EXPECT_NEAR(PcieLink(link(2, 4)).raw_bandwidth_gbps(), 5.0 * 4 * 0.8 / 8, 1e-12);
  EXPECT_NEAR(PcieLink(link(3, 16)).raw_bandwidth_gbps(), 8.0 * 16 * 128 / 130 / 8, 1e-12);  // 128b/130b
  EXPECT_NEAR(PcieLink(link(5, 8)).raw_bandwidth_gbps(), 32.0 * 8 * 128 / 130 / 8, 1e-12);
}

TEST(PcieLink, HostWriteTimeIsWireBytesPlusLatency) {
  PcieLink l(link(3));
  // 1000 B at 256 B max payload: 4 TLPs, each 8 framing + 16 header + 6 DLLP share.
  const double wire = 1000 + 4 * (8 + 16 + 6);
  const double expect = wire / eff_rate(8, 16, 128.0 / 130) + 350;
  EXPECT_NEAR(l.host_write(1000, 0), expect, 1e-9);
  EXPECT_EQ(l.stats(Dir::H2D).tlps, 4u);
  EXPECT_EQ(l.stats(Dir::H2D).payload_bytes, 1000u);
  EXPECT_EQ(l.stats(Dir::D2H).tlps, 0u);
  ASSERT_EQ(l.latency_samples_ns().size(), 1u);
}

TEST(PcieLink, DirectionIsBusyUntilPreviousTransferLeft) {
  PcieLink l(link(4));
  const double a = l.host_write(4096, 0);
  const double b = l.host_write(4096, 0);  // queued behind the first on H2D
  const double one = (4096 + 16 * 30) / eff_rate(16, 16, 128.0 / 130);
  EXPECT_NEAR(a, one + 350, 1e-9);
  EXPECT_NEAR(b, 2 * one + 350, 1e-9);
  // The other direction is independent.
  EXPECT_NEAR(l.card_write_host(4096, 0), one + 350, 1e-9);
}

TEST(PcieLink, DmaReadRequestsGoUpCompletionsComeDown) {
  PcieLink l(link(3));
  const double rate = eff_rate(8, 16, 128.0 / 130);
  // 64 B: one read request (8 + 16 + 6 B) D2H, the round trip, one completion
  // (64 + 8 + 12 + 6 B) H2D, then the flight to the card is inside the round trip.
  const double expect = 30 / rate + 1000 + 90 / rate;
  EXPECT_NEAR(l.card_read_host(64, 0), expect, 1e-9);
  EXPECT_EQ(l.stats(Dir::D2H).tlps, 1u);
  EXPECT_EQ(l.stats(Dir::D2H).payload_bytes, 0u);
  EXPECT_EQ(l.stats(Dir::H2D).tlps, 1u);
  EXPECT_EQ(l.stats(Dir::H2D).payload_bytes, 64u);
  // 4 KiB: 8 requests of 512 B, 16 completions of 256 B.
  PcieLink m(link(3));
  m.card_read_host(4096, 0);
  EXPECT_EQ(m.stats(Dir::D2H).tlps, 8u);
  EXPECT_EQ(m.stats(Dir::H2D).tlps, 16u);
}

TEST(PcieLink, CompletionsShareTheDirectionWithHostWrites) {
  PcieLink l(link(3));
  const double w = l.host_write(1 << 20, 0);     // fills H2D for ~80 us
  const double r = l.card_read_host(4096, 0);    // its completions wait behind the write
  EXPECT_GT(r, w - 350);
  PcieLink idle(link(3));
  EXPECT_LT(idle.card_read_host(4096, 0), 2000.0);
}

TEST(PcieLink, UnloadedLatencies) {
  PcieLink a(link(4));
  const double w = a.host_write(64, 0);
  EXPECT_GE(w, 300);
  EXPECT_LE(w, 400);
  PcieLink b(link(4));
  EXPECT_NEAR(b.card_read_host(64, 0), 1000, 20);
}

TEST(PcieLink, BadConfigurationsAreErrors) {
  for (auto mutate : {+[](PcieConfig& c) { c.gen = 6; }, +[](PcieConfig& c) { c.lanes = 3; },
                      +[](PcieConfig& c) { c.max_payload = 100; }, +[](PcieConfig& c) { c.max_read_request = 8192; },
                      +[](PcieConfig& c) { c.dma_round_trip_ns = 100; }}) {
    PcieConfig c = link(4);
    mutate(c);
    try {
      PcieLink l(c);
      FAIL() << "expected a configuration error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Config);
      EXPECT_NE(std::string(e.what()).find("pcie."), std::string::npos) << e.what();
    }
  }
}

TEST(PcieCalibration, X16EffectiveBandwidthWithin2Percent) {
  struct Row { int gen, mps; bool read; double ref; };
  const Row rows[] = {
      {3, 256, false, 12.99}, {4, 256, false, 25.99}, {5, 256, false, 51.98},
      {3, 128, false, 11.76}, {4, 128, false, 23.52}, {5, 128, false, 47.03},
      {3, 512, false, 13.69}, {4, 512, false, 27.37}, {5, 512, false, 54.75},
      {3, 256, true, 13.18},  {4, 256, true, 26.37},  {5, 256, true, 52.73},
  };
  for (const Row& r : rows) {
    PcieLink l(link(r.gen, 16, r.mps));
    const double got = r.read ? l.read_bandwidth_gbps() : l.write_bandwidth_gbps();
    std::printf("[calibration] Gen%d x16 %s %3d B: reference %.2f cardsim %.2f GB/s (%+.2f%%)\n", r.gen,
                r.read ? "DMA read, completions" : "writes, max payload  ", r.read ? 256 : r.mps, r.ref, got,
                100 * (got - r.ref) / r.ref);
    EXPECT_NEAR(got, r.ref, 0.02 * r.ref);
  }
  EXPECT_NEAR(PcieLink(link(3)).raw_bandwidth_gbps(), 15.75, 0.02 * 15.75);
  EXPECT_NEAR(PcieLink(link(4)).raw_bandwidth_gbps(), 31.51, 0.02 * 31.51);
  EXPECT_NEAR(PcieLink(link(5)).raw_bandwidth_gbps(), 63.02, 0.02 * 63.02);
}

TEST(PcieCalibration, StreamingMatchesSteadyStateFigure) {
  // Pushing 16 MiB through the model as 64 KiB transfers reaches the closed-form figure.
  PcieLink l(link(4));
  double end = 0;
  for (int i = 0; i < 256; ++i) end = l.host_write(64 << 10, 0);
  const double measured = double(16 << 20) / (end - 350);
  EXPECT_NEAR(measured, l.write_bandwidth_gbps(), 1e-6 * measured);
  PcieLink r(link(4));
  for (int i = 0; i < 256; ++i) end = r.card_read_host(64 << 10, 0);
  EXPECT_NEAR(double(16 << 20) / (end - 1000), r.read_bandwidth_gbps(), 0.01 * r.read_bandwidth_gbps());
}
