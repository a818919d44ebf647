// Loading a card configuration: read JSON, follow `extends`, apply overrides, validate
// every leaf against the schema table, fill defaults (static, per DRAM standard, from the
// speed grade, energy), check combinations, then copy into CardConfig.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "sim/config/config.h"
#include "sim/config/standards.h"
#ifdef CARDSIM_CONFIG_HAVE_DRAM
#include "models/dram/dram_model.h"
#endif

namespace cardsim {
namespace {

namespace fs = std::filesystem;
using config_detail::StandardInfo;
using config_detail::standard_info;
using json = nlohmann::json;

constexpr int kMaxExtendsDepth = 32;

// ---------------------------------------------------------------------------------------
// Small helpers

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.emplace_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? std::string(sep) : "") + v[i];
  return out;
}

std::string parent_path(const std::string& path) {
  size_t dot = path.rfind('.');
  return dot == std::string::npos ? "" : path.substr(0, dot);
}

std::string last_segment(const std::string& path) {
  size_t dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// The closest candidate to `word` if it is plausibly a typo of it, else "".
std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::string::npos;
  bool tie = false;
  for (const std::string& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_d) best_d = d, best = c, tie = false;
    else if (d == best_d && c != best) tie = true;
  }
  // Two equally close candidates (DDR5: DDR3 or DDR4?) would be a guess: suggest nothing.
  const size_t limit = std::max<size_t>(2, word.size() / 3);
  return best_d <= limit && (!tie || best_d == 0) ? best : "";
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  std::string c = closest(word, candidates);
  return c.empty() ? "" : fmt::format(" (did you mean '{}'?)", c);
}

std::string show(const json& v) {
  std::string s = v.dump();
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (u < 4 && b >= 1024 && std::fmod(b, 1024) == 0) b /= 1024, ++u;
  return fmt::format("{} {}", b, units[u]);
}

bool is_power_of_two(double v) {
  if (v < 1 || v != std::floor(v)) return false;
  auto u = static_cast<uint64_t>(v);
  return (u & (u - 1)) == 0;
}

json* find_path(json& root, const std::string& path) {
  json* node = &root;
  for (const std::string& k : split(path, '.')) {
    if (!node->is_object() || !node->contains(k)) return nullptr;
    node = &(*node)[k];
  }
  return node;
}
const json* find_path(const json& root, const std::string& path) {
  return find_path(const_cast<json&>(root), path);
}

json& make_path(json& root, const std::string& path) {
  json* node = &root;
  for (const std::string& k : split(path, '.')) {
    if (!node->is_object()) *node = json::object();
    node = &(*node)[k];
  }
  return *node;
}

// ---------------------------------------------------------------------------------------
// Layers: the merged document plus where each leaf was set, for error messages.

struct Layered {
  json doc = json::object();
  std::map<std::string, std::string> origin;  // dotted path -> file name or "--set ..."
  std::string main_origin;

  const std::string& origin_of(const std::string& path) const {
    for (std::string p = path; !p.empty(); p = parent_path(p)) {
      auto it = origin.find(p);
      if (it != origin.end()) return it->second;
    }
    return main_origin;
  }
};

void record_origins(const json& j, const std::string& prefix, const std::string& origin, Layered& out) {
  if (!prefix.empty()) out.origin[prefix] = origin;
  if (j.is_object())
    for (auto it = j.begin(); it != j.end(); ++it)
      record_origins(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), origin, out);
}

// Objects merge key by key; anything else (scalars, arrays) replaces.
void deep_merge(json& base, const json& top) {
  if (!base.is_object() || !top.is_object()) {
    base = top;
    return;
  }
  for (auto it = top.begin(); it != top.end(); ++it) {
    if (base.contains(it.key())) deep_merge(base[it.key()], it.value());
    else base[it.key()] = it.value();
  }
}

void merge_layer(Layered& out, const json& layer, const std::string& origin) {
  deep_merge(out.doc, layer);
  record_origins(layer, "", origin, out);
}

json parse_json_text(const std::string& text, const std::string& origin) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    // e.byte is the 1-based offset of the offending character; report line:column.
    size_t line = 1, col = 1;
    const size_t end = std::min<size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
    for (size_t i = 0; i < end; ++i) {
      if (text[i] == '\n') ++line, col = 1;
      else ++col;
    }
    fail(ErrorKind::Config, "{}:{}:{}: malformed JSON (byte {}): {}", origin, line, col, e.byte, e.what());
  }
}

