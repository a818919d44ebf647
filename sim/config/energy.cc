// Default energy figures: a 45 nm per-action table (Horowitz, ISSCC 2014) scaled to the
// configured node and voltage, SRAM access energy by bank size, DRAM energy per standard,
// and placeholder leakage. docs/CONFIG.md states every figure's source or assumption.
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "sim/config/config.h"

namespace cardsim {
namespace {

using json = nlohmann::json;

constexpr double kRefNodeNm = 45, kRefVoltage = 0.9;  // Horowitz's 45 nm figures assume ~0.9 V

// 45 nm arithmetic energies in pJ (Horowitz, ISSCC 2014). bf16 has no published figure:
// taken equal to f16 (conservative: bf16's 8-bit mantissa multiplier is smaller).
struct ActionRef { const char* key; double pj_45nm; };
constexpr ActionRef kArithmetic45nm[] = {
    {"add_i8", 0.03},  {"mul_i8", 0.2},   {"add_i32", 0.1},  {"mul_i32", 3.1},
    {"add_f16", 0.4},  {"mul_f16", 1.1},  {"add_bf16", 0.4}, {"mul_bf16", 1.1},
    {"add_f32", 0.9},  {"mul_f32", 3.7},
};
// A MAC is one multiply plus one add into the accumulator type (i8 -> i32, floats -> f32).
struct MacRule { const char* key; const char* mul; const char* add; };
constexpr MacRule kMacs[] = {
    {"mac_i8", "mul_i8", "add_i32"},
    {"mac_f16", "mul_f16", "add_f32"},
    {"mac_bf16", "mul_bf16", "add_f32"},
    {"mac_f32", "mul_f32", "add_f32"},
};

// Horowitz's 64-bit SRAM read energies at 45 nm: (capacity in bytes, pJ).
constexpr double kSramPoints[][2] = {{8 * 1024.0, 10}, {32 * 1024.0, 20}, {1024 * 1024.0, 100}};

// Rounded to 6 significant digits so the effective JSON reads cleanly and is stable.
double round6(double x) { return x == 0 ? 0 : std::stod(fmt::format("{:.6g}", x)); }

double num(const json& effective, const char* section, const char* key) {
  return effective.at(section).at(key).get<double>();
}

}  // namespace

double energy_scale_from_45nm(double technology_nm, double voltage) {
  // Dynamic energy = C·V²; switched capacitance taken proportional to feature size.
  return (technology_nm / kRefNodeNm) * (voltage / kRefVoltage) * (voltage / kRefVoltage);
}

double sram_read_64b_pj_45nm(double bank_bytes) {
  // Piecewise linear in log(size)-log(energy) through the three points; below the first
  // and above the last point the end segments' slopes are extended.
  constexpr int n = sizeof(kSramPoints) / sizeof(kSramPoints[0]);
  if (bank_bytes <= 0) bank_bytes = 1;
  int seg = 0;
  while (seg < n - 2 && bank_bytes > kSramPoints[seg + 1][0]) ++seg;
  const double x0 = std::log(kSramPoints[seg][0]), y0 = std::log(kSramPoints[seg][1]);
  const double x1 = std::log(kSramPoints[seg + 1][0]), y1 = std::log(kSramPoints[seg + 1][1]);
  const double slope = (y1 - y0) / (x1 - x0);
  return std::exp(y0 + slope * (std::log(bank_bytes) - x0));
}

double dram_pj_per_bit_for(const std::string& standard) {
  // Accelergy tables: LPDDR4 8, DDR3 70, GDDR5 14, HBM2 3.9. DDR4: DRAMSim3 core energy is
  // 11-21 pJ/bit by access pattern; 15 taken. HBM2e, GDDR6, LPDDR5: no figure at hand,
  // taken equal to their predecessors (HBM2, GDDR5, LPDDR4) — an upper bound.
  if (standard == "LPDDR4" || standard == "LPDDR5") return 8;
  if (standard == "DDR3") return 70;
  if (standard == "DDR4") return 15;
  if (standard == "GDDR5" || standard == "GDDR6") return 14;
  if (standard == "HBM2" || standard == "HBM2e") return 3.9;
  fail(ErrorKind::Internal, "dram_pj_per_bit_for: no energy figure for DRAM standard '{}'", standard);
}

const std::vector<std::string>& energy_action_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const ActionRef& a : kArithmetic45nm) k.push_back(a.key);
    for (const MacRule& m : kMacs) k.push_back(m.key);
    for (const char* s : {"sram_read_64b", "sram_write_64b", "acc_read_64b", "acc_write_64b", "lut_read"})
      k.push_back(s);
    return k;
  }();
  return keys;
}

json default_actions_pj(const json& effective, const json& given) {
  const double scale = energy_scale_from_45nm(num(effective, "energy", "technology_nm"),
                                              num(effective, "energy", "voltage"));
  json out = json::object();
  auto pick = [&](const std::string& key, double computed) {
    out[key] = given.contains(key) ? given.at(key).get<double>() : round6(computed);
  };
  for (const ActionRef& a : kArithmetic45nm) pick(a.key, a.pj_45nm * scale);
  for (const MacRule& m : kMacs) pick(m.key, out[m.mul].get<double>() + out[m.add].get<double>());
  // SRAM per 64-bit access by bank size; writes taken equal to reads (no separate figure).
  const double sram_bank = num(effective, "sram", "size_bytes") / num(effective, "sram", "banks");
  const double acc_bank = num(effective, "accumulator", "size_bytes") / num(effective, "accumulator", "banks");
  pick("sram_read_64b", sram_read_64b_pj_45nm(sram_bank) * scale);
  pick("sram_write_64b", sram_read_64b_pj_45nm(sram_bank) * scale);
  pick("acc_read_64b", sram_read_64b_pj_45nm(acc_bank) * scale);
  pick("acc_write_64b", sram_read_64b_pj_45nm(acc_bank) * scale);
  // One vector-unit table lookup: a read from a table of table_entries 32-bit words.
  pick("lut_read", sram_read_64b_pj_45nm(num(effective, "vector", "table_entries") * 4) * scale);
  return out;
}

const std::vector<std::string>& leakage_component_keys() {
  static const std::vector<std::string> keys = {"matrix", "vector", "dma", "sram", "accumulator",
                                                "dram_ctrl", "pcie", "control"};
  return keys;
}

json default_leakage_mw(const json& effective, const json& given) {
  // Placeholders proportional to size, at the configured node (not scaled): order-of-magnitude
  // assumptions without a published source. Replace them with a library's numbers.
  const json& m = effective.at("matrix");
  const double pes = m.at("rows").get<double>() * m.at("cols").get<double>();
  const double mib = 1024.0 * 1024.0;
  json out = json::object();
  auto pick = [&](const std::string& key, double computed) {
    out[key] = given.contains(key) ? given.at(key).get<double>() : round6(computed);
  };
  pick("matrix", 0.01 * pes);
  pick("vector", 0.05 * num(effective, "vector", "lanes"));
  pick("dma", 2.0 * num(effective, "dma", "dma_channels"));
  pick("sram", 10.0 * num(effective, "sram", "size_bytes") / mib);
  pick("accumulator", 10.0 * num(effective, "accumulator", "size_bytes") / mib);
  pick("dram_ctrl", 5.0 * num(effective, "dram", "channels"));
  pick("pcie", 5.0 * num(effective, "pcie", "lanes"));
  pick("control", 5.0);
  return out;
}

}  // namespace cardsim
