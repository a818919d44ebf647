// The card description, as validated from JSON (configs/*.json). Every field has a
// default (see config.cc / docs/CONFIG.md); `extends` names a preset to start from.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cardsim {

struct MatrixUnitConfig {
  int rows = 128, cols = 128;
  std::vector<std::string> dataflows{"ws", "os"};  // allowed: ws, os, is
  std::vector<std::string> dtypes{"i8", "f16", "bf16", "f32"};
  int weight_buffers = 2;         // double-buffered weights: load of fold i+1 hides under fold i
  double fp32_rate = 0.25;        // MACs/PE/cycle for fp32 relative to int8 (fp16/bf16: fp16_rate)
  double fp16_rate = 0.5;
};

struct VectorUnitConfig {
  int lanes = 128;                     // elements per cycle
  std::map<std::string, int> latency;  // per function name (relu, exp, ...) pipeline latency
  std::map<std::string, double> cost;  // per function: cycles per lane-element (1 = full rate)
  int table_entries = 256;             // lookup-table size for nonlinear functions
};

struct DataEngineConfig {
  int dma_channels = 4;
  int max_outstanding = 64;     // DRAM requests in flight per channel
  int request_bytes = 64;       // DRAM request granularity
  bool compression = false;     // weight compression (zero-run / bitmask) on the fly
  double setup_cycles = 32;     // per-descriptor overhead
};

struct SramConfig {
  uint64_t size_bytes = 24ull << 20;
  int banks = 32;
  int bank_width_bytes = 64;    // bytes per bank per cycle per port
  int ports = 2;
};

struct AccumulatorConfig {
  uint64_t size_bytes = 4ull << 20;
  int banks = 16;
};

struct DramTiming {  // in DRAM clock cycles (tCK), as published per speed grade
  double tCK_ns = 0;
  int CL = 0, CWL = 0, tRCD = 0, tRP = 0, tRAS = 0, tRC = 0;
  int tRRD_S = 0, tRRD_L = 0, tFAW = 0, tCCD_S = 0, tCCD_L = 0;
  int tWR = 0, tWTR_S = 0, tWTR_L = 0, tRTP = 0, tREFI = 0, tRFC = 0, BL = 8;
};

struct DramConfig {
  std::string standard = "HBM2e";   // DDR4, LPDDR4, LPDDR5, HBM2, HBM2e, GDDR6, DDR3, GDDR5
  std::string speed_grade = "HBM2e_3200";
  int channels = 8;
  int ranks = 1;
  int bank_groups = 4;
  int banks_per_group = 4;
  int bus_width_bits = 128;         // per channel
  uint64_t row_bytes = 1024;        // page size per bank
  uint64_t capacity_bytes = 16ull << 30;
  std::string address_mapping = "RoBaRaCoCh";  // Ramulator-style order, MSB..LSB
  std::string page_policy = "open";            // open | closed
  std::string scheduler = "FRFCFS";
  bool refresh = true;
  DramTiming timing;                // filled from the speed-grade table unless overridden
  double controller_latency_ns = 2;  // front-end + PHY; 2 ns calibrates HBM2 idle latency to DRAMSim3 (models/dram/README.md)
};

struct PcieConfig {
  int gen = 4;
  int lanes = 16;
  int max_payload = 256;
  int max_read_request = 512;
  int read_completion = 256;     // read completion boundary / completion size
  double latency_ns = 350;       // one-way link + switch latency, unloaded
  double dma_round_trip_ns = 1000;
};

struct EnergyConfig {
  double technology_nm = 16;
  double voltage = 0.8;
  // Per-action energies in pJ at the configured node (scaled from 45 nm by config.cc
  // unless given explicitly): keys like "mac_i8", "add_f32", "sram_read_64b", ...
  std::map<std::string, double> actions_pj;
  std::map<std::string, double> leakage_mw;  // per component
  double dram_pj_per_bit = 3.9;
  double pcie_pj_per_bit = 6;
};

struct HostConfig {
  double op_gflops = 20;   // host model speed for operators placed on the host
  double irq_latency_ns = 2000;
};

struct CardConfig {
  std::string name = "default";
  double clock_ghz = 1.0;
  MatrixUnitConfig matrix;
  VectorUnitConfig vector;
  DataEngineConfig dma;
  SramConfig sram;
  AccumulatorConfig accumulator;
  DramConfig dram;
  PcieConfig pcie;
  EnergyConfig energy;
  HostConfig host;
  nlohmann::json effective;  // the full effective JSON (every default filled in)
};

// Loads `path` (following `extends`), applies `overrides` ("a.b.c=value"), validates.
// Throws Error(Config) naming the file, JSON path, value and what is allowed.
CardConfig load_config(const std::string& path, const std::vector<std::string>& overrides = {});
CardConfig config_from_json(const nlohmann::json& j, const std::string& origin);
// Resolves a preset name ("default", "edge") or a path to a file path.
std::string resolve_config_path(const std::string& name_or_path);

}  // namespace cardsim
