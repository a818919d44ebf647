// PCIe link timing: each direction is a serial resource with a busy-until time; a transfer
// occupies it for the wire bytes of its TLPs (payload + framing/sequence/LCRC + header +
// amortised DLLPs) at the encoded line rate, then arrives one link latency later.
#include "models/pcie/pcie_link.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace cardsim::pcie {
namespace {

double transfer_rate_gts(int gen) {
  switch (gen) {
    case 1: return 2.5;
    case 2: return 5.0;
    case 3: return 8.0;
    case 4: return 16.0;
    case 5: return 32.0;
  }
  fail(ErrorKind::Config, "pcie.gen: {} is not a PCIe generation (expected 1 to 5)", gen);
}

// 8b/10b for gen 1-2, 128b/130b from gen 3 on.
double encoding_efficiency(int gen) { return gen <= 2 ? 8.0 / 10.0 : 128.0 / 130.0; }

bool valid_tlp_size(int v) { return v >= 128 && v <= 4096 && (v & (v - 1)) == 0; }

}  // namespace

PcieLink::PcieLink(const PcieConfig& cfg) : cfg_(cfg) {
  const double rate = transfer_rate_gts(cfg_.gen);
  if (cfg_.lanes != 1 && cfg_.lanes != 2 && cfg_.lanes != 4 && cfg_.lanes != 8 && cfg_.lanes != 16 &&
      cfg_.lanes != 32)
    fail(ErrorKind::Config, "pcie.lanes: {} (expected 1, 2, 4, 8, 16 or 32)", cfg_.lanes);
  if (!valid_tlp_size(cfg_.max_payload))
    fail(ErrorKind::Config, "pcie.max_payload: {} (expected a power of two from 128 to 4096 bytes)",
         cfg_.max_payload);
  if (!valid_tlp_size(cfg_.max_read_request))
    fail(ErrorKind::Config, "pcie.max_read_request: {} (expected a power of two from 128 to 4096 bytes)",
         cfg_.max_read_request);
  if (cfg_.read_completion != 64 && cfg_.read_completion != 128 && !valid_tlp_size(cfg_.read_completion))
    fail(ErrorKind::Config, "pcie.read_completion: {} (expected 64, 128, ... 4096 bytes)",
         cfg_.read_completion);
  // Completions are TLPs too: they never carry more than the max payload size.
  completion_bytes_ = std::min(cfg_.read_completion, cfg_.max_payload);
  if (cfg_.latency_ns < 0)
    fail(ErrorKind::Config, "pcie.latency_ns: {} (expected >= 0)", cfg_.latency_ns);
  if (cfg_.dma_round_trip_ns < 2 * cfg_.latency_ns)
    fail(ErrorKind::Config, "pcie.dma_round_trip_ns: {} is less than twice pcie.latency_ns ({}): a read "
         "crosses the link both ways", cfg_.dma_round_trip_ns, cfg_.latency_ns);
  // GT/s per lane -> bytes per ns over all lanes after line encoding.
  raw_bytes_per_ns_ = rate * cfg_.lanes * encoding_efficiency(cfg_.gen) / 8.0;
  effective_bytes_per_ns_ = raw_bytes_per_ns_ * TlpOverheads::kLinkEfficiency;
}

double PcieLink::raw_bandwidth_gbps() const { return raw_bytes_per_ns_; }

double PcieLink::write_bandwidth_gbps() const {
  const double p = cfg_.max_payload;
  return effective_bytes_per_ns_ * p /
         (p + TlpOverheads::kFramingSeqLcrc + TlpOverheads::kWriteHeader + TlpOverheads::kDllpBytesPerTlp);
}

double PcieLink::read_bandwidth_gbps() const {
  const double p = completion_bytes_;
  return effective_bytes_per_ns_ * p /
         (p + TlpOverheads::kFramingSeqLcrc + TlpOverheads::kCompletionHeader +
          TlpOverheads::kDllpBytesPerTlp);
}

