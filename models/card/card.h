// Runs a compiled program on the SystemC/TLM model of the card (DESIGN.md "Timing approach").
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"
#include "isa/program.h"
#include "models/card/observer.h"
#include "models/card/stats.h"
#include "sim/card_config.h"

namespace cardsim::card {

struct RunOptions {
  enum class Mode { Both, Timing, Functional };
  Mode mode = Mode::Both;
  int inferences = 1;   // back-to-back; the next input's PCIe write overlaps the current compute
  bool warm = false;    // skip loading program + constants over PCIe
  Observer* observer = nullptr;
};

struct RunResult {
  std::vector<Tensor> outputs;  // last inference's outputs, in each binding's dtype (raw)
  RunStats stats;
  bool complete = true;         // false: a fault stopped the run; stats are partial
  std::string error;            // the fault's message when !complete
};

// Mode::Both / Timing elaborate a SystemC card: SystemC cannot re-elaborate, so this works
// ONCE per process (a second call throws Error(Usage)); use run_program_forked for more.
// Mode::Functional needs no SystemC and may be called any number of times.
// Faults inside the simulation (access outside the regions, deadlock) come back as
// complete = false + error; invalid arguments (input shapes, config) throw Error.
RunResult run_program(const isa::Program& prog, const CardConfig& cfg, const std::vector<Tensor>& inputs,
                      const RunOptions& opt);

// Runs run_program in a fork()ed child and returns its result (outputs and statistics come
// back through a pipe; the observer is not supported across the fork and must be null).
// An Error thrown in the child is rethrown here with its kind and message.
RunResult run_program_forked(const isa::Program& prog, const CardConfig& cfg, const std::vector<Tensor>& inputs,
                             const RunOptions& opt);

std::string mode_name(RunOptions::Mode m);

}  // namespace cardsim::card
