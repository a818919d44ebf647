// Trace writers (card::Observer implementations): Chrome trace-event / Perfetto JSON,
// VCD waveforms, DRAM request traces (DRAMSim3 / Ramulator 2), and a stderr progress bar.
// The CLI builds TraceOptions from its flags and calls make_observers; see traces/README.md.
#pragma once
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "isa/program.h"
#include "models/card/observer.h"
#include "sim/card_config.h"

namespace cardsim::traces {

// Only events overlapping [start_ns, end_ns] are written.
struct TraceWindow {
  double start_ns = 0;
  double end_ns = std::numeric_limits<double>::infinity();
  bool contains(double a, double b) const { return b >= start_ns && a <= end_ns; }
};
// "START:END", either side may be empty (open); each a number with an optional unit:
// ns (default), us, ms, s, or c / cycles (card clock cycles at clock_ghz). "100us:2ms", "5000c:".
TraceWindow parse_trace_window(const std::string& text, double clock_ghz);

enum class Detail { Layer, Instruction };
Detail parse_trace_detail(const std::string& text);  // "layer" | "instruction"

struct TraceOptions {
  std::string chrome_path;                 // --trace
  Detail detail = Detail::Layer;           // --trace-detail
  TraceWindow window;                      // --trace-window (all writers)
  std::string vcd_path;                    // --vcd
  std::string dram_trace_path;             // --dram-trace
  std::string dram_trace_format = "dramsim3";  // --dram-trace-format dramsim3 | ramulator
  bool progress = false;                   // progress bar on stderr (the caller checks isatty)
  double counter_window_ns = 0;            // counter sampling period; 0 = 1 µs

  // Filled by options_for(): what the writers need to name and scale things.
  double clock_ghz = 1.0;
  double dram_tck_ns = 1.0;
  uint32_t dram_request_bytes = 64;
  int dram_channels = 1;
  std::vector<std::string> queue_names;    // mxu, vpu, dma0, ...
  std::vector<std::string> layer_names;    // Program::layers
  double expected_ns = 0;                  // progress: rough length of the run (0 = unknown)
};

// Fills the program/config-derived fields of `opt` (queue and layer names, clock, DRAM).
void fill_from(TraceOptions& opt, const isa::Program& prog, const CardConfig& cfg);

// A set of observers called in turn. finish() flushes and closes every file and throws
// Error(Io) if one could not be written; the destructor finishes quietly if finish() was not called.
class ObserverSet : public card::Observer {
 public:
  virtual void finish() = 0;
  virtual bool empty() const = 0;
};

// One observer for everything `opt` asks for (none asked: an empty set, still valid to pass).
// Files are created here (Error(Io) naming the path if not possible).
std::unique_ptr<ObserverSet> make_observers(const TraceOptions& opt);

}  // namespace cardsim::traces
