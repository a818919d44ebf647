// The concrete trace writers behind make_observers (exposed for unit tests).
#pragma once
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "traces/traces.h"

namespace cardsim::traces {

// A buffered output file that remembers write errors (reported by close()).
class OutFile {
 public:
  explicit OutFile(const std::string& path);
  ~OutFile();
  void write(const std::string& s);
  void close();  // throws Error(Io) naming the path if any write failed
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::FILE* f_ = nullptr;
  bool failed_ = false;
};

// Chrome trace-event JSON, written as events arrive (counter samples at the end).
class ChromeTraceWriter : public card::Observer {
 public:
  explicit ChromeTraceWriter(const TraceOptions& opt);
  void instruction(int queue, isa::Opcode op, uint32_t layer, double start_ns, double end_ns, uint64_t bytes) override;
  void dram_request(uint64_t addr, bool write, double arrive_ns, double done_ns, int channel) override;
  void pcie_transfer(int direction, uint64_t bytes, double start_ns, double end_ns, const char* what) override;
  void layer_span(uint32_t layer, const std::string& name, double start_ns, double end_ns) override;
  void inference(int index, double start_ns, double end_ns) override;
  void dependency(int from_queue, int to_queue, double signal_ns, double wake_ns) override;
  void finish();

 private:
  struct Run { int64_t layer = -1; double start = 0, end = 0; uint64_t count = 0, bytes = 0; };
  struct Busy { double start = 0, end = -1, last_end = 0; uint64_t requests = 0, bytes = 0; };
  void event(const std::string& json);
  void flush_run(int queue);
  void flush_busy(int channel);
  void add_counter(std::map<int64_t, std::vector<double>>& series, size_t slot, size_t slots, double a, double b,
                   double amount_per_ns);
  std::string layer_name(int64_t layer) const;
  std::string track(int queue) const;

  TraceOptions opt_;
  OutFile out_;
  bool first_ = true, finished_ = false;
  double window_ns_;
  std::vector<Run> runs_;     // per queue: the current layer run
  std::vector<Busy> busy_;    // per DRAM channel: the current busy interval
  uint64_t next_id_ = 1;
  // Counter series: window index -> per-slot accumulated value.
  std::map<int64_t, std::vector<double>> dram_bytes_, pcie_bytes_, queue_busy_ns_;
};

// VCD: 1-bit busy wire per engine queue, DRAM/PCIe bandwidth as real signals per window.
// Changes are collected (bounded by the window) and written sorted at finish().
class VcdWriter : public card::Observer {
 public:
  explicit VcdWriter(const TraceOptions& opt);
  void instruction(int queue, isa::Opcode op, uint32_t layer, double start_ns, double end_ns, uint64_t bytes) override;
  void dram_request(uint64_t addr, bool write, double arrive_ns, double done_ns, int channel) override;
  void pcie_transfer(int direction, uint64_t bytes, double start_ns, double end_ns, const char* what) override;
  void finish();

 private:
  TraceOptions opt_;
  std::string path_;
  bool finished_ = false;
  double window_ns_;
  std::vector<std::vector<std::pair<double, double>>> busy_;  // per queue: busy intervals
  std::map<int64_t, std::vector<double>> bytes_;               // window -> [dram ch..., h2d, d2h]
};

// DRAM request stream for DRAMSim3 (`0xADDR READ|WRITE CYCLE`) or Ramulator 2 (`LD|ST 0xADDR`).
// Requests are sorted by arrival (the card's queues run ahead of each other in simulated time).
class DramTraceWriter : public card::Observer {
 public:
  explicit DramTraceWriter(const TraceOptions& opt);
  void dram_request(uint64_t addr, bool write, double arrive_ns, double done_ns, int channel) override;
  void finish();

 private:
  struct Req { double arrive; uint64_t addr; bool write; };
  TraceOptions opt_;
  std::string path_;
  bool finished_ = false, ramulator_ = false;
  std::vector<Req> reqs_;
};

// A one-line progress bar on stderr, redrawn at most every 0.2 s of wall time.
class ProgressBar : public card::Observer {
 public:
  explicit ProgressBar(double expected_ns, std::FILE* out = stderr);
  void instruction(int queue, isa::Opcode op, uint32_t layer, double start_ns, double end_ns, uint64_t bytes) override;
  void inference(int index, double start_ns, double end_ns) override;
  void finish();

 private:
  void draw(double sim_ns, bool final_line);
  double expected_ns_, max_ns_ = 0;
  std::FILE* out_;
  uint64_t instructions_ = 0;
  int inferences_ = 0;
  double last_draw_s_ = -1;
  bool drawn_ = false;
};

}  // namespace cardsim::traces
