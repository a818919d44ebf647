// DRAM trace replay and calibration-pattern generation: parse a DRAMSim3 trace
// (`0x1aa9e6600 READ 400`: hex address, READ/WRITE, earliest issue cycle in DRAM clocks) or a
// Ramulator 2 trace (`LD 0x...` / `ST 0x...`, no timestamps: all issued at once), run it
// through DramModel and summarise bandwidth and latency.
#pragma once
#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "models/dram/dram_model.h"

namespace cardsim::dram {

enum class TraceFormat { Auto, DRAMSim3, Ramulator };

// "auto", "dramsim3", "ramulator" -> TraceFormat; throws Error(Usage) otherwise.
TraceFormat parse_trace_format(const std::string& name);

// Parses a trace. `origin` names the source in error messages (file:line). Blank lines and
// lines starting with '#' are skipped. Each request is `bytes` long; DRAMSim3 cycles are
// converted to ns with tCK_ns. Throws Error(Format) naming file:line and what was expected.
std::vector<Request> parse_trace(std::istream& in, const std::string& origin, TraceFormat format,
                                 double tCK_ns, uint32_t bytes = 64);
std::vector<Request> read_trace_file(const std::string& path, TraceFormat format, double tCK_ns,
                                     uint32_t bytes = 64);

struct ReplayResult {
  std::string config;                 // standard/grade x channels, for the report
  uint64_t requests = 0, reads = 0, writes = 0, bytes = 0;
  double elapsed_ns = 0;              // first arrival to last completion
  double bandwidth_gbps = 0;          // bytes / elapsed (1e9 B/s)
  double peak_gbps = 0;
  double mean_latency_ns = 0, p50_latency_ns = 0, p99_latency_ns = 0, max_latency_ns = 0;
  uint64_t activates = 0, refreshes = 0, row_hits = 0, row_misses = 0, row_conflicts = 0;
};

// Runs the requests (arrival order as given) through a fresh model of `cfg`.
ReplayResult replay_requests(std::vector<Request>& requests, const DramConfig& cfg);
// `cardsim dram-replay TRACE -c CONFIG`: read the trace, replay it, summarise.
ReplayResult replay_trace(const std::string& path, const DramConfig& cfg,
                          TraceFormat format = TraceFormat::Auto, uint32_t bytes = 64);
// Multi-line human-readable summary (deterministic).
std::string format_replay_result(const ReplayResult& r);

// Calibration patterns. Sequential: `count` consecutive `bytes`-sized requests from `base`.
// Random: uniform over [0, span_bytes), aligned to `bytes`, from a seeded generator
// (std::mt19937_64, so identical everywhere). interval_ns spaces arrivals (0 = all at once,
// i.e. saturating issue).
enum class Pattern { Sequential, Random };
std::vector<Request> generate_pattern(Pattern pattern, uint64_t count, uint64_t span_bytes,
                                      uint32_t bytes = 64, uint64_t seed = 1, double interval_ns = 0,
                                      double write_fraction = 0, uint64_t base = 0);
// Writes requests as a DRAMSim3 trace (cycles = arrival / tCK_ns) or a Ramulator 2 trace.
void write_trace(std::ostream& out, const std::vector<Request>& requests, TraceFormat format,
                 double tCK_ns);

}  // namespace cardsim::dram
