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

// Per-TLP and per-link overheads (bytes on the wire after encoding). See README.md.
struct TlpOverheads {
  static constexpr int kFramingSeqLcrc = 8;    // STP/framing token + sequence number + LCRC
  static constexpr int kWriteHeader = 16;      // MWr, 4DW header (64-bit address)
  static constexpr int kReadRequestHeader = 16;// MRd, 4DW header
  static constexpr int kCompletionHeader = 12; // CplD, 3DW header
  static constexpr double kDllpBytesPerTlp = 6;  // ACK/UpdateFC DLLPs (8 B each), amortised
  // Fraction of the encoded link rate left for TLPs and their DLLPs after SKP ordered sets,
  // flow-control credit return gaps and replay-buffer stalls (fitted to DESIGN.md figures).
  static constexpr double kLinkEfficiency = 0.921;
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

  // Extras (not part of the lead's sketch).
  const PcieConfig& config() const { return cfg_; }
  double busy_until_ns(Dir d) const { return busy_until_[int(d)]; }
  double energy_pj(double pj_per_bit) const;  // both directions, wire bytes

 private:
  // Sends `bytes` of payload as TLPs of at most `max_payload` with `header` bytes each on
  // direction d, not before `earliest`; returns when the last byte left the transmitter.
  double transmit(Dir d, uint64_t bytes, int max_payload, int header, double earliest);
  double occupy(Dir d, double wire_bytes, uint64_t tlps, uint64_t payload, double earliest);
  double wire_ns(double wire_bytes) const { return wire_bytes / effective_bytes_per_ns_; }
  double read(Dir request_dir, uint64_t bytes, double start_ns);

  PcieConfig cfg_;
  int completion_bytes_ = 256;         // min(read_completion, max_payload)
  double raw_bytes_per_ns_ = 0;        // encoded line rate, all lanes, one direction
  double effective_bytes_per_ns_ = 0;  // after kLinkEfficiency
  double busy_until_[2] = {0, 0};
  DirStats stats_[2];
  std::vector<double> latencies_;
};

}  // namespace cardsim::pcie
