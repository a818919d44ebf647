// validate_report: the JSON Schema (docs/report.schema.json, compiled in) plus the report's
// arithmetic invariants, which a schema cannot state (layers sum to the totals).
#include <cmath>
#include <set>

#include "core/error.h"
#include "sim/report/report.h"
#include "sim/report/report_detail.h"

namespace cardsim::report {

extern const char* const kReportSchemaText;  // generated from docs/report.schema.json

using json = nlohmann::json;

const json& report_schema() {
  static const json schema = json::parse(kReportSchemaText);
  return schema;
}

namespace {

std::string type_of(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "number";
    case json::value_t::string: return "string";
    case json::value_t::array: return "array";
    case json::value_t::object: return "object";
    default: return "unknown";
  }
}

bool type_matches(const json& v, const std::string& t) {
  const std::string actual = type_of(v);
  if (t == "number") return actual == "number" || actual == "integer";
  if (t == "integer" && actual == "number") return std::floor(v.get<double>()) == v.get<double>();
  return actual == t;
}

class Validator {
 public:
  explicit Validator(const json& root) : root_(root) {}

  void check(const json& v, const json& schema, const std::string& path) const {
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) bad(path, "no value allowed here");
      return;
    }
    static const std::set<std::string> known = {"$schema", "$id", "title", "description", "type", "required",
                                                "properties", "additionalProperties", "items", "minItems", "enum",
                                                "const", "minimum", "maximum", "$ref", "$defs"};
    for (auto it = schema.begin(); it != schema.end(); ++it)
      if (!known.count(it.key()))
        fail(ErrorKind::Internal, "report schema at {}: keyword '{}' is not implemented by the validator",
             path.empty() ? "/" : path, it.key());
    if (schema.contains("$ref")) {
      const std::string ref = schema.at("$ref").get<std::string>();
      const std::string prefix = "#/$defs/";
      if (ref.rfind(prefix, 0) != 0) bad(path, "schema $ref '" + ref + "' is not of the form #/$defs/NAME");
      const json& defs = root_.at("$defs");
      const std::string name = ref.substr(prefix.size());
      if (!defs.contains(name)) bad(path, "schema $ref '" + ref + "' names no definition");
      check(v, defs.at(name), path);
    }
    if (schema.contains("type")) {
      const json& t = schema.at("type");
      bool ok = false;
      std::string expected;
      if (t.is_array()) {
        for (const json& one : t) {
          ok = ok || type_matches(v, one.get<std::string>());
          expected += (expected.empty() ? "" : " or ") + one.get<std::string>();
        }
      } else {
        expected = t.get<std::string>();
        ok = type_matches(v, expected);
      }
      if (!ok) bad(path, "expected " + expected + ", found " + type_of(v) + " " + abbreviated(v));
    }
    if (schema.contains("const") && v != schema.at("const"))
      bad(path, "expected " + schema.at("const").dump() + ", found " + abbreviated(v));
    if (schema.contains("enum")) {
      bool found = false;
      for (const json& e : schema.at("enum")) found = found || e == v;
      if (!found) bad(path, "expected one of " + schema.at("enum").dump() + ", found " + abbreviated(v));
    }
    if (v.is_number()) {
      if (schema.contains("minimum") && v.get<double>() < schema.at("minimum").get<double>())
        bad(path, "expected >= " + schema.at("minimum").dump() + ", found " + v.dump());
      if (schema.contains("maximum") && v.get<double>() > schema.at("maximum").get<double>())
        bad(path, "expected <= " + schema.at("maximum").dump() + ", found " + v.dump());
    }
    if (v.is_object()) {
      if (schema.contains("required"))
        for (const json& k : schema.at("required"))
          if (!v.contains(k.get<std::string>())) bad(path, "missing required field '" + k.get<std::string>() + "'");
      const json* props = schema.contains("properties") ? &schema.at("properties") : nullptr;
      for (auto it = v.begin(); it != v.end(); ++it) {
        const std::string child = path + "/" + it.key();
        if (props && props->contains(it.key())) {
          check(it.value(), props->at(it.key()), child);
        } else if (schema.contains("additionalProperties")) {
          check(it.value(), schema.at("additionalProperties"), child);
        }
      }
    }
    if (v.is_array()) {
      if (schema.contains("minItems") && v.size() < schema.at("minItems").get<size_t>())
        bad(path, "expected at least " + schema.at("minItems").dump() + " items, found " + std::to_string(v.size()));
      if (schema.contains("items"))
        for (size_t i = 0; i < v.size(); ++i) check(v[i], schema.at("items"), path + "/" + std::to_string(i));
    }
  }

 private:
  static std::string abbreviated(const json& v) {
    std::string s = v.dump();
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
  }
  [[noreturn]] static void bad(const std::string& path, const std::string& what) {
    fail(ErrorKind::Format, "report {}: {}", path.empty() ? "/" : path, what);
  }
  const json& root_;
};

}  // namespace

void validate_against_schema(const json& instance, const json& schema) { Validator(schema).check(instance, schema, ""); }

void validate_report(const json& report) {
  validate_against_schema(report, report_schema());
  // Invariants: the per-layer rows add up exactly to the totals.
  const json& t = report.at("total");
  uint64_t cycles = 0, rd = 0, wr = 0, macs = 0, fj = 0;
  for (const json& l : report.at("layers")) {
    cycles += l.at("cycles").get<uint64_t>();
    rd += l.at("dram_read_bytes").get<uint64_t>();
    wr += l.at("dram_write_bytes").get<uint64_t>();
    macs += l.at("macs").get<uint64_t>();
    fj += l.at("energy_fj").get<uint64_t>();
  }
  auto same = [](const char* what, uint64_t layers, uint64_t total) {
    if (layers != total)
      fail(ErrorKind::Format, "report /layers: {} of the layers sum to {} but /total/{} is {}", what, layers, what, total);
  };
  same("cycles", cycles, t.at("cycles").get<uint64_t>());
  same("dram_read_bytes", rd, t.at("dram_read_bytes").get<uint64_t>());
  same("dram_write_bytes", wr, t.at("dram_write_bytes").get<uint64_t>());
  same("macs", macs, t.at("macs").get<uint64_t>());
  same("energy_fj", fj, t.at("energy_fj").get<uint64_t>());
  uint64_t by_component = 0, by_action = 0;
  for (const auto& [k, c] : report.at("energy").at("by_component").items()) by_component += c.at("energy_fj").get<uint64_t>();
  for (const auto& [k, a] : report.at("energy").at("by_action").items()) by_action += a.at("energy_fj").get<uint64_t>();
  if (by_component != t.at("energy_fj").get<uint64_t>() || by_action != by_component)
    fail(ErrorKind::Format, "report /energy: by_component sums to {} fJ, by_action to {} fJ, /total/energy_fj is {}",
         by_component, by_action, t.at("energy_fj").get<uint64_t>());
  for (const auto& [name, h] : report.at("latency_histograms").items()) {
    uint64_t n = 0;
    for (const json& c : h.at("counts")) n += c.get<uint64_t>();
    if (n != h.at("count").get<uint64_t>() || (!h.at("counts").empty() && h.at("edges").size() != h.at("counts").size() + 1))
      fail(ErrorKind::Format, "report /latency_histograms/{}: bins hold {} samples of count {}, or edges != counts + 1",
           name, n, h.at("count").get<uint64_t>());
  }
}

}  // namespace cardsim::report
