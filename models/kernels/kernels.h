// Per-instruction functional semantics and compute timing, with no SystemC: the two lower
// layers of every engine (DESIGN.md "Timing approach"). The SystemC engines in models/card
// call these and annotate delays.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "isa/isa.h"
#include "sim/card_config.h"

namespace cardsim::kernels {

// The card's memories as flat byte arrays (index = isa::Space). Host memory and DRAM are
// allocated to the program's footprint, not the device capacity.
struct Memories {
  uint8_t* base[4] = {nullptr, nullptr, nullptr, nullptr};
  uint64_t size[4] = {0, 0, 0, 0};
};

// Functional semantics of one instruction (ISA.md). Throws Error(Fault) on an access
// outside the memories.
void execute(const isa::Instr& in, Memories& mem);

// Contiguous byte runs an instruction reads or writes in one space, in issue order, merged
// where adjacent. The DMA engine turns DRAM/host runs into requests; protection checks use them.
struct Run {
  isa::Space space;
  uint64_t addr;
  uint64_t bytes;
  bool write;
};
void for_each_run(const isa::Instr& in, const std::function<void(const Run&)>& fn);

// Compute-side cost on the configured card, excluding DRAM/PCIe (the engines add those).
struct Cost {
  uint64_t cycles = 0;        // engine busy cycles
  uint64_t macs = 0;          // multiply-accumulates (mxu)
  uint64_t array_macs = 0;    // 8-bit array MACs: macs x passes for 16-bit integer operands
  uint64_t vector_elems = 0;  // element operations (vpu)
  uint64_t sram_read_bytes = 0, sram_write_bytes = 0;
  uint64_t acc_read_bytes = 0, acc_write_bytes = 0;
  uint64_t folds = 0;         // matrix-unit folds
};
Cost cost(const isa::Instr& in, const CardConfig& cfg);

}  // namespace cardsim::kernels
