// Statistics of one card run: plain counters filled during the simulation and dumped at the
// end (to_json). Times in ns, cycles in card clock cycles (clock_ghz).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cardsim::card {

// One instruction queue / engine (mxu, vpu, dma0..).
struct EngineStats {
  std::string name;
  uint64_t instructions = 0;
  uint64_t busy_cycles = 0;          // computing / moving data
  uint64_t mem_stall_cycles = 0;     // compute done, waiting for SRAM / ACC / DRAM / PCIe
  uint64_t sync_stall_cycles = 0;    // waiting for semaphores, barriers, host calls
  uint64_t idle_cycles = 0;          // rest of the run window (ended early, waiting for start)
  uint64_t fetch_bytes = 0;          // instruction bytes fetched from the loaded code
  std::map<std::string, uint64_t> opcode_counts;  // by mnemonic
};

// One network layer (the instructions' `layer` field; names from Program::layers).
struct LayerStats {
  std::string name, op;
  // The layer's own work: weights prefetched for it during earlier layers do not start it.
  double first_start_ns = -1, last_end_ns = 0;
  uint64_t macs = 0, vector_elems = 0;
  uint64_t dram_read_bytes = 0, dram_write_bytes = 0;
  std::vector<uint64_t> busy_cycles;  // per queue
};

struct DramRunStats {
  uint64_t requests = 0;
  uint64_t bytes_read = 0, bytes_written = 0;
  double peak_gbps = 0;
  struct Channel {
    uint64_t reads = 0, writes = 0, activates = 0, precharges = 0, refreshes = 0;
    uint64_t row_hits = 0, row_misses = 0, row_conflicts = 0;
    uint64_t bytes_read = 0, bytes_written = 0;
    double busy_ns = 0;
  };
  std::vector<Channel> channels;
  std::vector<double> latency_samples_ns;  // per request (done - arrive); to_json summarises
};

struct PcieRunStats {
  struct Dir {
    uint64_t payload_bytes = 0, wire_bytes = 0, tlps = 0;
    double busy_ns = 0;
  };
  Dir h2d, d2h;
  std::vector<double> transfer_latency_ns;  // per transfer; to_json summarises
};

struct MemoryStats {
  uint64_t sram_read_bytes = 0, sram_write_bytes = 0, sram_bank_conflicts = 0;
  uint64_t acc_read_bytes = 0, acc_write_bytes = 0, acc_bank_conflicts = 0;
};

struct RunStats {
  std::string mode;                  // both | timing | functional
  bool complete = true;              // false: stopped by a fault (partial statistics)
  double clock_ghz = 1.0;
  // Card execution window: first doorbell to last completion (all queues ended).
  uint64_t total_cycles = 0;
  double total_ns = 0;
  double simulated_ns = 0;           // whole simulation incl. model load and transfers
  double model_load_ns = 0;          // cold start: program + constants over PCIe (0 when warm)
  int inferences = 0;
  // Input write start -> outputs read back; back to back this includes waiting for the
  // previous inference (the next input is written while the current one computes).
  std::vector<double> inference_latency_ns;
  std::vector<double> inference_card_ns;     // doorbell -> completion, per inference
  double throughput_per_s = 0;       // steady state (N >= 2: (N-1) / (done[N-1] - done[0]))
  uint64_t macs = 0, vector_elems = 0;
  std::map<std::string, uint64_t> macs_by_type;          // "i8", "f16", ... (energy accounting; 16-bit integer operands count their 8-bit passes as "i8")
  std::map<std::string, uint64_t> vector_elems_by_fn;    // "relu", "requant", ...
  uint64_t instruction_fetch_bytes = 0;
  uint64_t host_ops = 0;
  std::vector<EngineStats> engines;  // per queue
  std::vector<LayerStats> layers;
  DramRunStats dram;
  PcieRunStats pcie;
  MemoryStats memory;

  nlohmann::json to_json() const;
  static RunStats from_json(const nlohmann::json& j);  // inverse (latency samples summarised away)
};

}  // namespace cardsim::card
