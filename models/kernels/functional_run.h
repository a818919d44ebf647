// Functional execution of a whole program without SystemC and without timing: the oracle
// for the card model and the engine of `--mode functional`.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "isa/program.h"
#include "models/kernels/kernels.h"

namespace cardsim::kernels {

// Allocates DRAM / SRAM / ACC / host memory to the program footprint, loads the constants
// and the inputs (converted to each binding's dtype; float inputs are quantized with the
// binding's scale / zero point), runs every queue with a simple scheduler (a queue runs
// until it blocks, then the next), and returns the outputs in their binding's dtype and
// shape (raw: quantized outputs come back quantized; the binding has scale / zero point).
// Throws Error(Fault) on deadlock (listing each blocked queue, its instruction index,
// mnemonic and what it waits for) and on accesses outside the program's regions.
std::vector<Tensor> run_functional(const isa::Program& prog, const std::vector<Tensor>& inputs);

// Building blocks shared with the SystemC card model.

// Owns the memories of one program run, sized to the program's footprint.
struct ProgramMemory {
  std::vector<uint8_t> bytes[4];
  Memories view;
  explicit ProgramMemory(const isa::Program& prog, uint64_t min_sram = 0, uint64_t min_acc = 0);
  void load_constants(const isa::Program& prog);
  void load_inputs(const isa::Program& prog, const std::vector<Tensor>& inputs);
  std::vector<Tensor> read_outputs(const isa::Program& prog) const;
};

// Converts a user tensor to a binding's dtype (quantizing float -> int with scale / zp).
Tensor to_binding(const Tensor& t, const isa::TensorBinding& b, size_t index);

// Checks every run of an instruction against the program's regions (spaces with no region
// listed are only bounds-checked by execute()). Throws Error(Fault) naming the queue,
// instruction index, mnemonic, space and address.
class RegionChecker {
 public:
  explicit RegionChecker(const std::vector<isa::Region>& regions);
  void check(const isa::Instr& in, int queue, size_t index) const;
  bool enabled() const { return any_; }

 private:
  std::vector<isa::Region> by_space_[4];
  bool any_ = false;
};

// host.call: reads the host op's inputs from card DRAM, runs it with the reference kernels,
// writes its outputs to card DRAM.
void run_host_op(const isa::Program& prog, uint64_t id, Memories& mem);

// Mnemonic of an opcode (for messages).
std::string mnemonic_of(isa::Opcode op);

}  // namespace cardsim::kernels