json read_json_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    fail(ErrorKind::Config, "{}: card configuration file not found", path.string());
  if (fs::is_directory(path, ec))
    fail(ErrorKind::Config, "{}: is a directory, expected a card configuration JSON file", path.string());
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::Config, "{}: cannot open card configuration file: {}", path.string(), std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_json_text(ss.str(), path.string());
}

bool is_bare_name(const std::string& s) {
  return !s.empty() && s.find('/') == std::string::npos && !(s.size() > 5 && s.ends_with(".json"));
}

std::vector<fs::path> preset_dirs() {
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("CARDSIM_CONFIG_DIR"); env && *env) dirs.emplace_back(env);
#ifdef CARDSIM_SOURCE_DIR
  dirs.emplace_back(fs::path(CARDSIM_SOURCE_DIR) / "configs");
#endif
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    dirs.push_back(exe.parent_path() / ".." / "share" / "cardsim" / "configs");
    dirs.push_back(exe.parent_path() / "configs");
  }
  return dirs;
}

// `extends` value -> file: a bare name is looked up next to the including file, then as a
// preset; a path is relative to the including file's directory.
fs::path resolve_extends(const std::string& value, const fs::path& including_file) {
  const fs::path dir = including_file.parent_path();
  if (is_bare_name(value)) {
    // Sibling lookup only when the including file is a real file (config_from_json's origin
    // may be just a label such as "sweep point 3").
    std::error_code ec;
    const fs::path sibling = dir / (value + ".json");
    if (fs::is_regular_file(including_file, ec) && fs::exists(sibling, ec)) return sibling;
    return resolve_config_path(value);
  }
  fs::path p(value);
  return p.is_absolute() ? p : dir / p;
}

void load_layers(const fs::path& file, std::vector<fs::path>& chain, Layered& out) {
  std::error_code ec;
  fs::path canon = fs::weakly_canonical(file, ec);
  if (ec) canon = file;
  for (const fs::path& seen : chain) {
    if (seen == canon) {
      std::vector<std::string> names;
      for (const fs::path& p : chain) names.push_back(p.string());
      names.push_back(canon.string());
      fail(ErrorKind::Config, "{}: extends cycle: {}", chain.back().string(), join(names, " -> "));
    }
  }
  if (int(chain.size()) >= kMaxExtendsDepth)
    fail(ErrorKind::Config, "{}: extends chain deeper than {} files", file.string(), kMaxExtendsDepth);
  json j = read_json_file(file);
  if (!j.is_object())
    fail(ErrorKind::Config, "{}: top level = {}: expected a JSON object", file.string(), show(j));
  if (j.contains("extends")) {
    const json& e = j["extends"];
    if (!e.is_string() || e.get<std::string>().empty())
      fail(ErrorKind::Config, "{}: extends = {}: expected a preset name or a path (string)", file.string(), show(e));
    fs::path base = resolve_extends(e.get<std::string>(), file);
    chain.push_back(canon);
    load_layers(base, chain, out);
    chain.pop_back();
    j.erase("extends");
  }
  merge_layer(out, j, file.string());
}

void apply_override(Layered& layers, const std::string& text) {
  const std::string origin = fmt::format("--set {}", text);
  const size_t eq = text.find('=');
  if (eq == std::string::npos)
    fail(ErrorKind::Config, "{}: expected key.path=value", origin);
  const std::string path = text.substr(0, eq);
  const std::vector<std::string> keys = split(path, '.');
  for (const std::string& k : keys)
    if (k.empty()) fail(ErrorKind::Config, "{}: empty key in path '{}'", origin, path);
  if (path == "extends")
    fail(ErrorKind::Config, "{}: extends cannot be overridden (overrides apply after extends)", origin);
  json* node = &layers.doc;
  std::string so_far;
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    so_far += (i ? "." : "") + keys[i];
    json& child = (*node)[keys[i]];
    if (child.is_null()) {
      child = json::object();
      layers.origin[so_far] = origin;  // created by this override
    }
    if (!child.is_object())
      fail(ErrorKind::Config, "{}: '{}' = {} is not an object, cannot set '{}' inside it", origin, so_far,
           show(child), path);
    node = &child;
  }
  json value = parse_override_value(std::string_view(text).substr(eq + 1));
  (*node)[keys.back()] = value;
  record_origins(value, path, origin, layers);
}

