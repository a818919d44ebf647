// PCIe link model (pure C++): generation 1-5, lanes, encoding, TLP/DLLP overheads, max
// payload / read request / completion sizes, per-direction occupancy (busy-until) and latency.
#pragma once
#include <cstdint>
#include <vector>

#include "sim/card_config.h"

namespace cardsim::pcie {

enum class Dir { H2D = 0, D2H = 1 };

struct DirStats {
  uint64_t payload_bytes = 0, wire_bytes = 0, tlps = 0, dllps = 0;
  double busy_ns = 0;
};

class PcieLink {
 public:
  explicit PcieLink(const PcieConfig& cfg);
  // Host (driver) writes `bytes` into card memory: posted memory-write TLPs H2D.
  double host_write(uint64_t bytes, double start_ns);
  // Card DMA reads host memory: read requests D2H, completions with data H2D.
  double card_read_host(uint64_t bytes, double start_ns);
  // Card DMA writes host memory: posted writes D2H.
  double card_write_host(uint64_t bytes, double start_ns);
  // Host reads card memory (MMIO/BAR reads by the host CPU, or host-initiated DMA read).
  double host_read(uint64_t bytes, double start_ns);

  // Steady-state effective bandwidth in GB/s (1e9 B/s) for posted writes and DMA reads.
  double write_bandwidth_gbps() const;
  double read_bandwidth_gbps() const;
  double raw_bandwidth_gbps() const;
  const DirStats& stats(Dir d) const;
  const std::vector<double>& latency_samples_ns() const;  // per transfer
};

}  // namespace cardsim::pcie
