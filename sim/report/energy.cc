#include "sim/report/energy.h"

#include <cmath>

#include "core/error.h"

namespace cardsim::report {

const std::vector<std::string>& energy_components() {
  static const std::vector<std::string> c = {
      "matrix_unit", "vector_unit", "sram", "accumulator", "instruction_fetch", "dram_activate", "dram_read",
      "dram_write", "dram_refresh", "dram_io", "pcie", "host", "leakage"};
  return c;
}

std::vector<std::pair<std::string, int>> vector_fn_actions(const std::string& fn) {
  // The vector unit computes in f32 (requant in integers). Comparisons, selections and
  // additions cost one f32 add; products a multiply and an add; transcendental and
  // division-like functions a table lookup plus an interpolation (multiply + add).
  static const std::map<std::string, std::vector<std::pair<std::string, int>>> table = [] {
    std::map<std::string, std::vector<std::pair<std::string, int>>> t;
    for (const char* f : {"copy", "relu", "clip", "neg", "abs", "floor", "ceil", "round", "add", "sub", "max", "min",
                          "equal", "less", "greater", "sum", "mean", "rmax", "rmin", "maxpool", "avgpool"})
      t[f] = {{"add_f32", 1}};
    for (const char* f : {"leakyrelu", "prelu", "mul", "sumsq", "hardsigmoid", "hardswish"})
      t[f] = {{"mul_f32", 1}, {"add_f32", 1}};
    for (const char* f : {"sigmoid", "tanh", "erf", "exp", "log", "sqrt", "recip", "gelu", "div", "pow"})
      t[f] = {{"lut_read", 1}, {"mul_f32", 1}, {"add_f32", 1}};
    t["requant"] = {{"mul_i32", 1}, {"add_i32", 1}};
    return t;
  }();
  std::string key;
  for (char ch : fn) key += char(std::tolower(static_cast<unsigned char>(ch)));
  auto it = table.find(key);
  if (it != table.end()) return it->second;
  return {{"mul_f32", 1}, {"add_f32", 1}};  // unknown function: a multiply-add (documented)
}

namespace {

double action_pj(const CardConfig& cfg, const std::string& key) {
  auto it = cfg.energy.actions_pj.find(key);
  if (it == cfg.energy.actions_pj.end())
    fail(ErrorKind::Config, "energy.actions_pj: no entry '{}' (the energy model needs it; see docs/CONFIG.md)", key);
  return it->second;
}

uint64_t to_fj(double pj) { return pj <= 0 ? 0 : uint64_t(std::llround(pj * 1000.0)); }

}  // namespace

EnergyBreakdown compute_energy(const card::RunStats& s, const CardConfig& cfg, double leakage_ns) {
  EnergyBreakdown e;
  auto add = [&](const std::string& component, const std::string& action, uint64_t count, double pj_each) {
    if (count == 0) return;
    ActionEnergy& a = e.by_action[action];
    if (!a.component.empty() && a.component != component)
      fail(ErrorKind::Internal, "energy: action '{}' charged to both '{}' and '{}'", action, a.component, component);
    a.component = component;
    a.pj_each = pj_each;
    a.count += count;
  };
  // Matrix unit: MACs by operand type.
  for (const auto& [dtype, macs] : s.macs_by_type) {
    std::string key = "mac_" + dtype;
    if (!cfg.energy.actions_pj.count(key)) key = (!dtype.empty() && (dtype[0] == 'i' || dtype[0] == 'u')) ? "mac_i8" : "mac_f32";
    add("matrix_unit", key, macs, action_pj(cfg, key));
  }
  // Vector unit: element operations by function.
  std::map<std::string, uint64_t> vector_actions;
  for (const auto& [fn, elems] : s.vector_elems_by_fn)
    for (const auto& [action, n] : vector_fn_actions(fn)) vector_actions[action] += elems * uint64_t(n);
  for (const auto& [action, n] : vector_actions) add("vector_unit", "vpu_" + action, n, action_pj(cfg, action));
  // On-chip memories, per 64-bit access (a partial access costs a whole one).
  auto accesses = [](uint64_t bytes) { return (bytes + 7) / 8; };
  add("sram", "sram_read_64b", accesses(s.memory.sram_read_bytes), action_pj(cfg, "sram_read_64b"));
  add("sram", "sram_write_64b", accesses(s.memory.sram_write_bytes), action_pj(cfg, "sram_write_64b"));
  add("accumulator", "acc_read_64b", accesses(s.memory.acc_read_bytes), action_pj(cfg, "acc_read_64b"));
  add("accumulator", "acc_write_64b", accesses(s.memory.acc_write_bytes), action_pj(cfg, "acc_write_64b"));
  // Instruction fetch: read from the on-chip instruction memory, costed as SRAM reads.
  add("instruction_fetch", "fetch_64b", accesses(s.instruction_fetch_bytes), action_pj(cfg, "sram_read_64b"));
  // DRAM (see kDram*Share).
  const double dram_bit = cfg.energy.dram_pj_per_bit;
  const double row_bits = double(cfg.dram.row_bytes) * 8.0;
  const uint64_t banks = uint64_t(std::max(1, cfg.dram.ranks * cfg.dram.bank_groups * cfg.dram.banks_per_group));
  uint64_t acts = 0, refs = 0, rd_bits = 0, wr_bits = 0;
  for (const auto& ch : s.dram.channels) {
    acts += ch.activates;
    refs += ch.refreshes;
    rd_bits += ch.bytes_read * 8;
    wr_bits += ch.bytes_written * 8;
  }
  const double act_pj = kDramActivateShare * dram_bit * row_bits;
  add("dram_activate", "dram_activate", acts, act_pj);
  add("dram_refresh", "dram_refresh", refs, act_pj * double(banks));
  add("dram_read", "dram_read_bit", rd_bits, kDramColumnShare * dram_bit);
  add("dram_write", "dram_write_bit", wr_bits, kDramColumnShare * dram_bit);
  add("dram_io", "dram_io_bit", rd_bits + wr_bits, kDramIoShare * dram_bit);
  // PCIe: every wire bit (payload + TLP/DLLP overhead) costs pcie_pj_per_bit at each end.
  add("pcie", "pcie_bit_per_end", (s.pcie.h2d.wire_bytes + s.pcie.d2h.wire_bytes) * 8 * 2, cfg.energy.pcie_pj_per_bit);
  // Leakage: mW × ns = pJ.
  const uint64_t ns = leakage_ns > 0 ? uint64_t(std::llround(leakage_ns)) : 0;
  for (const auto& [component, mw] : cfg.energy.leakage_mw) add("leakage", "leakage_" + component, ns, mw);

  for (const std::string& c : energy_components()) e.by_component_fj[c] = 0;
  for (auto& [key, a] : e.by_action) {
    a.energy_fj = to_fj(double(a.count) * a.pj_each);
    e.by_component_fj[a.component] += a.energy_fj;
    e.total_fj += a.energy_fj;
  }
  return e;
}

}  // namespace cardsim::report