// ---------------------------------------------------------------------------------------
// Validation against the schema

struct Validator {
  const Layered& in;
  json effective = json::object();

  [[noreturn]] void bad(const std::string& path, const json& value, const std::string& expected) const {
    fail(ErrorKind::Config, "{}: {} = {}: expected {}", in.origin_of(path), path, show(value), expected);
  }

  // Names of the schema entries directly under `section` ("" = top level).
  static std::vector<std::string> children(const std::string& section) {
    std::set<std::string> names;
    const std::string prefix = section.empty() ? "" : section + ".";
    for (const ConfigField& f : config_schema()) {
      if (!f.path.starts_with(prefix)) continue;
      names.insert(split(f.path.substr(prefix.size()), '.')[0]);
    }
    return {names.begin(), names.end()};
  }

  static bool is_section(const std::string& path) {
    for (const ConfigField& f : config_schema())
      if (f.path.starts_with(path + ".")) return true;
    return false;
  }

  void walk(const json& obj, const std::string& section) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      const std::string& key = it.key();
      if (key.starts_with("_")) continue;  // "_comment", "_source": notes for people
      const std::string path = section.empty() ? key : section + "." + key;
      if (const ConfigField* f = find_config_field(path)) {
        make_path(effective, path) = check(*f, it.value(), path);
      } else if (is_section(path)) {
        if (!it.value().is_object()) bad(path, it.value(), "an object (section with keys " + join(children(path), ", ") + ")");
        walk(it.value(), path);
      } else {
        unknown_key(path, section);
      }
    }
  }

  [[noreturn]] void unknown_key(const std::string& path, const std::string& section) const {
    const std::string key = last_segment(path);
    std::vector<std::string> siblings = children(section);
    std::string hint = closest(key, siblings);
    if (!hint.empty()) hint = section.empty() ? hint : section + "." + hint;
    if (hint.empty()) {
      // The key may belong to another section ("rows" under "sram" -> "matrix.rows").
      std::vector<std::string> all;
      for (const ConfigField& f : config_schema()) all.push_back(f.path);
      for (const ConfigField& f : config_schema())
        if (last_segment(f.path) == key) hint = f.path;
      if (hint.empty()) hint = closest(path, all);
    }
    fail(ErrorKind::Config, "{}: unknown key '{}'{}; {} accepts: {}", in.origin_of(path), path,
         hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint),
         section.empty() ? "the top level" : "'" + section + "'", join(siblings, ", "));
  }

  std::string range_text(const ConfigField& f) const {
    if (!f.one_of.empty()) {
      std::vector<std::string> v;
      for (double d : f.one_of) v.push_back(fmt::format("{}", d));
      return "one of " + join(v, ", ");
    }
    if (f.type == ConfigType::Size)
      return fmt::format("{}between {} and {}", f.power_of_two ? "a power of two " : "", human_bytes(f.min),
                         human_bytes(f.max));
    return fmt::format("{}in [{}, {}]", f.power_of_two ? "a power of two " : "", f.min, f.max);
  }

  void check_number(const ConfigField& f, const json& v, const std::string& path, bool integer) const {
    const std::string what = std::string(integer ? "an integer " : "a number ") + range_text(f);
    if (integer ? !v.is_number_integer() : !v.is_number()) bad(path, v, what);
    const double d = v.get<double>();
    if (!std::isfinite(d) || d < f.min || d > f.max) bad(path, v, what);
    if (!f.one_of.empty() && std::find(f.one_of.begin(), f.one_of.end(), d) == f.one_of.end()) bad(path, v, what);
    if (f.power_of_two && !is_power_of_two(d)) bad(path, v, what);
  }

  json check(const ConfigField& f, const json& v, const std::string& path) const {
    switch (f.type) {
      case ConfigType::Int:
        check_number(f, v, path, true);
        return v.get<int64_t>();
      case ConfigType::Float:
        check_number(f, v, path, false);
        return v.get<double>();
      case ConfigType::Size: {
        const std::string what = "a byte count " + range_text(f) + " (integer or a string like \"24MiB\")";
        std::optional<uint64_t> bytes;
        if (v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0)) bytes = v.get<uint64_t>();
        else if (v.is_string()) bytes = parse_byte_size(v.get<std::string>());
        if (!bytes) bad(path, v, what);
        const double d = double(*bytes);
        if (d < f.min || d > f.max || (f.power_of_two && !is_power_of_two(d))) bad(path, v, what);
        return *bytes;
      }
      case ConfigType::Bool:
        if (!v.is_boolean()) bad(path, v, "true or false");
        return v;
      case ConfigType::String:
        if (!v.is_string()) bad(path, v, "a string");
        return v;
      case ConfigType::Enum: {
        const std::string what = "one of \"" + join(f.allowed, "\", \"") + "\"";
        if (!v.is_string()) bad(path, v, what);
        if (std::find(f.allowed.begin(), f.allowed.end(), v.get<std::string>()) == f.allowed.end())
          bad(path, v, what + did_you_mean(v.get<std::string>(), f.allowed));
        return v;
      }
      case ConfigType::StringList: {
        const std::string what = fmt::format("a list of {} to {} distinct values from \"{}\"", f.min, f.max,
                                             join(f.allowed, "\", \""));
        if (!v.is_array()) bad(path, v, what);
        if (double(v.size()) < f.min || double(v.size()) > f.max) bad(path, v, what);
        std::set<std::string> seen;
        for (size_t i = 0; i < v.size(); ++i) {
          const std::string item_path = fmt::format("{}[{}]", path, i);
          if (!v[i].is_string()) bad(item_path, v[i], "a string from \"" + join(f.allowed, "\", \"") + "\"");
          const std::string s = v[i].get<std::string>();
          if (std::find(f.allowed.begin(), f.allowed.end(), s) == f.allowed.end())
            bad(item_path, v[i], "one of \"" + join(f.allowed, "\", \"") + "\"" + did_you_mean(s, f.allowed));
          if (!seen.insert(s).second) bad(item_path, v[i], "no duplicates in " + path);
        }
        return v;
      }
      case ConfigType::IntMap:
      case ConfigType::FloatMap: {
        const bool integer = f.type == ConfigType::IntMap;
        if (!v.is_object()) bad(path, v, fmt::format("an object {{name: {}}}", integer ? "integer" : "number"));
        json out = f.default_value.is_object() ? f.default_value : json::object();
        for (auto it = v.begin(); it != v.end(); ++it) {
          const std::string key_path = path + "." + it.key();
          if (f.allowed.empty()) {
            const std::string& k = it.key();
            const bool ident = !k.empty() && std::islower(static_cast<unsigned char>(k[0])) &&
                               std::all_of(k.begin(), k.end(), [](char c) {
                                 return std::islower(static_cast<unsigned char>(c)) ||
                                        std::isdigit(static_cast<unsigned char>(c)) || c == '_';
                               });
            if (!ident) bad(key_path, it.value(), "a lowercase function name as key ([a-z][a-z0-9_]*)");
          } else if (std::find(f.allowed.begin(), f.allowed.end(), it.key()) == f.allowed.end()) {
            fail(ErrorKind::Config, "{}: unknown key '{}'{}; '{}' accepts: {}", in.origin_of(key_path), key_path,
                 did_you_mean(it.key(), f.allowed), path, join(f.allowed, ", "));
          }
          check_number(f, it.value(), key_path, integer);
          out[it.key()] = integer ? json(it.value().get<int64_t>()) : json(it.value().get<double>());
        }
        return out;
      }
    }
    fail(ErrorKind::Internal, "config schema: unhandled type for {}", path);
  }
};

