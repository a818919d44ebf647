// Chrome trace-event JSON (https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU),
// which Perfetto, chrome://tracing and speedscope open. Tracks:
//   pid 1 "card"     tid q+1: one per queue (mxu, vpu, dma0..): layer runs, instructions inside them
//                    layer spans as async events (cat "layer"), flow arrows (cat "sync") between queues
//   pid 2 "pcie"     tid 1 h2d, tid 2 d2h (async transfers), tid 3 inferences
//   pid 3 "dram"     tid c+1: channel c busy intervals (instruction detail)
//   pid 4 "counters" counter tracks: DRAM GB/s per channel, PCIe GB/s, engine utilisation per window
#include <algorithm>
#include <cmath>
#include <cstdint>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "isa/isa.h"
#include "traces/writers.h"

namespace cardsim::traces {

namespace {

// Times in µs with ns resolution. Start and end are rounded to whole ns first and the duration
// is their difference, so back-to-back slices never overlap by a rounding error.
int64_t whole_ns(double ns) { return std::llround(ns); }
std::string us(int64_t ns) {
  const int64_t a = ns < 0 ? -ns : ns;
  return fmt::format("{}{}.{:03}", ns < 0 ? "-" : "", a / 1000, a % 1000);
}
std::string ts(double ns) { return us(whole_ns(ns)); }
std::string dur(double start_ns, double end_ns) { return us(std::max<int64_t>(0, whole_ns(end_ns) - whole_ns(start_ns))); }
std::string quote(const std::string& s) { return nlohmann::json(s).dump(); }

}  // namespace

OutFile::OutFile(const std::string& path) : path_(path) {
  f_ = std::fopen(path.c_str(), "wb");
  if (!f_) fail(ErrorKind::Io, "{}: cannot open for writing", path);
  std::setvbuf(f_, nullptr, _IOFBF, 1 << 20);
}

OutFile::~OutFile() {
  if (f_) std::fclose(f_);
}

void OutFile::write(const std::string& s) {
  if (f_ && std::fwrite(s.data(), 1, s.size(), f_) != s.size()) failed_ = true;
}

void OutFile::close() {
  if (!f_) return;
  if (std::fflush(f_) != 0) failed_ = true;
  if (std::fclose(f_) != 0) failed_ = true;
  f_ = nullptr;
  if (failed_) fail(ErrorKind::Io, "{}: write failed (disk full?)", path_);
}

ChromeTraceWriter::ChromeTraceWriter(const TraceOptions& opt)
    : opt_(opt), out_(opt.chrome_path), window_ns_(opt.counter_window_ns > 0 ? opt.counter_window_ns : 1000.0) {
  runs_.resize(opt_.queue_names.size());
  busy_.resize(size_t(std::max(0, opt_.dram_channels)));
  out_.write("{\"displayTimeUnit\":\"ns\",\"otherData\":{\"generator\":\"cardsim\",\"detail\":" +
             quote(opt_.detail == Detail::Layer ? "layer" : "instruction") + "},\"traceEvents\":[\n");
  auto meta = [&](int pid, int tid, const char* what, const std::string& name) {
    event(fmt::format("{{\"ph\":\"M\",\"name\":\"{}\",\"pid\":{},\"tid\":{},\"args\":{{\"name\":{}}}}}", what, pid, tid, quote(name)));
  };
  meta(1, 0, "process_name", "card");
  meta(2, 0, "process_name", "pcie");
  meta(3, 0, "process_name", "dram");
  meta(4, 0, "process_name", "counters");
  for (size_t q = 0; q < opt_.queue_names.size(); ++q) {
    meta(1, int(q) + 1, "thread_name", opt_.queue_names[q]);
    event(fmt::format("{{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":1,\"tid\":{},\"args\":{{\"sort_index\":{}}}}}", q + 1, q));
  }
  meta(2, 1, "thread_name", "h2d");
  meta(2, 2, "thread_name", "d2h");
  meta(2, 3, "thread_name", "inferences");
  for (int c = 0; c < opt_.dram_channels; ++c) meta(3, c + 1, "thread_name", fmt::format("ch{}", c));
}

void ChromeTraceWriter::event(const std::string& json) {
  out_.write(first_ ? json : ",\n" + json);
  first_ = false;
}

std::string ChromeTraceWriter::layer_name(int64_t layer) const {
  if (layer >= 0 && size_t(layer) < opt_.layer_names.size()) return opt_.layer_names[size_t(layer)];
  return fmt::format("layer {}", layer);
}

std::string ChromeTraceWriter::track(int queue) const {
  return queue >= 0 && size_t(queue) < opt_.queue_names.size() ? opt_.queue_names[size_t(queue)] : fmt::format("q{}", queue);
}

void ChromeTraceWriter::flush_run(int queue) {
  Run& r = runs_[size_t(queue)];
  if (r.count == 0) return;
  event(fmt::format("{{\"ph\":\"X\",\"cat\":\"layer\",\"name\":{},\"pid\":1,\"tid\":{},\"ts\":{},\"dur\":{},"
                    "\"args\":{{\"layer\":{},\"instructions\":{},\"bytes\":{}}}}}",
                    quote(layer_name(r.layer)), queue + 1, ts(r.start), dur(r.start, r.end), r.layer, r.count, r.bytes));
  r = Run{};
}

void ChromeTraceWriter::add_counter(std::map<int64_t, std::vector<double>>& series, size_t slot, size_t slots,
                                    double a, double b, double amount_per_ns) {
  // Spreads amount_per_ns × overlap over the windows [a, b) touches.
  if (b < a) b = a;
  int64_t w = int64_t(std::floor(a / window_ns_));
  const int64_t last = int64_t(std::floor(b / window_ns_));
  if (b == a) {
    auto& v = series[w];
    v.resize(slots, 0);
    v[slot] += amount_per_ns;  // instantaneous: the whole amount
    return;
  }
  for (; w <= last; ++w) {
    const double lo = std::max(a, double(w) * window_ns_), hi = std::min(b, double(w + 1) * window_ns_);
    if (hi <= lo) continue;
    auto& v = series[w];
    v.resize(slots, 0);
    v[slot] += (hi - lo) * amount_per_ns;
  }
}

void ChromeTraceWriter::instruction(int queue, isa::Opcode op, uint32_t layer, double start_ns, double end_ns,
                                    uint64_t bytes) {
  if (queue < 0 || size_t(queue) >= runs_.size() || !opt_.window.contains(start_ns, end_ns)) return;
  if (op == isa::Opcode::End || op == isa::Opcode::Nop) return;
  add_counter(queue_busy_ns_, size_t(queue), runs_.size(), start_ns, end_ns, 1.0);
  Run& r = runs_[size_t(queue)];
  if (r.count > 0 && r.layer != int64_t(layer)) flush_run(queue);
  if (r.count == 0) r.layer = layer, r.start = start_ns;
  r.end = std::max(r.end, end_ns);
  ++r.count;
  r.bytes += bytes;
  if (opt_.detail == Detail::Instruction) {
    const std::string mn(isa::opcode_info(op).mnemonic);
    const double cycles = (end_ns - start_ns) * opt_.clock_ghz;
    event(fmt::format("{{\"ph\":\"X\",\"cat\":\"instruction\",\"name\":{},\"pid\":1,\"tid\":{},\"ts\":{},\"dur\":{},"
                      "\"args\":{{\"opcode\":{},\"bytes\":{},\"cycles\":{},\"layer\":{}}}}}",
                      quote(mn), queue + 1, ts(start_ns), dur(start_ns, end_ns), quote(mn), bytes,
                      uint64_t(std::llround(cycles)), quote(layer_name(layer))));
  }
}

void ChromeTraceWriter::flush_busy(int channel) {
  Busy& b = busy_[size_t(channel)];
  if (b.requests == 0) return;
  event(fmt::format("{{\"ph\":\"X\",\"cat\":\"dram\",\"name\":\"busy\",\"pid\":3,\"tid\":{},\"ts\":{},\"dur\":{},"
                    "\"args\":{{\"requests\":{},\"bytes\":{}}}}}",
                    channel + 1, ts(b.start), dur(b.start, b.end), b.requests, b.bytes));
  b.last_end = b.end;
  b.requests = 0;
  b.bytes = 0;
}

void ChromeTraceWriter::dram_request(uint64_t addr, bool write, double arrive_ns, double done_ns, int channel) {
  if (channel < 0 || size_t(channel) >= busy_.size() || !opt_.window.contains(arrive_ns, done_ns)) return;
  const double bytes = opt_.dram_request_bytes;
  add_counter(dram_bytes_, size_t(channel), busy_.size(), arrive_ns, done_ns, bytes / std::max(done_ns - arrive_ns, 1e-9));
  if (opt_.detail != Detail::Instruction) return;
  // Requests overlap (many in flight); the track shows merged busy intervals, never overlapping.
  // Requests arrive out of order across queues (each runs ahead in its own local time), so
  // a request joins the open interval when it overlaps it or leaves a gap under kMergeGapNs.
  constexpr double kMergeGapNs = 20;
  Busy& b = busy_[size_t(channel)];
  if (b.requests > 0 && arrive_ns <= b.end + kMergeGapNs && done_ns >= b.start - kMergeGapNs) {
    b.start = std::max(std::min(b.start, arrive_ns), b.last_end);
    b.end = std::max(b.end, done_ns);
  } else {
    flush_busy(channel);
    b.start = std::max(arrive_ns, b.last_end);
    b.end = std::max(done_ns, b.start);
  }
  ++b.requests;
  b.bytes += opt_.dram_request_bytes;
}

void ChromeTraceWriter::pcie_transfer(int direction, uint64_t bytes, double start_ns, double end_ns, const char* what) {
  if (direction < 0 || direction > 1 || !opt_.window.contains(start_ns, end_ns)) return;
  add_counter(pcie_bytes_, size_t(direction), 2, start_ns, end_ns, double(bytes) / std::max(end_ns - start_ns, 1e-9));
  // Async events: transfers in one direction may overlap (latency hides under the next one).
  const uint64_t id = next_id_++;
  const std::string name = quote(what ? what : "transfer");
  event(fmt::format("{{\"ph\":\"b\",\"cat\":\"pcie\",\"name\":{},\"id\":{},\"pid\":2,\"tid\":{},\"ts\":{},"
                    "\"args\":{{\"bytes\":{},\"direction\":\"{}\"}}}}",
                    name, id, direction + 1, ts(start_ns), bytes, direction == 0 ? "h2d" : "d2h"));
  event(fmt::format("{{\"ph\":\"e\",\"cat\":\"pcie\",\"name\":{},\"id\":{},\"pid\":2,\"tid\":{},\"ts\":{}}}", name, id,
                    direction + 1, ts(end_ns)));
}

void ChromeTraceWriter::layer_span(uint32_t layer, const std::string& name, double start_ns, double end_ns) {
  if (!opt_.window.contains(start_ns, end_ns)) return;
  const std::string n = quote(name);
  event(fmt::format("{{\"ph\":\"b\",\"cat\":\"layer_span\",\"name\":{},\"id\":{},\"pid\":1,\"tid\":0,\"ts\":{},"
                    "\"args\":{{\"layer\":{}}}}}", n, 1000000 + layer, ts(start_ns), layer));
  event(fmt::format("{{\"ph\":\"e\",\"cat\":\"layer_span\",\"name\":{},\"id\":{},\"pid\":1,\"tid\":0,\"ts\":{}}}", n,
                    1000000 + layer, ts(end_ns)));
}

void ChromeTraceWriter::inference(int index, double start_ns, double end_ns) {
  if (!opt_.window.contains(start_ns, end_ns)) return;
  event(fmt::format("{{\"ph\":\"X\",\"cat\":\"inference\",\"name\":\"inference {}\",\"pid\":2,\"tid\":3,\"ts\":{},\"dur\":{}}}",
                    index, ts(start_ns), dur(start_ns, end_ns)));
}

void ChromeTraceWriter::dependency(int from_queue, int to_queue, double signal_ns, double wake_ns) {
  if (from_queue == to_queue || from_queue < 0 || to_queue < 0 || !opt_.window.contains(signal_ns, wake_ns)) return;
  if (opt_.detail != Detail::Instruction) return;  // one arrow per semaphore token: instruction detail only
  const uint64_t id = next_id_++;
  // The start binds to the enclosing slice: 1 ns before the signal, inside the signalling
  // instruction (which ends at signal_ns). The end binds to the next slice on the woken queue.
  event(fmt::format("{{\"ph\":\"s\",\"cat\":\"sync\",\"name\":\"semaphore\",\"id\":{},\"pid\":1,\"tid\":{},\"ts\":{}}}", id,
                    from_queue + 1, ts(std::max(0.0, signal_ns - 1))));
  event(fmt::format("{{\"ph\":\"f\",\"cat\":\"sync\",\"name\":\"semaphore\",\"id\":{},\"pid\":1,\"tid\":{},\"ts\":{}}}",
                    id, to_queue + 1, ts(std::max(wake_ns, signal_ns))));
}

void ChromeTraceWriter::finish() {
  if (finished_) return;
  finished_ = true;
  for (size_t q = 0; q < runs_.size(); ++q) flush_run(int(q));
  for (size_t c = 0; c < busy_.size(); ++c) flush_busy(int(c));
  // Counter tracks: one sample per window (GB/s = bytes/ns; utilisation = busy ns / window),
  // zeros included so viewers do not hold a stale value. Windows are widened so a track has at
  // most kMaxSamples samples, which bounds the trace size on long runs.
  constexpr int64_t kMaxSamples = 2000;
  int64_t first = INT64_MAX, last = INT64_MIN;
  for (const auto* series : {&dram_bytes_, &pcie_bytes_, &queue_busy_ns_})
    if (!series->empty()) first = std::min(first, series->begin()->first), last = std::max(last, series->rbegin()->first);
  const int64_t factor = first > last ? 1 : std::max<int64_t>(1, (last - first + kMaxSamples) / kMaxSamples);
  const double width = window_ns_ * double(factor);
  auto emit = [&](const char* name, const std::map<int64_t, std::vector<double>>& series, size_t slots, auto slot_name) {
    if (first > last || slots == 0) return;
    std::map<int64_t, std::vector<double>> coarse;
    for (const auto& [w, v] : series) {
      auto& c = coarse[w / factor];
      c.resize(slots, 0);
      for (size_t s = 0; s < v.size() && s < slots; ++s) c[s] += v[s];
    }
    for (int64_t w = first / factor; w <= last / factor + 1; ++w) {
      auto it = coarse.find(w);
      std::string args;
      for (size_t s = 0; s < slots; ++s) {
        const double v = (it != coarse.end() && w <= last / factor) ? it->second[s] / width : 0.0;
        args += fmt::format("{}{}:{:.4g}", s ? "," : "", quote(slot_name(s)), v);
      }
      event(fmt::format("{{\"ph\":\"C\",\"name\":\"{}\",\"pid\":4,\"tid\":0,\"ts\":{},\"args\":{{{}}}}}", name,
                        ts(double(w) * width), args));
    }
  };
  emit("dram_gbps", dram_bytes_, busy_.size(), [](size_t s) { return fmt::format("ch{}", s); });
  emit("pcie_gbps", pcie_bytes_, 2, [](size_t s) { return std::string(s ? "d2h" : "h2d"); });
  emit("utilization", queue_busy_ns_, runs_.size(), [&](size_t s) { return track(int(s)); });
  out_.write("\n]}\n");
  out_.close();
}

}  // namespace cardsim::traces
