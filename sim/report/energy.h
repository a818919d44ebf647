// The energy model (Accelergy-style): energy = Σ action count × energy per action (the
// config's table) + leakage power × time. Integer femtojoules inside, so breakdowns that
// must add up (components, layers) add up exactly. docs/REPORT.md "Energy model".
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "models/card/stats.h"
#include "sim/card_config.h"

namespace cardsim::report {

// The config gives DRAM energy as one figure per bit transferred (device + I/O). It is split
// so that a page-sequential stream (one activate per row_bytes transferred) costs exactly
// that figure per bit: column read/write 50 %, I/O 30 %, activate 20 % (charged per ACT as
// 20 % × pJ/bit × row bits). Random access costs more (more activates per bit) — physically
// right. A refresh re-activates one row in every bank of the channel (a lower bound).
// Shares after Vogelsang, MICRO 2010 (row activation, column access and I/O each a large
// fraction of DDR3 access energy); an assumption, documented in docs/REPORT.md.
constexpr double kDramColumnShare = 0.5, kDramIoShare = 0.3, kDramActivateShare = 0.2;

// One action class: how many times it happened and what one costs.
struct ActionEnergy {
  std::string component;  // the by_component bucket it belongs to
  uint64_t count = 0;     // actions (leakage: ns of time)
  double pj_each = 0;     // pJ per action (leakage: mW, since 1 mW × 1 ns = 1 pJ)
  uint64_t energy_fj = 0; // llround(count × pj_each × 1000)
};

struct EnergyBreakdown {
  std::map<std::string, ActionEnergy> by_action;      // "mac_i8", "sram_read_64b", "leakage_sram", ...
  std::map<std::string, uint64_t> by_component_fj;    // "matrix_unit", "dram_activate", "leakage", ...
  uint64_t total_fj = 0;
};

// Components in the report's by_component, in a fixed order (all present, 0 when unused).
const std::vector<std::string>& energy_components();

// Energy of one vector-unit element operation by function name, as (action key, count) pairs
// of the config's arithmetic table: e.g. "requant" = mul_i32 + add_i32.
std::vector<std::pair<std::string, int>> vector_fn_actions(const std::string& fn);

// `leakage_ns`: how long the card was powered (the whole simulated time).
EnergyBreakdown compute_energy(const card::RunStats& stats, const CardConfig& cfg, double leakage_ns);

}  // namespace cardsim::report
