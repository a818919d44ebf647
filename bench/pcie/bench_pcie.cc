// Prints the PCIe calibration table: x16 effective bandwidth per direction for Gen3/4/5
// against DESIGN.md's reference figures, both from the closed form and measured by pushing
// 64 MiB through the link model; then unloaded latencies.
#include <cmath>
#include <cstdio>

#include "models/pcie/pcie_link.h"

using namespace cardsim;
using namespace cardsim::pcie;

namespace {
int g_over_target = 0;

void row(const char* what, double ref, double got, double target = 0.02) {
  const double err = (got - ref) / ref;
  const bool ok = std::fabs(err) <= target;
  if (!ok) ++g_over_target;
  std::printf("%-44s %9.2f %9.2f %+7.2f%% %s\n", what, ref, got, 100 * err, ok ? "" : "(over target)");
}

PcieConfig x16(int gen, int mps) {
  PcieConfig c;
  c.gen = gen;
  c.lanes = 16;
  c.max_payload = mps;
  c.read_completion = 256;
  c.max_read_request = 512;
  return c;
}

// Measured: stream `total` bytes as 1 MiB transfers issued at time 0.
double measured_write(const PcieConfig& c, uint64_t total) {
  PcieLink link(c);
  double end = 0;
  for (uint64_t off = 0; off < total; off += 1 << 20) end = link.host_write(1 << 20, 0);
  return double(total) / (end - c.latency_ns);
}
double measured_read(const PcieConfig& c, uint64_t total) {
  PcieLink link(c);
  double end = 0;
  for (uint64_t off = 0; off < total; off += 1 << 20) end = link.card_read_host(1 << 20, 0);
  return double(total) / (end - c.dma_round_trip_ns);
}
}  // namespace

int main() {
  std::printf("%-44s %9s %9s %8s\n", "PCIe x16, per direction (GB/s)", "reference", "cardsim", "error");
  const double raw[] = {15.75, 31.51, 63.02};
  const double w256[] = {12.99, 25.99, 51.98}, w128[] = {11.76, 23.52, 47.03}, w512[] = {13.69, 27.37, 54.75};
  const double rd[] = {13.18, 26.37, 52.73};
  const uint64_t total = 64ull << 20;
  for (int i = 0; i < 3; ++i) {
    const int gen = 3 + i;
    char name[96];
    std::snprintf(name, sizeof name, "Gen%d raw", gen);
    row(name, raw[i], PcieLink(x16(gen, 256)).raw_bandwidth_gbps());
    std::snprintf(name, sizeof name, "Gen%d writes, 128 B max payload", gen);
    row(name, w128[i], PcieLink(x16(gen, 128)).write_bandwidth_gbps());
    std::snprintf(name, sizeof name, "Gen%d writes, 256 B max payload", gen);
    row(name, w256[i], PcieLink(x16(gen, 256)).write_bandwidth_gbps());
    std::snprintf(name, sizeof name, "Gen%d writes, 512 B max payload", gen);
    row(name, w512[i], PcieLink(x16(gen, 512)).write_bandwidth_gbps());
    std::snprintf(name, sizeof name, "Gen%d DMA reads, 256 B completions", gen);
    row(name, rd[i], PcieLink(x16(gen, 256)).read_bandwidth_gbps());
    std::snprintf(name, sizeof name, "Gen%d 64 MiB host writes, measured", gen);
    row(name, w256[i], measured_write(x16(gen, 256), total));
    std::snprintf(name, sizeof name, "Gen%d 64 MiB DMA reads, measured", gen);
    row(name, rd[i], measured_read(x16(gen, 256), total));
  }
  // Gen1/2 use 8b/10b: raw x16 is 2.5 or 5 GT/s x 16 lanes x 8/10 / 8 bits.
  row("Gen1 raw (2.5 GT/s, 8b/10b)", 4.0, PcieLink(x16(1, 256)).raw_bandwidth_gbps());
  row("Gen2 raw (5 GT/s, 8b/10b)", 8.0, PcieLink(x16(2, 256)).raw_bandwidth_gbps());
  std::printf("%-44s %9s %9.2f\n", "Gen2 writes, 256 B max payload", "", PcieLink(x16(2, 256)).write_bandwidth_gbps());
  std::printf("\n%-44s %9s %9s\n", "unloaded latency (ns), Gen4 x16", "reference", "cardsim");
  PcieLink a(x16(4, 256));
  std::printf("%-44s %9s %9.1f\n", "64 B host write (link adds 300-400 ns)", "300-400", a.host_write(64, 0));
  PcieLink b(x16(4, 256));
  std::printf("%-44s %9s %9.1f\n", "64 B card DMA read of host memory", "~1000", b.card_read_host(64, 0));
  PcieLink c(x16(4, 256));
  std::printf("%-44s %9s %9.1f\n", "4 KiB card DMA read of host memory", "", c.card_read_host(4096, 0));
  std::printf("%d figure(s) outside the 2%% target\n", g_over_target);
  return 0;
}
