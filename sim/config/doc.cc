// The generated reference block of docs/CONFIG.md, from the schema table.
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "sim/config/config.h"
#include "sim/config/standards.h"

namespace cardsim {
namespace {

using json = nlohmann::json;

constexpr std::string_view kBegin = "<!-- BEGIN GENERATED -->";
constexpr std::string_view kEnd = "<!-- END GENERATED -->";

std::string bytes_text(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (u < 4 && b >= 1024 && std::fmod(b, 1024) == 0) b /= 1024, ++u;
  return fmt::format("{} {}", b, units[u]);
}

std::string section_of(const std::string& path) {
  size_t dot = path.rfind('.');
  return dot == std::string::npos ? "" : path.substr(0, dot);
}

std::string join_quoted(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + fmt::format("`{}`", v[i]);
  return out;
}

std::string default_text(const ConfigField& f) {
  if (f.default_value.is_null()) return "derived: " + f.default_note;
  std::string s = f.type == ConfigType::Size ? bytes_text(f.default_value.get<double>())
                                             : f.default_value.dump();
  s = "`" + s + "`";
  if (!f.default_note.empty()) s += " (" + f.default_note + ")";
  return s;
}

std::string allowed_text(const ConfigField& f) {
  const std::string pow2 = f.power_of_two ? "power of two, " : "";
  switch (f.type) {
    case ConfigType::Int:
    case ConfigType::Float:
      if (!f.one_of.empty()) {
        std::vector<std::string> v;
        for (double d : f.one_of) v.push_back(fmt::format("{}", d));
        return join_quoted(v);
      }
      return fmt::format("{}{} … {}", pow2, f.min, f.max);
    case ConfigType::Size:
      return fmt::format("{}{} … {}; integer or string (`\"24MiB\"`)", pow2, bytes_text(f.min), bytes_text(f.max));
    case ConfigType::Bool: return "`true`, `false`";
    case ConfigType::String: return f.path == "dram.address_mapping" ? "Ro Ba Ra Co Ch once each, Bg optional" : "text";
    case ConfigType::Enum: return join_quoted(f.allowed);
    case ConfigType::StringList: return fmt::format("{} to {} of {}", f.min, f.max, join_quoted(f.allowed));
    case ConfigType::IntMap:
    case ConfigType::FloatMap:
      return fmt::format("keys: {}; values {} … {}", f.allowed.empty() ? "function names" : "see below", f.min,
                         f.max);
  }
  return "";
}

}  // namespace

std::string config_reference_markdown() {
  std::string md;
  md += "<!-- Generated from the schema table in sim/config/schema.cc by `cmake --build <dir> --target "
        "config_gen_doc`; do not edit by hand. -->\n";
  std::string current = "\x01";
  for (const ConfigField& f : config_schema()) {
    const std::string section = section_of(f.path);
    if (section != current) {
      current = section;
      md += fmt::format("\n### {}\n\n", section.empty() ? "Top level" : "`" + section + "`");
      md += "| key | type | default | allowed | unit | meaning |\n|---|---|---|---|---|---|\n";
    }
    md += fmt::format("| `{}` | {} | {} | {} | {} | {} |\n", f.path, config_type_name(f.type), default_text(f),
                      allowed_text(f), f.unit, f.doc);
  }

  md += "\n### DRAM standards\n\nDefaults that depend on `dram.standard` (a field given explicitly wins):\n\n";
  md += "| standard | bank_groups | banks_per_group | bus_width_bits (allowed) | row_bytes | speed_grade | "
        "dram_pj_per_bit |\n|---|---|---|---|---|---|---|\n";
  for (const config_detail::StandardInfo& s : config_detail::standards_table()) {
    std::vector<std::string> widths;
    for (int w : s.bus_widths) widths.push_back(std::to_string(w));
    std::string allowed;
    for (size_t i = 0; i < widths.size(); ++i) allowed += (i ? ", " : "") + widths[i];
    md += fmt::format("| {} | {} | {} | {} ({}) | {} | `{}` | {} |\n", s.name, s.bank_groups, s.banks_per_group,
                      s.bus_width_bits, allowed, s.row_bytes, s.speed_grade, dram_pj_per_bit_for(s.name));
  }

  md += "\n### Energy actions\n\nKeys of `energy.actions_pj` (pJ per action) and their defaults for the "
        "built-in defaults (16 nm, 0.8 V, 24 MiB / 32-bank SRAM, 4 MiB / 16-bank accumulators, "
        "256-entry tables):\n\n| key | default (pJ) |\n|---|---|\n";
  const CardConfig defaults = config_from_json(json::object(), "(built-in defaults)");
  for (const std::string& k : energy_action_keys())
    md += fmt::format("| `{}` | {} |\n", k, defaults.effective["energy"]["actions_pj"][k].dump());
  md += "\nKeys of `energy.leakage_mw` (mW) and their defaults for the built-in defaults:\n\n"
        "| key | default (mW) |\n|---|---|\n";
  for (const std::string& k : leakage_component_keys())
    md += fmt::format("| `{}` | {} |\n", k, defaults.effective["energy"]["leakage_mw"][k].dump());
  return md;
}

std::string config_doc_with_reference(const std::string& doc) {
  const size_t begin = doc.find(kBegin);
  const size_t end = doc.find(kEnd);
  if (begin == std::string::npos || end == std::string::npos || end < begin)
    fail(ErrorKind::Config, "docs/CONFIG.md: expected the markers '{}' and '{}' (in that order)", kBegin, kEnd);
  const size_t after_begin = begin + kBegin.size();
  return doc.substr(0, after_begin) + "\n" + config_reference_markdown() + doc.substr(end);
}

}  // namespace cardsim
