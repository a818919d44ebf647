// The run report: a documented, versioned JSON (docs/REPORT.md) built from the card
// model's statistics, the program and the effective configuration, plus the energy model.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "isa/program.h"
#include "models/card/card.h"
#include "sim/card_config.h"

namespace cardsim::report {

constexpr const char* kSchemaVersion = "cardsim-report/1";

struct Context {
  const isa::Program* program = nullptr;
  const CardConfig* config = nullptr;
  const card::RunResult* result = nullptr;
  std::string model_path;   // what the user ran (.onnx or .cbin)
  std::string mode;         // both | timing | functional
  int inferences = 1;
  bool warm = false;
};

nlohmann::json build_report(const Context& ctx);
// The readable terminal summary printed by `cardsim run`.
std::string terminal_summary(const nlohmann::json& report);
// Atomic writes (temp + rename): a killed run never leaves a file that looks complete.
void write_report_json(const nlohmann::json& report, const std::string& path);
void write_layers_csv(const nlohmann::json& report, const std::string& path);
// Checks a report against the documented schema; throws Error(Format) naming the path.
void validate_report(const nlohmann::json& report);

}  // namespace cardsim::report
