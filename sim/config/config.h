// Card configuration: the schema table (one definition that drives validation, default
// filling and docs/CONFIG.md), presets, `extends`, overrides, energy defaults.
// load_config / config_from_json / resolve_config_path are declared in sim/card_config.h.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/card_config.h"

namespace cardsim {

enum class ConfigType {
  Int,         // JSON integer
  Size,        // byte count: JSON integer or a string such as "24MiB", "64KiB", "2GB"
  Float,       // JSON number
  Bool,        // true / false
  String,      // free text
  Enum,        // one string of `allowed`
  StringList,  // array of distinct strings from `allowed`; length in [min, max]
  IntMap,      // object {key: integer}; keys from `allowed`, or any identifier when empty
  FloatMap,    // object {key: number}; keys as for IntMap
};
std::string_view config_type_name(ConfigType t);

// One row of the schema: a leaf of the configuration JSON.
struct ConfigField {
  std::string path;               // JSON path, e.g. "matrix.rows"
  ConfigType type;
  nlohmann::json default_value;   // null: derived from other fields, see default_note
  double min = 0, max = 0;        // numbers (and map values): inclusive range; lists: length
  std::vector<std::string> allowed;  // Enum values, list items, map keys
  std::vector<double> one_of;     // numbers: the only values allowed (empty: any in range)
  bool power_of_two = false;
  std::string unit;
  std::string doc;
  std::string default_note;       // how a derived default is obtained
  void (*store)(CardConfig&, const nlohmann::json&) = nullptr;  // copies the value into the struct
};

// The schema table, in document order.
const std::vector<ConfigField>& config_schema();
const ConfigField* find_config_field(std::string_view path);

// Pretty JSON of cfg.effective: keys sorted, 2-space indent, deterministic.
std::string config_to_string(const CardConfig& cfg);

// The generated reference block of docs/CONFIG.md (between the GENERATED markers).
std::string config_reference_markdown();
// Replaces the generated block of the markdown text `doc` by config_reference_markdown().
// Throws Error(Config) if the markers are missing.
std::string config_doc_with_reference(const std::string& doc);

// "24MiB" -> 25165824, "64 KiB", "2GB" (decimal), "4096", "1.5MiB". nullopt if not a size
// or not a whole number of bytes.
std::optional<uint64_t> parse_byte_size(std::string_view text);
// Override value: JSON if it parses as JSON, else the text as a JSON string.
nlohmann::json parse_override_value(std::string_view text);
// Preset names found in the search directories (sorted).
std::vector<std::string> config_presets();

// --- energy defaults (energy.cc) ---
// Dynamic-energy scale factor from the 45 nm / 0.9 V reference to (technology_nm, voltage):
// (technology_nm / 45) * (voltage / 0.9)^2. See docs/CONFIG.md "Energy scaling".
double energy_scale_from_45nm(double technology_nm, double voltage);
// Energy of one 64-bit SRAM read at 45 nm for a bank of `bank_bytes`, interpolated log-log
// through Horowitz's 8 KB / 32 KB / 1 MB points (10 / 20 / 100 pJ), end slopes extrapolated.
double sram_read_64b_pj_45nm(double bank_bytes);
// DRAM energy per bit for a standard (Accelergy / DRAMSim3 figures; see docs/CONFIG.md).
double dram_pj_per_bit_for(const std::string& standard);
// The per-action keys energy.actions_pj accepts, and their defaults for a card whose other
// fields are already in `effective` (explicit entries of `given` win; MACs are derived from
// the multiply and add entries unless given).
const std::vector<std::string>& energy_action_keys();
nlohmann::json default_actions_pj(const nlohmann::json& effective, const nlohmann::json& given);
const std::vector<std::string>& leakage_component_keys();
nlohmann::json default_leakage_mw(const nlohmann::json& effective, const nlohmann::json& given);

}  // namespace cardsim
