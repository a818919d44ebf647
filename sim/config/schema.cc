// The configuration schema: one row per JSON leaf. Validation (config.cc), default filling
// and the reference in docs/CONFIG.md are all driven from this table.
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "sim/config/config.h"

// Rows name only the members they set; the rest keep their defaults (GCC 12 warns anyway).
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace cardsim {
namespace {

using json = nlohmann::json;

// Copies a validated (normalized) JSON value into a struct member.
void assign(int& m, const json& v) { m = v.get<int>(); }
void assign(uint64_t& m, const json& v) { m = v.get<uint64_t>(); }
void assign(double& m, const json& v) { m = v.get<double>(); }
void assign(bool& m, const json& v) { m = v.get<bool>(); }
void assign(std::string& m, const json& v) { m = v.get<std::string>(); }
void assign(std::vector<std::string>& m, const json& v) { m = v.get<std::vector<std::string>>(); }
void assign(std::map<std::string, int>& m, const json& v) { m = v.get<std::map<std::string, int>>(); }
void assign(std::map<std::string, double>& m, const json& v) {
  m = v.get<std::map<std::string, double>>();
}

#define STORE(member) [](CardConfig& c, const json& v) { assign(c.member, v); }

constexpr double kKiB = 1024.0, kMiB = kKiB * 1024, kGiB = kMiB * 1024, kTiB = kGiB * 1024;
constexpr const char* kDerivedDram = "from `dram.standard` (table DRAM standards)";
constexpr const char* kFromGrade = "0 = from `dram.speed_grade`";

using T = ConfigType;

std::vector<ConfigField> timing_fields() {
  // DramTiming, in the order of sim/card_config.h. All default to 0 = from the speed grade.
  std::vector<ConfigField> f;
  f.push_back({.path = "dram.timing.tCK_ns", .type = T::Float, .default_value = 0, .min = 0, .max = 100,
               .unit = "ns", .doc = "DRAM clock period", .default_note = kFromGrade,
               .store = STORE(dram.timing.tCK_ns)});
  struct Row { const char* name; const char* doc; void (*store)(CardConfig&, const json&); };
  const Row rows[] = {
      {"CL", "read (CAS) latency", STORE(dram.timing.CL)},
      {"CWL", "write latency", STORE(dram.timing.CWL)},
      {"tRCD", "activate to read/write", STORE(dram.timing.tRCD)},
      {"tRP", "precharge period", STORE(dram.timing.tRP)},
      {"tRAS", "activate to precharge", STORE(dram.timing.tRAS)},
      {"tRC", "activate to activate, same bank", STORE(dram.timing.tRC)},
      {"tRRD_S", "activate to activate, different bank group", STORE(dram.timing.tRRD_S)},
      {"tRRD_L", "activate to activate, same bank group", STORE(dram.timing.tRRD_L)},
      {"tFAW", "four-activate window", STORE(dram.timing.tFAW)},
      {"tCCD_S", "column to column, different bank group", STORE(dram.timing.tCCD_S)},
      {"tCCD_L", "column to column, same bank group", STORE(dram.timing.tCCD_L)},
      {"tWR", "write recovery", STORE(dram.timing.tWR)},
      {"tWTR_S", "write to read, different bank group", STORE(dram.timing.tWTR_S)},
      {"tWTR_L", "write to read, same bank group", STORE(dram.timing.tWTR_L)},
      {"tRTP", "read to precharge", STORE(dram.timing.tRTP)},
      {"tREFI", "refresh interval", STORE(dram.timing.tREFI)},
      {"tRFC", "refresh cycle time", STORE(dram.timing.tRFC)},
  };
  for (const Row& r : rows)
    f.push_back({.path = std::string("dram.timing.") + r.name, .type = T::Int, .default_value = 0,
                 .min = 0, .max = 1e6, .unit = "tCK", .doc = r.doc, .default_note = kFromGrade,
                 .store = r.store});
  f.push_back({.path = "dram.timing.BL", .type = T::Int, .default_value = 0, .min = 0, .max = 64,
               .one_of = {0, 2, 4, 8, 16, 32}, .unit = "beats", .doc = "burst length",
               .default_note = kFromGrade, .store = STORE(dram.timing.BL)});
  return f;
}

std::vector<ConfigField> build_schema() {
  std::vector<ConfigField> s = {
      // --- top level ---
      {.path = "name", .type = T::String, .default_value = "default", .unit = "",
       .doc = "card name, shown in reports", .store = STORE(name)},
      {.path = "clock_ghz", .type = T::Float, .default_value = 1.0, .min = 0.01, .max = 10, .unit = "GHz",
       .doc = "core clock of the matrix unit, vector unit, DMA engine and SRAM", .store = STORE(clock_ghz)},

      // --- matrix unit ---
      {.path = "matrix.rows", .type = T::Int, .default_value = 128, .min = 1, .max = 4096, .unit = "PE",
       .doc = "systolic array rows", .store = STORE(matrix.rows)},
      {.path = "matrix.cols", .type = T::Int, .default_value = 128, .min = 1, .max = 4096, .unit = "PE",
       .doc = "systolic array columns", .store = STORE(matrix.cols)},
      {.path = "matrix.dataflows", .type = T::StringList, .default_value = {"ws", "os"}, .min = 1, .max = 3,
       .allowed = {"ws", "os", "is"}, .unit = "",
       .doc = "dataflows the array supports (weight / output / input stationary); the compiler picks per layer",
       .store = STORE(matrix.dataflows)},
      {.path = "matrix.dtypes", .type = T::StringList, .default_value = {"i8", "f16", "bf16", "f32"},
       .min = 1, .max = 5, .allowed = {"i8", "i16", "f16", "bf16", "f32"}, .unit = "",
       .doc = "element types the array computes in (i8 accumulates in i32, floats in f32; i16: int8 mixed "
              "precision, 16-bit operands in byte passes of the 8-bit array into i64 accumulators)",
       .store = STORE(matrix.dtypes)},
      {.path = "matrix.weight_buffers", .type = T::Int, .default_value = 2, .min = 1, .max = 8, .unit = "tiles",
       .doc = "weight tiles held per PE; >= 2 = double buffering: consecutive folds pipeline (fold i+1 fills during fold i, fill and drain paid once per instruction)",
       .store = STORE(matrix.weight_buffers)},
      {.path = "matrix.fp32_rate", .type = T::Float, .default_value = 0.25, .min = 0, .max = 1, .unit = "× i8",
       .doc = "f32 MACs per PE per cycle relative to i8; must be > 0 if `f32` is in `dtypes`",
       .store = STORE(matrix.fp32_rate)},
      {.path = "matrix.fp16_rate", .type = T::Float, .default_value = 0.5, .min = 0, .max = 1, .unit = "× i8",
       .doc = "f16/bf16 MACs per PE per cycle relative to i8; must be > 0 if `f16` or `bf16` is in `dtypes`",
       .store = STORE(matrix.fp16_rate)},

      // --- vector unit ---
      {.path = "vector.lanes", .type = T::Int, .default_value = 128, .min = 1, .max = 65536, .unit = "elements",
       .doc = "elements processed per cycle", .store = STORE(vector.lanes)},
      {.path = "vector.latency", .type = T::IntMap,
       .default_value = {{"default", 4}, {"exp", 8}, {"log", 8}, {"sigmoid", 8}, {"tanh", 8}, {"erf", 8},
                         {"gelu", 10}, {"recip", 8}, {"sqrt", 8}, {"div", 10}, {"pow", 12}},
       .min = 0, .max = 100000, .unit = "cycles",
       .doc = "pipeline latency per function (ISA function name); `default` applies to functions not "
              "listed; given entries are merged over the defaults",
       .store = STORE(vector.latency)},
      {.path = "vector.cost", .type = T::FloatMap,
       .default_value = {{"default", 1.0}, {"div", 2.0}, {"pow", 4.0}, {"erf", 2.0}, {"gelu", 2.0}},
       .min = 0.001, .max = 10000, .unit = "cycles/element-lane",
       .doc = "issue cost per function: cycles per element per lane (1 = full rate); `default` "
              "applies to functions not listed; merged over the defaults",
       .store = STORE(vector.cost)},
      {.path = "vector.table_entries", .type = T::Int, .default_value = 256, .min = 2, .max = 65536,
       .power_of_two = true, .unit = "entries", .doc = "lookup-table size for nonlinear functions",
       .store = STORE(vector.table_entries)},

      // --- DMA / data engine ---
      {.path = "dma.dma_channels", .type = T::Int, .default_value = 4, .min = 1, .max = 64, .unit = "channels",
       .doc = "independent DMA queues", .store = STORE(dma.dma_channels)},
      {.path = "dma.max_outstanding", .type = T::Int, .default_value = 64, .min = 1, .max = 4096,
       .unit = "requests", .doc = "DRAM requests in flight per channel", .store = STORE(dma.max_outstanding)},
      {.path = "dma.request_bytes", .type = T::Int, .default_value = 64, .min = 16, .max = 4096,
       .power_of_two = true, .unit = "bytes",
       .doc = "DRAM request granularity; a multiple of the DRAM burst (bus width × BL / 8)",
       .store = STORE(dma.request_bytes)},
      {.path = "dma.compression", .type = T::Bool, .default_value = false, .unit = "",
       .doc = "on-the-fly weight decompression (zero-run / bitmask)", .store = STORE(dma.compression)},
      {.path = "dma.setup_cycles", .type = T::Float, .default_value = 32, .min = 0, .max = 1e6, .unit = "cycles",
       .doc = "overhead per DMA descriptor", .store = STORE(dma.setup_cycles)},

      // --- on-chip SRAM ---
      {.path = "sram.size_bytes", .type = T::Size, .default_value = uint64_t(24) << 20, .min = kKiB, .max = kTiB,
       .unit = "bytes", .doc = "unified on-chip buffer (activations and weights); a multiple of banks × bank_width_bytes",
       .store = STORE(sram.size_bytes)},
      {.path = "sram.banks", .type = T::Int, .default_value = 32, .min = 1, .max = 1024, .power_of_two = true,
       .unit = "banks", .doc = "independently addressed banks (address-interleaved)", .store = STORE(sram.banks)},
      {.path = "sram.bank_width_bytes", .type = T::Int, .default_value = 64, .min = 1, .max = 4096,
       .power_of_two = true, .unit = "bytes", .doc = "bytes per bank per port per cycle",
       .store = STORE(sram.bank_width_bytes)},
      {.path = "sram.ports", .type = T::Int, .default_value = 2, .min = 1, .max = 4, .unit = "ports",
       .doc = "ports per bank (accesses per bank per cycle)", .store = STORE(sram.ports)},

      // --- accumulators ---
      {.path = "accumulator.size_bytes", .type = T::Size, .default_value = uint64_t(4) << 20, .min = kKiB,
       .max = 64 * kGiB, .unit = "bytes", .doc = "matrix-unit accumulator memory (32-bit words); a multiple of 4 × banks",
       .store = STORE(accumulator.size_bytes)},
      {.path = "accumulator.banks", .type = T::Int, .default_value = 16, .min = 1, .max = 1024,
       .power_of_two = true, .unit = "banks", .doc = "accumulator banks", .store = STORE(accumulator.banks)},

      // --- DRAM ---
      {.path = "dram.standard", .type = T::Enum, .default_value = "HBM2e",
       .allowed = {"DDR3", "DDR4", "LPDDR4", "LPDDR5", "GDDR5", "GDDR6", "HBM2", "HBM2e"}, .unit = "",
       .doc = "DRAM standard", .store = STORE(dram.standard)},
      {.path = "dram.speed_grade", .type = T::String, .default_value = nullptr, .unit = "",
       .doc = "speed grade from the DRAM model's table (e.g. `DDR4_3200`); an unknown grade lists the known ones",
       .default_note = "the standard's default grade (table DRAM standards)", .store = STORE(dram.speed_grade)},
      {.path = "dram.channels", .type = T::Int, .default_value = 8, .min = 1, .max = 128, .unit = "channels",
       .doc = "independent channels (HBM: per stack × stacks)", .store = STORE(dram.channels)},
      {.path = "dram.ranks", .type = T::Int, .default_value = 1, .min = 1, .max = 8, .unit = "ranks",
       .doc = "ranks per channel", .store = STORE(dram.ranks)},
      {.path = "dram.bank_groups", .type = T::Int, .default_value = nullptr, .min = 1, .max = 16,
       .power_of_two = true, .unit = "", .doc = "bank groups per rank", .default_note = kDerivedDram,
       .store = STORE(dram.bank_groups)},
      {.path = "dram.banks_per_group", .type = T::Int, .default_value = nullptr, .min = 1, .max = 64,
       .power_of_two = true, .unit = "", .doc = "banks per bank group", .default_note = kDerivedDram,
       .store = STORE(dram.banks_per_group)},
      {.path = "dram.bus_width_bits", .type = T::Int, .default_value = nullptr, .min = 8, .max = 1024,
       .unit = "bits", .doc = "data bus width per channel; must be one the standard allows",
       .default_note = kDerivedDram, .store = STORE(dram.bus_width_bits)},
      {.path = "dram.row_bytes", .type = T::Size, .default_value = nullptr, .min = 256, .max = 65536,
       .power_of_two = true, .unit = "bytes", .doc = "row (page) size per bank as the controller sees it",
       .default_note = kDerivedDram, .store = STORE(dram.row_bytes)},
      {.path = "dram.capacity_bytes", .type = T::Size, .default_value = uint64_t(16) << 30, .min = kMiB,
       .max = 16 * kTiB, .unit = "bytes",
       .doc = "total capacity; a multiple of channels × ranks × banks × row_bytes",
       .store = STORE(dram.capacity_bytes)},
      {.path = "dram.address_mapping", .type = T::String, .default_value = "RoBaRaCoCh", .unit = "",
       .doc = "address bit order MSB..LSB, Ramulator style: each of Ro, Ba, Ra, Co, Ch once, Bg optional "
              "(without Bg the bank-group bits sit with Ba)",
       .store = STORE(dram.address_mapping)},
      {.path = "dram.page_policy", .type = T::Enum, .default_value = "open", .allowed = {"open", "closed"},
       .unit = "", .doc = "row buffer policy", .store = STORE(dram.page_policy)},
      {.path = "dram.scheduler", .type = T::Enum, .default_value = "FRFCFS", .allowed = {"FRFCFS", "FCFS"},
       .unit = "", .doc = "controller scheduler: first-ready FCFS (row hits first) or plain FCFS",
       .store = STORE(dram.scheduler)},
      {.path = "dram.refresh", .type = T::Bool, .default_value = true, .unit = "",
       .doc = "model refresh (tREFI / tRFC)", .store = STORE(dram.refresh)},
      {.path = "dram.controller_latency_ns", .type = T::Float, .default_value = 2, .min = 0, .max = 10000,
       .unit = "ns", .doc = "controller front end + PHY, added to every request",
       .store = STORE(dram.controller_latency_ns)},
  };
  for (ConfigField& f : timing_fields()) s.push_back(std::move(f));
  std::vector<ConfigField> rest = {

      // --- PCIe ---
      {.path = "pcie.gen", .type = T::Int, .default_value = 4, .min = 1, .max = 5, .unit = "",
       .doc = "PCIe generation (1-2: 8b/10b, 3-5: 128b/130b encoding)", .store = STORE(pcie.gen)},
      {.path = "pcie.lanes", .type = T::Int, .default_value = 16, .min = 1, .max = 16, .one_of = {1, 2, 4, 8, 16},
       .unit = "lanes", .doc = "link width", .store = STORE(pcie.lanes)},
      {.path = "pcie.max_payload", .type = T::Int, .default_value = 256, .min = 128, .max = 4096,
       .power_of_two = true, .unit = "bytes", .doc = "max payload size of a TLP", .store = STORE(pcie.max_payload)},
      {.path = "pcie.max_read_request", .type = T::Int, .default_value = 512, .min = 128, .max = 4096,
       .power_of_two = true, .unit = "bytes", .doc = "max read request size", .store = STORE(pcie.max_read_request)},
      {.path = "pcie.read_completion", .type = T::Int, .default_value = 256, .min = 64, .max = 256,
       .one_of = {64, 128, 256}, .unit = "bytes",
       .doc = "completion size for reads (read completion boundary); at most max_payload",
       .store = STORE(pcie.read_completion)},
      {.path = "pcie.latency_ns", .type = T::Float, .default_value = 350, .min = 0, .max = 1e6, .unit = "ns",
       .doc = "one-way link + switch latency, unloaded", .store = STORE(pcie.latency_ns)},
      {.path = "pcie.dma_round_trip_ns", .type = T::Float, .default_value = 1000, .min = 0, .max = 1e7,
       .unit = "ns", .doc = "card DMA read of host memory: request to first data", .store = STORE(pcie.dma_round_trip_ns)},

      // --- energy ---
      {.path = "energy.technology_nm", .type = T::Float, .default_value = 16, .min = 3, .max = 250, .unit = "nm",
       .doc = "process node the per-action energies are scaled to", .store = STORE(energy.technology_nm)},
      {.path = "energy.voltage", .type = T::Float, .default_value = 0.8, .min = 0.3, .max = 2.0, .unit = "V",
       .doc = "core supply voltage the per-action energies are scaled to", .store = STORE(energy.voltage)},
      {.path = "energy.actions_pj", .type = T::FloatMap, .default_value = nullptr, .min = 0, .max = 1e6,
       .allowed = energy_action_keys(), .unit = "pJ",
       .doc = "energy per action (keys in table Energy actions); entries given win over the scaled defaults",
       .default_note = "45 nm table scaled to `technology_nm` / `voltage`", .store = STORE(energy.actions_pj)},
      {.path = "energy.leakage_mw", .type = T::FloatMap, .default_value = nullptr, .min = 0, .max = 1e6,
       .allowed = leakage_component_keys(), .unit = "mW", .doc = "static power per component",
       .default_note = "size-proportional placeholders (section Energy)", .store = STORE(energy.leakage_mw)},
      {.path = "energy.dram_pj_per_bit", .type = T::Float, .default_value = nullptr, .min = 0, .max = 1000,
       .unit = "pJ/bit", .doc = "DRAM access energy per bit transferred (device + I/O)",
       .default_note = kDerivedDram, .store = STORE(energy.dram_pj_per_bit)},
      {.path = "energy.pcie_pj_per_bit", .type = T::Float, .default_value = 6, .min = 0, .max = 1000,
       .unit = "pJ/bit", .doc = "PCIe PHY energy per bit at each end of the link (Gen3 PHY figure)",
       .store = STORE(energy.pcie_pj_per_bit)},

      // --- host ---
      {.path = "host.op_gflops", .type = T::Float, .default_value = 20, .min = 0.001, .max = 1e6, .unit = "GFLOP/s",
       .doc = "host speed for operators placed on the host", .store = STORE(host.op_gflops)},
      {.path = "host.irq_latency_ns", .type = T::Float, .default_value = 2000, .min = 0, .max = 1e9, .unit = "ns",
       .doc = "interrupt to host handler", .store = STORE(host.irq_latency_ns)},
  };
  for (ConfigField& f : rest) s.push_back(std::move(f));
  return s;
}

#undef STORE

}  // namespace

std::string_view config_type_name(ConfigType t) {
  switch (t) {
    case T::Int: return "integer";
    case T::Size: return "size";
    case T::Float: return "number";
    case T::Bool: return "boolean";
    case T::String: return "string";
    case T::Enum: return "enum";
    case T::StringList: return "list";
    case T::IntMap: return "map of integers";
    case T::FloatMap: return "map of numbers";
  }
  return "?";
}

const std::vector<ConfigField>& config_schema() {
  static const std::vector<ConfigField> schema = [] {
    std::vector<ConfigField> s = build_schema();
    // Store number defaults in their JSON type (32 -> 32.0 for a Float), so the effective
    // JSON prints the same whether a value came from a default or from a file.
    for (ConfigField& f : s) {
      if (f.type == T::Float && f.default_value.is_number()) f.default_value = f.default_value.get<double>();
      if (f.type == T::FloatMap && f.default_value.is_object())
        for (auto& [k, v] : f.default_value.items()) v = v.get<double>();
    }
    return s;
  }();
  return schema;
}

const ConfigField* find_config_field(std::string_view path) {
  for (const ConfigField& f : config_schema())
    if (f.path == path) return &f;
  return nullptr;
}

}  // namespace cardsim