const DirStats& PcieLink::stats(Dir d) const { return stats_[int(d)]; }

const std::vector<double>& PcieLink::latency_samples_ns() const { return latencies_; }

double PcieLink::energy_pj(double pj_per_bit) const {
  return double(stats_[0].wire_bytes + stats_[1].wire_bytes) * 8.0 * pj_per_bit;
}

double PcieLink::occupy(Dir d, double wire_bytes, uint64_t tlps, uint64_t payload, double earliest) {
  const double start = std::max(earliest, busy_until_[int(d)]);
  const double end = start + wire_ns(wire_bytes);
  busy_until_[int(d)] = end;
  DirStats& s = stats_[int(d)];
  s.payload_bytes += payload;
  s.wire_bytes += uint64_t(std::llround(wire_bytes));
  s.tlps += tlps;
  // DLLPs are 8 B each; kDllpBytesPerTlp of them per TLP on average.
  s.dllps += uint64_t(std::llround(double(tlps) * TlpOverheads::kDllpBytesPerTlp / 8.0));
  s.busy_ns += end - start;
  return end;
}

double PcieLink::transmit(Dir d, uint64_t bytes, int max_payload, int header, double earliest) {
  const uint64_t tlps = std::max<uint64_t>(1, (bytes + uint64_t(max_payload) - 1) / uint64_t(max_payload));
  const double wire = double(bytes) + double(tlps) * (TlpOverheads::kFramingSeqLcrc + header +
                                                      TlpOverheads::kDllpBytesPerTlp);
  return occupy(d, wire, tlps, bytes, earliest);
}

double PcieLink::host_write(uint64_t bytes, double start_ns) {
  const double sent = transmit(Dir::H2D, bytes, cfg_.max_payload, TlpOverheads::kWriteHeader, start_ns);
  const double done = sent + cfg_.latency_ns;
  latencies_.push_back(done - start_ns);
  return done;
}

double PcieLink::card_write_host(uint64_t bytes, double start_ns) {
  const double sent = transmit(Dir::D2H, bytes, cfg_.max_payload, TlpOverheads::kWriteHeader, start_ns);
  const double done = sent + cfg_.latency_ns;
  latencies_.push_back(done - start_ns);
  return done;
}

// A read: requests of at most max_read_request go one way; the completer answers after the
// round trip (link latency both ways + memory access), completions of read_completion bytes
// stream back the other way. Requests and completions pipeline, so a long read is limited
// by the completion direction.
double PcieLink::read(Dir request_dir, uint64_t bytes, double start_ns) {
  const Dir completion_dir = request_dir == Dir::D2H ? Dir::H2D : Dir::D2H;
  const uint64_t requests = std::max<uint64_t>(1, (bytes + cfg_.max_read_request - 1) / cfg_.max_read_request);
  // Request TLPs carry no payload: one header (+ framing, DLLP share) each.
  const double per_request = TlpOverheads::kFramingSeqLcrc + TlpOverheads::kReadRequestHeader +
                             TlpOverheads::kDllpBytesPerTlp;
  const double req_start = std::max(start_ns, busy_until_[int(request_dir)]);
  occupy(request_dir, per_request * double(requests), requests, 0, req_start);
  const double one_req = wire_ns(per_request);
  // First completion leaves the completer after the round trip minus its own flight time.
  const double first_data = req_start + one_req + cfg_.dma_round_trip_ns - cfg_.latency_ns;
  const double sent = transmit(completion_dir, bytes, completion_bytes_, TlpOverheads::kCompletionHeader,
                               first_data);
  const double done = sent + cfg_.latency_ns;
  latencies_.push_back(done - start_ns);
  return done;
}

double PcieLink::card_read_host(uint64_t bytes, double start_ns) { return read(Dir::D2H, bytes, start_ns); }

double PcieLink::host_read(uint64_t bytes, double start_ns) { return read(Dir::H2D, bytes, start_ns); }

}  // namespace cardsim::pcie
