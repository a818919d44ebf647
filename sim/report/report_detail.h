// Pieces of the report exposed for tests and tools (not needed by the CLI).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace cardsim::report {

// Name of the last `layers` row: what no layer carries (model load, inputs/outputs, idle).
constexpr const char* kOutsideLayers = "(outside layers)";

// A double as printed in the report: 9 significant digits, non-finite -> 0 (deterministic).
double fixed(double x);
// Splits `total` into integer shares proportional to `weights` (largest remainder, ties to
// the lower index); sums to `total` exactly. All-zero weights: the last entry takes all.
std::vector<uint64_t> distribute(uint64_t total, const std::vector<uint64_t>& weights);
// Cycle attribution of a single inference: spans [start, end) in cycles ({-1,-1}: never ran);
// returns spans.size()+1 counts (last: cycles no layer ran), summing to total_cycles.
std::vector<uint64_t> attribute_cycles_by_span(const std::vector<std::pair<int64_t, int64_t>>& spans,
                                               uint64_t total_cycles);
// {count, mean, min, max, p50, p90, p99, edges, counts} of latency samples (ns).
nlohmann::json histogram_json(const std::vector<double>& samples);
// The exact text write_report_json / write_layers_csv write.
std::string report_to_string(const nlohmann::json& report);
std::string layers_csv(const nlohmann::json& report);
// The JSON Schema validate_report checks against (docs/report.schema.json, built in).
const nlohmann::json& report_schema();
// Validates `instance` against `schema` (the JSON Schema subset documented in docs/REPORT.md);
// throws Error(Format) naming the JSON path (e.g. /layers/3/cycles) and what was expected.
void validate_against_schema(const nlohmann::json& instance, const nlohmann::json& schema);

}  // namespace cardsim::report