// ---------------------------------------------------------------------------------------
// Defaults that depend on other fields

void set_if_absent(json& section, const char* key, const json& value) {
  if (!section.contains(key)) section[key] = value;
}

DramTiming speed_grade_timing(json& dram, const Layered& in) {
  const std::string standard = dram["standard"].get<std::string>();
#ifdef CARDSIM_CONFIG_HAVE_DRAM
  if (!dram.contains("speed_grade")) {
    std::vector<std::string> grades = dram::speed_grades(standard);
    const std::string preferred = standard_info(standard).speed_grade;
    if (std::find(grades.begin(), grades.end(), preferred) != grades.end()) dram["speed_grade"] = preferred;
    else if (!grades.empty()) dram["speed_grade"] = grades.back();
    else fail(ErrorKind::Config, "{}: dram.standard = \"{}\": the DRAM model has no speed grades for it",
              in.origin_of("dram.standard"), standard);
  }
  const std::string grade = dram["speed_grade"].get<std::string>();
  try {
    return dram::find_speed_grade(standard, grade);
  } catch (const Error& e) {
    fail(ErrorKind::Config, "{}: dram.speed_grade = \"{}\" (dram.standard = \"{}\"): {}",
         in.origin_of("dram.speed_grade"), grade, standard, e.what());
  }
#else
  // Built without the DRAM model: timing stays as given (0 = unknown).
  if (!dram.contains("speed_grade")) dram["speed_grade"] = standard_info(standard).speed_grade;
  return DramTiming{};
#endif
}

