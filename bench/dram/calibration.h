// Calibration configurations and measurements shared by bench_dram and tests/dram:
// the DESIGN.md "Reference figures" setups, built from the speed-grade table.
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

#include "models/dram/replay.h"

namespace cardsim::dram::calibration {

// DDR4-3200 x8 DIMM: 1 channel, 2 ranks, 4x4 banks, 64-bit bus, 8 KiB rows, 16 GiB.
// `grade` "DDR4_3200" is the 22-22-22 bin (3200AA: DRAMSim3 DDR4_8Gb_x8_3200.ini, Ramulator 2
// DDR4_3200AA); "DDR4_3200W" the 20-20-20 bin (Ramulator 2 DDR4_3200W).
// Controller latency = one tCK: the clock between a request's arrival and its first command
// that both reference tools count (DRAMSim3 moves the transaction to its command queue at the
// end of the arrival cycle; Ramulator 2 stamps arrive = clk and issues at clk + 1). With it an
// unloaded read costs exactly what Ramulator 2 reports: 1 + nRCD + nCL + nBL (closed bank),
// 1 + nRP + nRCD + nCL + nBL (row conflict).
inline DramConfig ddr4_3200(const std::string& mapping, const std::string& grade = "DDR4_3200") {
  DramConfig c = typical_config("DDR4", grade);  // x8 DIMM rank geometry, 64-bit bus
  c.ranks = 2;
  c.capacity_bytes = 16ull << 30;
  c.address_mapping = mapping;
  c.controller_latency_ns = c.timing.tCK_ns;
  return c;
}

// HBM2 2 Gb/s, 8 legacy 128-bit channels, 4x4 banks, 1 KiB rows, 8 GiB.
inline DramConfig hbm2_8ch() {
  DramConfig c;
  c.standard = "HBM2";
  c.speed_grade = "HBM2_2000";
  c.channels = 8;
  c.ranks = 1;
  c.bank_groups = 4;
  c.banks_per_group = 4;
  c.bus_width_bits = 128;
  c.row_bytes = 1024;
  c.capacity_bytes = 8ull << 30;
  c.address_mapping = "RoBaRaCoCh";
  c.controller_latency_ns = 2.0;
  return c;
}

// Saturating-issue bandwidth of `count` 64-byte reads.
inline ReplayResult bandwidth(const DramConfig& cfg, Pattern p, uint64_t count, uint64_t span) {
  auto reqs = generate_pattern(p, count, span, 64, 42);
  return replay_requests(reqs, cfg);
}

// Unloaded read latency measured by replaying a two-read trace on a fresh model (refresh
// on, first refresh due long after): a read of row 0 in bank 0 at 100 ns, then, `gap_ns`
// later (past tRC, nothing queued), a read of `second_row` in the same bank.
// second_row 0 -> row hit; 1 -> row conflict. The first read alone is the closed-bank latency.
struct IdleLatency {
  double closed_bank_ns = 0, second_ns = 0;
};
inline IdleLatency idle_latency(const DramConfig& cfg, uint64_t second_row, double gap_ns = 1000) {
  const DramModel probe(cfg);
  // Lowest address bit that changes the row alone: same channel, rank, bank, column.
  uint64_t row_step = 0;
  for (int bit = 0; bit < 63 && !row_step; ++bit) {
    const DramCoord a = probe.mapping().decode(0), b = probe.mapping().decode(1ull << bit);
    if (b.row != a.row && b.channel == a.channel && b.rank == a.rank && b.bank_group == a.bank_group &&
        b.bank == a.bank && b.column == a.column)
      row_step = 1ull << bit;
  }
  if (!row_step) throw std::logic_error("calibration: mapping has no row bits");
  std::vector<Request> reqs(2);
  reqs[0].arrive_ns = 100;
  reqs[1].addr = second_row * row_step;
  reqs[1].arrive_ns = 100 + gap_ns;
  replay_requests(reqs, cfg);
  return {reqs[0].done_ns - reqs[0].arrive_ns, reqs[1].done_ns - reqs[1].arrive_ns};
}
inline double closed_bank_latency(const DramConfig& cfg) { return idle_latency(cfg, 1).closed_bank_ns; }
inline double row_conflict_latency(const DramConfig& cfg) { return idle_latency(cfg, 1).second_ns; }

// Median latency of light random traffic (one read per `interval_ns`, little queueing):
// most reads find another row open in their bank, so this is the row-conflict latency.
// (The mean is higher: about 4.5% of reads wait behind a refresh.)
inline double light_load_p50(const DramConfig& cfg, uint64_t count, uint64_t span,
                             double interval_ns = 100.0) {
  auto reqs = generate_pattern(Pattern::Random, count, span, 64, 7, interval_ns);
  return replay_requests(reqs, cfg).p50_latency_ns;
}

}  // namespace cardsim::dram::calibration
