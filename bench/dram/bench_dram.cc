// Prints the DRAM calibration table: configuration, pattern, reference figure (DESIGN.md,
// measured with DRAMSim3 / Ramulator 2), cardsim's figure and the error; then model speed.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "bench/dram/calibration.h"

using namespace cardsim::dram;

namespace {
int g_over_target = 0;

void row(const char* config, const char* what, double ref_lo, double ref_hi, double got, const char* unit) {
  const double err = got < ref_lo ? (got - ref_lo) / ref_lo : got > ref_hi ? (got - ref_hi) / ref_hi : 0.0;
  char ref[64];
  if (ref_lo == ref_hi) std::snprintf(ref, sizeof ref, "%.1f", ref_lo);
  else std::snprintf(ref, sizeof ref, "%.1f-%.1f", ref_lo, ref_hi);
  const bool ok = std::fabs(err) <= 0.05;
  if (!ok) ++g_over_target;
  std::printf("%-34s %-34s %12s %9.2f %-5s %+6.1f%% %s\n", config, what, ref, got, unit, 100 * err,
              ok ? "" : "(over 5% target)");
}

// A figure with no reference of its own, printed for comparison (not counted against the target).
void info_row(const char* config, const char* what, double got, const char* unit, const char* note) {
  std::printf("%-34s %-34s %12s %9.2f %-5s %7s %s\n", config, what, "-", got, unit, "", note);
}
}  // namespace

int main(int argc, char** argv) {
  const uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 400000;
  namespace cal = calibration;
  std::printf("%-34s %-34s %12s %9s %-5s %7s\n", "config", "pattern", "reference", "cardsim", "", "error");
  const auto ddr_bg = cal::ddr4_3200("RoRaBaCoBgCh");
  const auto ddr_rm = cal::ddr4_3200("RoBaRaCoCh");
  const auto ddr_w = cal::ddr4_3200("RoRaBaCoBgCh", "DDR4_3200W");
  const char* ddr = "DDR4-3200AA x8 2R 1ch (25.6 GB/s)";
  const char* ddr_20 = "DDR4-3200W (20-20-20), same DIMM";
  row(ddr, "sequential, BG-interleaved", 24.1, 24.2,
      cal::bandwidth(ddr_bg, Pattern::Sequential, n, 0).bandwidth_gbps, "GB/s");
  row(ddr, "sequential, row-major RoBaRaCoCh", 13.8, 16.9,
      cal::bandwidth(ddr_rm, Pattern::Sequential, n, 0).bandwidth_gbps, "GB/s");
  row(ddr, "random over 8 GiB", 20.5, 21.7,
      cal::bandwidth(ddr_bg, Pattern::Random, n, 8ull << 30).bandwidth_gbps, "GB/s");
  // The reference's closed-bank figure is the 20-20-20 bin's, its row-conflict figure the
  // 22-22-22 bin's (models/dram/README.md "Idle latency"): each is compared with its bin,
  // the other bin's figure is printed beside it.
  row(ddr_20, "idle latency, closed bank", 27.6, 28.0, cal::closed_bank_latency(ddr_w), "ns");
  info_row(ddr, "idle latency, closed bank", cal::closed_bank_latency(ddr_bg), "ns",
           "(Ramulator 2: 30.6; DRAMSim3: >= 30.9)");
  row(ddr, "idle latency, row conflict", 46.0, 46.1, cal::row_conflict_latency(ddr_bg), "ns");
  info_row(ddr_20, "idle latency, row conflict", cal::row_conflict_latency(ddr_w), "ns", "(Ramulator 2: 40.6)");
  row(ddr, "  p50 of random, 1 req / 100 ns", 46.0, 46.1, cal::light_load_p50(ddr_bg, 20000, 8ull << 30), "ns");

  const auto hbm = cal::hbm2_8ch();
  const char* h = "HBM2 8ch (256 GB/s)";
  row(h, "sequential", 236, 236, cal::bandwidth(hbm, Pattern::Sequential, n, 0).bandwidth_gbps, "GB/s");
  row(h, "random", 61.5, 61.5, cal::bandwidth(hbm, Pattern::Random, n, 8ull << 30).bandwidth_gbps, "GB/s");
  row(h, "idle latency, closed bank", 32.0, 32.0, cal::closed_bank_latency(hbm), "ns");
  row(h, "idle latency, row conflict", 44.4, 44.4, cal::row_conflict_latency(hbm), "ns");
  row(h, "  p50 of random, 1 req / 12.5 ns", 44.4, 44.4, cal::light_load_p50(hbm, 20000, 8ull << 30, 12.5), "ns");

  // Model speed: requests per second of wall time and of CPU time (the machine is shared).
  std::printf("\n");
  for (Pattern p : {Pattern::Random, Pattern::Sequential}) {
    auto reqs = generate_pattern(p, 2000000, 8ull << 30, 64, 3);
    DramModel m(ddr_bg);
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    m.serve(reqs);
    const double cpu = double(std::clock() - c0) / CLOCKS_PER_SEC;
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("model speed, %s DDR4: %.2f M requests/s of CPU time, %.2f M/s of wall time\n",
                p == Pattern::Random ? "random    " : "sequential", 2.0 / cpu, 2.0 / wall);
  }
  {  // As the card model calls it: DMA-sized batches of 16 requests, HBM2 random.
    auto reqs = generate_pattern(Pattern::Random, 2000000, 8ull << 30, 64, 4, 0.3);
    DramModel m(hbm);
    const std::clock_t c0 = std::clock();
    std::vector<Request> batch;
    for (size_t i = 0; i < reqs.size(); i += 16) {
      batch.assign(reqs.begin() + long(i), reqs.begin() + long(std::min(reqs.size(), i + 16)));
      m.serve(batch);
    }
    const double cpu = double(std::clock() - c0) / CLOCKS_PER_SEC;
    std::printf("model speed, HBM2 random in batches of 16: %.2f M requests/s of CPU time\n", 2.0 / cpu);
  }
  std::printf("%d figure(s) outside the 5%% target\n", g_over_target);
  return 0;
}