void fill_dram_defaults(json& eff, const Layered& in) {
  json& dram = eff["dram"];
  const StandardInfo& s = standard_info(dram["standard"].get<std::string>());
  set_if_absent(dram, "bank_groups", s.bank_groups);
  set_if_absent(dram, "banks_per_group", s.banks_per_group);
  set_if_absent(dram, "bus_width_bits", s.bus_width_bits);
  set_if_absent(dram, "row_bytes", s.row_bytes);
  const DramTiming t = speed_grade_timing(dram, in);
  json& timing = dram["timing"];
  // A non-zero value given in the JSON wins over the speed grade.
  auto take = [&](const char* key, double from_grade) {
    if (timing[key].get<double>() == 0) timing[key] = from_grade;
  };
  auto take_int = [&](const char* key, int from_grade) {
    if (timing[key].get<int64_t>() == 0) timing[key] = from_grade;
  };
  take("tCK_ns", t.tCK_ns);
  take_int("CL", t.CL); take_int("CWL", t.CWL); take_int("tRCD", t.tRCD); take_int("tRP", t.tRP);
  take_int("tRAS", t.tRAS); take_int("tRC", t.tRC); take_int("tRRD_S", t.tRRD_S); take_int("tRRD_L", t.tRRD_L);
  take_int("tFAW", t.tFAW); take_int("tCCD_S", t.tCCD_S); take_int("tCCD_L", t.tCCD_L); take_int("tWR", t.tWR);
  take_int("tWTR_S", t.tWTR_S); take_int("tWTR_L", t.tWTR_L); take_int("tRTP", t.tRTP);
  take_int("tREFI", t.tREFI); take_int("tRFC", t.tRFC);
#ifdef CARDSIM_CONFIG_HAVE_DRAM
  take_int("BL", t.BL);
#endif  // without the DRAM model BL stays as given (0 = unknown)
}

void fill_defaults(json& eff, const Layered& in) {
  // Static defaults first: everything below may read them.
  for (const ConfigField& f : config_schema())
    if (!f.default_value.is_null() && !find_path(eff, f.path)) make_path(eff, f.path) = f.default_value;
  fill_dram_defaults(eff, in);
  json& energy = eff["energy"];
  set_if_absent(energy, "dram_pj_per_bit", dram_pj_per_bit_for(eff["dram"]["standard"].get<std::string>()));
  const json given_actions = energy.value("actions_pj", json::object());
  energy["actions_pj"] = default_actions_pj(eff, given_actions);
  const json given_leakage = energy.value("leakage_mw", json::object());
  energy["leakage_mw"] = default_leakage_mw(eff, given_leakage);
}

// ---------------------------------------------------------------------------------------
// Combination checks on the effective configuration

struct Combinations {
  const Layered& in;
  const json& eff;

  double num(const std::string& path) const { return find_path(eff, path)->get<double>(); }
  uint64_t u64(const std::string& path) const { return find_path(eff, path)->get<uint64_t>(); }

  [[noreturn]] void bad(const std::string& path, const std::string& expected) const {
    fail(ErrorKind::Config, "{}: {} = {}: expected {}", in.origin_of(path), path, show(*find_path(eff, path)),
         expected);
  }

