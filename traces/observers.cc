#include <unistd.h>

#include "traces/writers.h"

namespace cardsim::traces {

namespace {

// Calls every writer in turn; finish() closes them all, then rethrows the first failure.
class Tee : public ObserverSet {
 public:
  std::unique_ptr<ChromeTraceWriter> chrome;
  std::unique_ptr<VcdWriter> vcd;
  std::unique_ptr<DramTraceWriter> dram;
  std::unique_ptr<ProgressBar> progress;
  std::vector<card::Observer*> all;
  bool finished = false;

  ~Tee() override {
    try {
      finish();
    } catch (...) {
      // Destructors must not throw; callers that care call finish() themselves.
    }
  }
  bool empty() const override { return all.empty(); }
  void instruction(int q, isa::Opcode op, uint32_t layer, double a, double b, uint64_t bytes) override {
    for (auto* o : all) o->instruction(q, op, layer, a, b, bytes);
  }
  void dram_request(uint64_t addr, bool w, double a, double d, int c) override {
    for (auto* o : all) o->dram_request(addr, w, a, d, c);
  }
  void pcie_transfer(int dir, uint64_t bytes, double a, double b, const char* what) override {
    for (auto* o : all) o->pcie_transfer(dir, bytes, a, b, what);
  }
  void layer_span(uint32_t l, const std::string& n, double a, double b) override {
    for (auto* o : all) o->layer_span(l, n, a, b);
  }
  void inference(int i, double a, double b) override {
    for (auto* o : all) o->inference(i, a, b);
  }
  void dependency(int from, int to, double s, double w) override {
    for (auto* o : all) o->dependency(from, to, s, w);
  }
  void finish() override {
    if (finished) return;
    finished = true;
    std::exception_ptr first;
    auto guarded = [&](auto& w) {
      if (!w) return;
      try {
        w->finish();
      } catch (...) {
        if (!first) first = std::current_exception();
      }
    };
    guarded(progress);
    guarded(chrome);
    guarded(vcd);
    guarded(dram);
    if (first) std::rethrow_exception(first);
  }
};

}  // namespace

std::unique_ptr<ObserverSet> make_observers(const TraceOptions& opt) {
  auto t = std::make_unique<Tee>();
  if (!opt.chrome_path.empty()) t->chrome = std::make_unique<ChromeTraceWriter>(opt), t->all.push_back(t->chrome.get());
  if (!opt.vcd_path.empty()) t->vcd = std::make_unique<VcdWriter>(opt), t->all.push_back(t->vcd.get());
  if (!opt.dram_trace_path.empty()) t->dram = std::make_unique<DramTraceWriter>(opt), t->all.push_back(t->dram.get());
  if (opt.progress && ::isatty(2)) t->progress = std::make_unique<ProgressBar>(opt.expected_ns), t->all.push_back(t->progress.get());
  return t;
}

}  // namespace cardsim::traces
