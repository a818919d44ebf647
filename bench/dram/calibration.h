// Calibration configurations and measurements shared by bench_dram and tests/dram:
// the DESIGN.md "Reference figures" setups, built from the speed-grade table.
#pragma once
#include <string>
#include <vector>

#include "models/dram/replay.h"

namespace cardsim::dram::calibration {

// DDR4-3200 x8 DIMM: 1 channel, 2 ranks, 4x4 banks, 64-bit bus, 8 KiB rows, 16 GiB.
inline DramConfig ddr4_3200(const std::string& mapping) {
  DramConfig c = typical_config("DDR4", "DDR4_3200");  // x8 DIMM rank geometry, 64-bit bus
  c.ranks = 2;
  c.capacity_bytes = 16ull << 30;
  c.address_mapping = mapping;
  c.controller_latency_ns = 0.0;
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

// Median latency of light random traffic (one read per `interval_ns`, little queueing):
// most reads find another row open in their bank, so this is the row-conflict latency.
// (The mean is higher: about 4.5% of reads wait behind a refresh.)
inline double light_load_p50(const DramConfig& cfg, uint64_t count, uint64_t span,
                             double interval_ns = 100.0) {
  auto reqs = generate_pattern(Pattern::Random, count, span, 64, 7, interval_ns);
  return replay_requests(reqs, cfg).p50_latency_ns;
}

}  // namespace cardsim::dram::calibration