  void run() const {
    // Matrix unit: every listed dtype needs a non-zero rate.
    const auto dtypes = find_path(eff, "matrix.dtypes")->get<std::vector<std::string>>();
    auto has = [&](const char* d) { return std::find(dtypes.begin(), dtypes.end(), d) != dtypes.end(); };
    if (has("f32") && num("matrix.fp32_rate") <= 0)
      bad("matrix.fp32_rate", "a rate > 0 because matrix.dtypes contains \"f32\"");
    if ((has("f16") || has("bf16")) && num("matrix.fp16_rate") <= 0)
      bad("matrix.fp16_rate", "a rate > 0 because matrix.dtypes contains \"f16\" or \"bf16\"");

    // SRAM and accumulators hold whole bank rows.
    const uint64_t sram_row = u64("sram.banks") * u64("sram.bank_width_bytes");
    if (u64("sram.size_bytes") % sram_row != 0)
      bad("sram.size_bytes", fmt::format("a multiple of sram.banks × sram.bank_width_bytes = {} bytes", sram_row));
    const uint64_t acc_row = u64("accumulator.banks") * 4;
    if (u64("accumulator.size_bytes") % acc_row != 0)
      bad("accumulator.size_bytes", fmt::format("a multiple of 4 × accumulator.banks = {} bytes", acc_row));

    // DRAM geometry.
    const std::string standard = find_path(eff, "dram.standard")->get<std::string>();
    const StandardInfo& s = standard_info(standard);
    const int bus = int(num("dram.bus_width_bits"));
    if (std::find(s.bus_widths.begin(), s.bus_widths.end(), bus) == s.bus_widths.end()) {
      std::vector<std::string> w;
      for (int b : s.bus_widths) w.push_back(std::to_string(b));
      bad("dram.bus_width_bits", fmt::format("one of {} for dram.standard \"{}\"", join(w, ", "), standard));
    }
    const uint64_t rows_unit = u64("dram.channels") * u64("dram.ranks") * u64("dram.bank_groups") *
                               u64("dram.banks_per_group") * u64("dram.row_bytes");
    if (u64("dram.capacity_bytes") % rows_unit != 0)
      bad("dram.capacity_bytes",
          fmt::format("a multiple of channels × ranks × bank_groups × banks_per_group × row_bytes = {} bytes",
                      rows_unit));
    check_address_mapping();
    const uint64_t burst = uint64_t(bus) / 8 * u64("dram.timing.BL");
    if (burst > 0 && u64("dma.request_bytes") % burst != 0)
      bad("dma.request_bytes", fmt::format("a multiple of the DRAM burst: bus_width_bits / 8 × BL = {} / 8 × {} = {} bytes",
                                           bus, u64("dram.timing.BL"), burst));

    // PCIe: a completion carries at most max_payload bytes.
    if (num("pcie.read_completion") > num("pcie.max_payload"))
      bad("pcie.read_completion", fmt::format("at most pcie.max_payload = {}", num("pcie.max_payload")));
  }

  void check_address_mapping() const {
    const std::string m = find_path(eff, "dram.address_mapping")->get<std::string>();
    const std::string expected =
        "a permutation of Ro, Ba, Ra, Co, Ch (each once) with optional Bg, MSB first, e.g. \"RoBaRaCoCh\"";
    if (m.size() % 2 != 0) bad("dram.address_mapping", expected);
    std::map<std::string, int> count;
    for (size_t i = 0; i < m.size(); i += 2) {
      const std::string tok = m.substr(i, 2);
      if (tok != "Ro" && tok != "Ba" && tok != "Ra" && tok != "Co" && tok != "Ch" && tok != "Bg")
        bad("dram.address_mapping", expected + fmt::format(" (unknown field '{}' at character {})", tok, i));
      ++count[tok];
    }
    for (const char* need : {"Ro", "Ba", "Ra", "Co", "Ch"})
      if (count[need] != 1) bad("dram.address_mapping", expected + fmt::format(" ('{}' appears {} times)", need, count[need]));
    if (count["Bg"] > 1) bad("dram.address_mapping", expected + " ('Bg' appears more than once)");
  }
};

CardConfig build(const Layered& layers) {
  Validator v{layers};
  v.walk(layers.doc, "");
  fill_defaults(v.effective, layers);
  Combinations{layers, v.effective}.run();
  CardConfig cfg;
  for (const ConfigField& f : config_schema()) {
    const json* value = find_path(v.effective, f.path);
    if (!value) fail(ErrorKind::Internal, "config: no effective value for {}", f.path);
    f.store(cfg, *value);
  }
  cfg.effective = std::move(v.effective);
  return cfg;
}

