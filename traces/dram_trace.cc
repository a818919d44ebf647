// DRAM request traces in the formats dram::parse_trace reads (and DRAMSim3 / Ramulator 2 read):
// written through dram::write_trace so `cardsim dram-replay` and the writer cannot disagree.
#include <algorithm>
#include <fstream>

#include "core/error.h"
#include "models/dram/replay.h"
#include "traces/writers.h"

namespace cardsim::traces {

DramTraceWriter::DramTraceWriter(const TraceOptions& opt) : opt_(opt), path_(opt.dram_trace_path) {
  if (opt_.dram_trace_format == "ramulator") ramulator_ = true;
  else if (opt_.dram_trace_format != "dramsim3")
    fail(ErrorKind::Usage, "--dram-trace-format '{}': expected dramsim3 or ramulator", opt_.dram_trace_format);
  if (opt_.dram_tck_ns <= 0) fail(ErrorKind::Usage, "DRAM trace: tCK {} ns must be > 0", opt_.dram_tck_ns);
  OutFile probe(path_);
  probe.close();
}

void DramTraceWriter::dram_request(uint64_t addr, bool write, double arrive_ns, double done_ns, int) {
  if (!opt_.window.contains(arrive_ns, arrive_ns)) return;
  reqs_.push_back({arrive_ns, addr, write});
}

void DramTraceWriter::finish() {
  if (finished_) return;
  finished_ = true;
  std::stable_sort(reqs_.begin(), reqs_.end(), [](const Req& a, const Req& b) { return a.arrive < b.arrive; });
  std::vector<dram::Request> rs;
  rs.reserve(reqs_.size());
  for (const Req& r : reqs_) {
    dram::Request x;
    x.addr = r.addr;
    x.is_write = r.write;
    x.bytes = opt_.dram_request_bytes;
    x.arrive_ns = r.arrive;
    rs.push_back(x);
  }
  const std::string tmp = path_;
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) fail(ErrorKind::Io, "{}: cannot open for writing", path_);
  dram::write_trace(out, rs, ramulator_ ? dram::TraceFormat::Ramulator : dram::TraceFormat::DRAMSim3, opt_.dram_tck_ns);
  out.flush();
  if (!out) fail(ErrorKind::Io, "{}: write failed (disk full?)", path_);
}

}  // namespace cardsim::traces
