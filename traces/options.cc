#include <cctype>
#include <cmath>

#include "core/error.h"
#include "isa/isa.h"
#include "models/dram/dram_model.h"
#include "traces/traces.h"

namespace cardsim::traces {

namespace {

double parse_time(const std::string& text, double clock_ghz, const std::string& whole) {
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(text, &pos);
  } catch (const std::exception&) {
    fail(ErrorKind::Usage, "--trace-window '{}': '{}' is not a number (expected e.g. 100us:2ms or 5000c:)", whole, text);
  }
  std::string unit = text.substr(pos);
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.front()))) unit.erase(unit.begin());
  if (!std::isfinite(v) || v < 0) fail(ErrorKind::Usage, "--trace-window '{}': '{}' must be a time >= 0", whole, text);
  if (unit.empty() || unit == "ns") return v;
  if (unit == "us") return v * 1e3;
  if (unit == "ms") return v * 1e6;
  if (unit == "s") return v * 1e9;
  if (unit == "c" || unit == "cyc" || unit == "cycles") return v / clock_ghz;
  fail(ErrorKind::Usage, "--trace-window '{}': unit '{}' (expected ns, us, ms, s or c for cycles)", whole, unit);
}

}  // namespace

TraceWindow parse_trace_window(const std::string& text, double clock_ghz) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos || text.find(':', colon + 1) != std::string::npos)
    fail(ErrorKind::Usage, "--trace-window '{}': expected START:END (either may be empty), e.g. 100us:2ms", text);
  if (clock_ghz <= 0) fail(ErrorKind::Usage, "--trace-window: clock {} GHz must be > 0", clock_ghz);
  TraceWindow w;
  const std::string a = text.substr(0, colon), b = text.substr(colon + 1);
  if (!a.empty()) w.start_ns = parse_time(a, clock_ghz, text);
  if (!b.empty()) w.end_ns = parse_time(b, clock_ghz, text);
  if (w.end_ns < w.start_ns) fail(ErrorKind::Usage, "--trace-window '{}': END is before START", text);
  return w;
}

Detail parse_trace_detail(const std::string& text) {
  if (text == "layer") return Detail::Layer;
  if (text == "instruction") return Detail::Instruction;
  fail(ErrorKind::Usage, "--trace-detail '{}': expected layer or instruction", text);
}

void fill_from(TraceOptions& opt, const isa::Program& prog, const CardConfig& cfg) {
  opt.clock_ghz = cfg.clock_ghz;
  DramTiming t = cfg.dram.timing;
  if (t.tCK_ns <= 0) t = dram::find_speed_grade(cfg.dram.standard, cfg.dram.speed_grade);
  opt.dram_tck_ns = t.tCK_ns;
  opt.dram_request_bytes = uint32_t(cfg.dma.request_bytes);
  opt.dram_channels = cfg.dram.channels;
  opt.queue_names.clear();
  for (size_t q = 0; q < prog.queues.size(); ++q) opt.queue_names.push_back(isa::queue_name(int(q)));
  opt.layer_names.clear();
  for (const auto& l : prog.layers) opt.layer_names.push_back(l.name);
}

}  // namespace cardsim::traces