Layered layers_for(const json& j, const std::string& origin) {
  Layered layers;
  layers.main_origin = origin;
  if (!j.is_object()) fail(ErrorKind::Config, "{}: top level = {}: expected a JSON object", origin, show(j));
  json top = j;
  if (top.contains("extends")) {
    const json& e = top["extends"];
    if (!e.is_string() || e.get<std::string>().empty())
      fail(ErrorKind::Config, "{}: extends = {}: expected a preset name or a path (string)", origin, show(e));
    // Relative to the origin when it names a file, else to the working directory.
    const fs::path self = origin.empty() ? fs::path("config.json") : fs::path(origin);
    std::vector<fs::path> chain;
    std::error_code ec;
    fs::path canon = fs::weakly_canonical(self, ec);
    chain.push_back(ec ? self : canon);
    load_layers(resolve_extends(e.get<std::string>(), self), chain, layers);
    top.erase("extends");
  }
  merge_layer(layers, top, origin);
  return layers;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Public API

std::optional<uint64_t> parse_byte_size(std::string_view text) {
  std::string s(text);
  s.erase(std::remove_if(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); }), s.end());
  size_t unit_pos = 0;
  while (unit_pos < s.size() && (std::isdigit(static_cast<unsigned char>(s[unit_pos])) || s[unit_pos] == '.'))
    ++unit_pos;
  if (unit_pos == 0) return std::nullopt;
  const std::string number = s.substr(0, unit_pos), unit = s.substr(unit_pos);
  if (std::count(number.begin(), number.end(), '.') > 1 || number == ".") return std::nullopt;
  static const std::map<std::string, double> units = {
      {"", 1},          {"B", 1},         {"KiB", 1024.0},         {"MiB", 1048576.0},
      {"GiB", 1073741824.0}, {"TiB", 1099511627776.0}, {"KB", 1e3}, {"kB", 1e3},
      {"MB", 1e6},      {"GB", 1e9},      {"TB", 1e12},
  };
  auto it = units.find(unit);
  if (it == units.end()) return std::nullopt;
  double value = 0;
  try {
    value = std::stod(number);
  } catch (const std::exception&) {  // out of range: hundreds of digits
    return std::nullopt;
  }
  const double bytes = value * it->second;
  if (bytes != std::floor(bytes) || bytes < 0 || bytes > 1.8e19) return std::nullopt;
  return static_cast<uint64_t>(bytes);
}

nlohmann::json parse_override_value(std::string_view text) {
  json v = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (v.is_discarded()) return json(std::string(text));
  return v;
}

std::string resolve_config_path(const std::string& name_or_path) {
  if (name_or_path.empty()) fail(ErrorKind::Config, "empty card configuration name (expected a preset name or a path)");
  if (!is_bare_name(name_or_path)) return name_or_path;
  std::vector<std::string> looked;
  for (const fs::path& dir : preset_dirs()) {
    const fs::path p = dir / (name_or_path + ".json");
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p.lexically_normal().string();
    looked.push_back(dir.lexically_normal().string());
  }
  const std::vector<std::string> presets = config_presets();
  fail(ErrorKind::Config, "unknown card preset '{}'{} (presets: {}; looked in {}); give a path to use a file",
       name_or_path, did_you_mean(name_or_path, presets), presets.empty() ? "none found" : join(presets, ", "),
       join(looked, ", "));
}

std::vector<std::string> config_presets() {
  std::set<std::string> names;
  for (const fs::path& dir : preset_dirs()) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.path().extension() == ".json") names.insert(entry.path().stem().string());
  }
  return {names.begin(), names.end()};
}

CardConfig load_config(const std::string& path_or_name, const std::vector<std::string>& overrides) {
  // A bare preset name is accepted here too, unless a file of that name exists.
  std::error_code ec;
  const std::string path = is_bare_name(path_or_name) && !fs::exists(path_or_name, ec)
                               ? resolve_config_path(path_or_name)
                               : path_or_name;
  Layered layers;
  layers.main_origin = path;
  std::vector<fs::path> chain;
  load_layers(fs::path(path), chain, layers);
  for (const std::string& o : overrides) apply_override(layers, o);
  return build(layers);
}

CardConfig config_from_json(const nlohmann::json& j, const std::string& origin) {
  return build(layers_for(j, origin));
}

std::string config_to_string(const CardConfig& cfg) {
  // nlohmann's default object type is an std::map: keys come out sorted.
  return cfg.effective.dump(2);
}

}  // namespace cardsim
