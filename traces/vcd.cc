// VCD (IEEE 1364 §18) for GTKWave: $timescale 1 ns; per engine queue a 1-bit `busy` wire;
// per DRAM channel and PCIe direction a `real` bandwidth signal in GB/s, one value per window.
#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "core/error.h"
#include "traces/writers.h"

namespace cardsim::traces {

namespace {

// VCD identifier codes: printable ASCII 33..126, shortest first.
std::string vcd_id(size_t i) {
  std::string s;
  do {
    s += char(33 + i % 94);
    i /= 94;
  } while (i > 0);
  return s;
}

std::string sanitize(const std::string& n) {
  std::string o;
  for (char c : n) o += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
  return o.empty() ? "_" : o;
}

}  // namespace

VcdWriter::VcdWriter(const TraceOptions& opt)
    : opt_(opt), path_(opt.vcd_path), window_ns_(opt.counter_window_ns > 0 ? opt.counter_window_ns : 1000.0) {
  busy_.resize(opt_.queue_names.size());
  OutFile probe(path_);  // fail now, not after the simulation, when the file cannot be written
  probe.close();
}

void VcdWriter::instruction(int queue, isa::Opcode op, uint32_t, double start_ns, double end_ns, uint64_t) {
  if (queue < 0 || size_t(queue) >= busy_.size() || end_ns <= start_ns || !opt_.window.contains(start_ns, end_ns)) return;
  if (op == isa::Opcode::End || op == isa::Opcode::Nop) return;
  const double a = std::max(start_ns, opt_.window.start_ns), b = std::min(end_ns, opt_.window.end_ns);
  auto& v = busy_[size_t(queue)];
  if (!v.empty() && a <= v.back().second) v.back().second = std::max(v.back().second, b);  // touching: merge
  else v.push_back({a, b});
}

void VcdWriter::dram_request(uint64_t, bool, double arrive_ns, double done_ns, int channel) {
  if (channel < 0 || channel >= opt_.dram_channels || !opt_.window.contains(done_ns, done_ns)) return;
  // A request's bytes count in the window its data transfer completes in.
  auto& v = bytes_[int64_t(std::floor(done_ns / window_ns_))];
  v.resize(size_t(opt_.dram_channels) + 2, 0);
  v[size_t(channel)] += opt_.dram_request_bytes;
}

void VcdWriter::pcie_transfer(int direction, uint64_t bytes, double start_ns, double end_ns, const char*) {
  if (direction < 0 || direction > 1 || !opt_.window.contains(end_ns, end_ns)) return;
  auto& v = bytes_[int64_t(std::floor(end_ns / window_ns_))];
  v.resize(size_t(opt_.dram_channels) + 2, 0);
  v[size_t(opt_.dram_channels) + size_t(direction)] += double(bytes);
}

void VcdWriter::finish() {
  if (finished_) return;
  finished_ = true;
  const size_t nq = busy_.size(), nbw = size_t(opt_.dram_channels) + 2;
  std::string h;
  h += "$date cardsim $end\n$version cardsim " CARDSIM_VERSION " $end\n$timescale 1ns $end\n";
  h += "$scope module card $end\n";
  for (size_t q = 0; q < nq; ++q) h += fmt::format("$var wire 1 {} {}_busy $end\n", vcd_id(q), sanitize(opt_.queue_names[q]));
  for (size_t c = 0; c < nbw; ++c) {
    const std::string name = c < size_t(opt_.dram_channels) ? fmt::format("dram_ch{}_gbps", c)
                                                            : std::string(c == nbw - 2 ? "pcie_h2d_gbps" : "pcie_d2h_gbps");
    h += fmt::format("$var real 64 {} {} $end\n", vcd_id(nq + c), name);
  }
  h += "$upscope $end\n$enddefinitions $end\n";

  // Value changes: (time ns, signal, text); at equal times the later entry wins.
  struct Change { int64_t t; size_t sig; std::string v; };
  std::vector<Change> ch;
  for (size_t q = 0; q < nq; ++q)
    for (const auto& [a, b] : busy_[q]) {
      const int64_t ta = std::llround(a), tb = std::llround(b);
      if (tb <= ta) continue;
      ch.push_back({ta, q, "1"});
      ch.push_back({tb, q, "0"});
    }
  for (const auto& [w, v] : bytes_) {
    for (size_t c = 0; c < nbw; ++c) {
      ch.push_back({std::llround(double(w) * window_ns_), nq + c, fmt::format("r{:.6g}", (c < v.size() ? v[c] : 0.0) / window_ns_)});
      if (!bytes_.count(w + 1)) ch.push_back({std::llround(double(w + 1) * window_ns_), nq + c, "r0"});
    }
  }
  std::stable_sort(ch.begin(), ch.end(), [](const Change& x, const Change& y) { return x.t < y.t; });

  OutFile out(path_);
  out.write(h);
  const int64_t t0 = std::isfinite(opt_.window.start_ns) ? std::llround(opt_.window.start_ns) : 0;
  out.write(fmt::format("#{}\n$dumpvars\n", std::min<int64_t>(t0, ch.empty() ? t0 : ch.front().t)));
  for (size_t q = 0; q < nq; ++q) out.write("0" + vcd_id(q) + "\n");
  for (size_t c = 0; c < nbw; ++c) out.write("r0 " + vcd_id(nq + c) + "\n");
  out.write("$end\n");
  std::vector<std::string> current(nq + nbw);
  for (size_t q = 0; q < nq; ++q) current[q] = "0";
  for (size_t c = 0; c < nbw; ++c) current[nq + c] = "r0";
  for (size_t i = 0; i < ch.size();) {
    const int64_t t = ch[i].t;
    std::map<size_t, std::string> last;
    for (; i < ch.size() && ch[i].t == t; ++i) last[ch[i].sig] = ch[i].v;
    std::string block;
    for (const auto& [sig, v] : last) {
      if (current[sig] == v) continue;
      current[sig] = v;
      block += sig < nq ? v + vcd_id(sig) + "\n" : v + " " + vcd_id(sig) + "\n";
    }
    if (!block.empty()) out.write(fmt::format("#{}\n", t) + block);
  }
  out.close();
}

}  // namespace cardsim::traces
