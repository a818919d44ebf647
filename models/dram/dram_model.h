// DRAM controller + device timing model (pure C++, no SystemC): per-bank state machine
// with published timing parameters, open/closed page policy, FR-FCFS within the request
// window, refresh, configurable address mapping. Time in nanoseconds.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sim/card_config.h"

namespace cardsim::dram {

// Speed-grade table lookup: fills timing (and geometry defaults) for a standard + grade.
// Throws Error(Config) listing what exists.
DramTiming find_speed_grade(const std::string& standard, const std::string& grade);
std::vector<std::string> standards();
std::vector<std::string> speed_grades(const std::string& standard);

struct Request {
  uint64_t addr = 0;
  bool is_write = false;
  uint32_t bytes = 64;
  double arrive_ns = 0;    // when it reaches the controller
  double done_ns = 0;      // filled by the model: when its data transfer completes
};

struct ChannelStats {
  uint64_t reads = 0, writes = 0, activates = 0, precharges = 0, refreshes = 0;
  uint64_t row_hits = 0, row_misses = 0, row_conflicts = 0;
  uint64_t bytes_read = 0, bytes_written = 0;
  double busy_ns = 0;  // data-bus occupancy
};

class DramModel {
 public:
  explicit DramModel(const DramConfig& cfg);
  // Serves a batch of requests (e.g. one DMA descriptor's bursts, in issue order);
  // the controller may reorder within its queue (FR-FCFS). Fills done_ns of each.
  void serve(std::vector<Request>& batch);
  // Convenience: a single request.
  double access(uint64_t addr, bool is_write, double arrive_ns, uint32_t bytes = 64);

  double peak_bandwidth_gbps() const;
  int channel_of(uint64_t addr) const;
  const std::vector<ChannelStats>& channel_stats() const;
  const std::vector<double>& latency_samples_ns() const;  // per request, done - arrive
};

}  // namespace cardsim::dram
