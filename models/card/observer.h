// Callbacks for trace writers (traces/): the card calls them as it simulates. Null by
// default; when null the card makes no calls and builds no arguments. Times in ns.
#pragma once
#include <cstdint>
#include <string>

#include "isa/isa.h"

namespace cardsim::card {

class Observer {
 public:
  virtual ~Observer() = default;
  // One instruction on a queue: its span (after its `wait`), bytes it moved or touched.
  virtual void instruction(int queue, isa::Opcode op, uint32_t layer, double start_ns, double end_ns,
                           uint64_t bytes) {}
  // One DRAM request as served by the DRAM model.
  virtual void dram_request(uint64_t addr, bool write, double arrive_ns, double done_ns, int channel) {}
  // One PCIe transfer; direction 0 = host to device, 1 = device to host. `what`: "load",
  // "input", "output", "dma_read", "dma_write", "host_op".
  virtual void pcie_transfer(int direction, uint64_t bytes, double start_ns, double end_ns, const char* what) {}
  // A layer's span (first instruction start to last instruction end), reported at the end.
  virtual void layer_span(uint32_t layer, const std::string& name, double start_ns, double end_ns) {}
  // One inference: input write start to outputs read back.
  virtual void inference(int index, double start_ns, double end_ns) {}
  // A semaphore dependency between queues: `to_queue` took a token `from_queue` signalled
  // at signal_ns and went on at wake_ns (>= signal_ns). For flow arrows in traces.
  virtual void dependency(int from_queue, int to_queue, double signal_ns, double wake_ns) {}
};

}  // namespace cardsim::card
