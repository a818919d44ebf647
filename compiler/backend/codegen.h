// Instruction construction and the double-buffered tile pipeline every card layer uses.
// Private to the backend.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "isa/isa.h"
#include "isa/program.h"
#include "sim/card_config.h"

namespace cardsim::backend {

// Addresses of constants are emitted as kConstTag | offset-in-image and relocated once the
// constants image is placed after every activation (bit 39: no real DRAM is 512 GiB).
constexpr uint64_t kConstTag = 1ull << 39;

inline uint64_t align_up(uint64_t x, uint64_t a = 64) { return (x + a - 1) / a * a; }

using Dims = std::array<int64_t, 4>;  // extents or strides, index 0 innermost

// One instruction operand (d, a or b).
struct Operand {
  isa::Space space = isa::Space::Dram;
  uint64_t addr = 0;
  DType type = DType::F32;
  Dims s{0, 0, 0, 0};
  float scale = 0;
  int32_t zp = 0;
};

void set_d(isa::Instr& in, const Operand& o);
void set_a(isa::Instr& in, const Operand& o);
void set_b(isa::Instr& in, const Operand& o);
void set_n(isa::Instr& in, const Dims& n);

isa::Instr dma_copy(const Operand& d, const Operand& a, const Dims& n);
isa::Instr dma_fill(const Operand& d, const Dims& n, float value);
isa::Instr vpu_unary(isa::Fn fn, const Operand& d, const Operand& a, const Dims& n, float alpha = 0, float beta = 0);
isa::Instr vpu_binary(isa::Fn fn, const Operand& d, const Operand& a, const Operand& b, const Dims& n);
isa::Instr vpu_reduce(isa::Fn fn, const Operand& d, const Operand& a, const Dims& n);
isa::Instr sem_wait(int sem, int count = 1);
isa::Instr sem_signal(int sem, int count = 1);

// Semaphores of the tile pipeline (0 = none). All are back to zero at every layer end.
// kWeightsFull + k is signalled by the k-th weight queue; the Base ones + k belong to the
// k-th queue of the load / store sets.
enum Sem : int { kAccFull = 3, kAccFree = 4, kWeightsFull = 7, kInFullBase = 24, kInFreeBase = 28,
                 kOutFullBase = 32, kOutFreeBase = 36 };

// A step loads one set of operands into input slot (global step index % 2) and, for matrix
// layers, runs the matrix-unit instructions that consume it.
struct Step {
  std::vector<isa::Instr> loads, mxu;
};
// A tile ends with a vector-unit epilogue writing output slot (tile index % 2) and the
// stores of that slot. Vector-only layers have exactly one step per tile.
struct Tile {
  std::vector<Step> steps;
  std::vector<isa::Instr> vpu, stores;
};
struct Pipeline {
  std::vector<isa::Instr> weight_loads;  // once per layer, before the first step
  // Resident weights loaded chunk by chunk: (index of the first tile using them, copies);
  // chunk c+1 is prefetched while chunk c computes.
  std::vector<std::pair<size_t, std::vector<isa::Instr>>> chunk_weights;
  std::vector<Tile> tiles;
  bool uses_mxu = false;
  // Cross-layer weight prefetch: weight_loads (+ the first chunk) are issued during the last
  // `prefetch_hosts` closed layers (Emitter::prefetch_window()), spread over their steps on
  // every DMA queue, before the barrier that closes the previous layer. The compiler sets it
  // only when their SRAM destination is disjoint from every SRAM byte those layers use.
  bool prefetch = false;
  size_t prefetch_hosts = 1;
};

// Appends instructions to the program's queues with the layer index and does the
// synchronisation bookkeeping.
class Emitter {
 public:
  Emitter(isa::Program& p, const CardConfig& cfg);
  int num_queues() const { return int(p_.queues.size()); }
  int load_queue() const { return load_q_; }
  void set_layer(int layer) { layer_ = layer; }
  // DRAM bytes the layer being emitted reads and writes itself (not the prefetch it hosts).
  uint64_t layer_dram_bytes() const { return dram_bytes_; }
  void emit(int queue, isa::Instr in);
  // Every queue meets at a new barrier (between layers that depend on each other). A layer
  // that can host prefetched weights (any card layer and the input conversion; not a host
  // fallback or the output conversion)
  // joins the prefetch window; `cycles` and `idle_cycles` (the compiler's estimates of its
  // duration and of the time its own traffic leaves the DRAM idle) weigh its share of a
  // prefetch stream.
  void barrier_all(bool can_host = true, double cycles = 0, double idle_cycles = 0);
  // How many closed layers (the last ones, consecutive, since the last layer that loaded
  // matrix weights) a pipeline may spread its prefetched weights over; 0 = none. The
  // weight FIFO runs ahead to the next matrix layer under any of them.
  size_t prefetch_window() const { return marks_.empty() ? window_.size() : 0; }
  bool can_prefetch() const { return prefetch_window() > 0; }
  static constexpr size_t kMaxPrefetchWindow = 16;
  void emit_pipeline(const Pipeline& pl);
  // Independent DMA instructions (no order among them) split over every DMA queue; the
  // layer's closing barrier waits for all.
  void emit_spread(const std::vector<isa::Instr>& ins);
  // Finishes the program: irq + end on every queue; merges single sem.wait/sem.signal into
  // the neighbouring instruction's wait/signal fields.
  void finish();

 private:
  isa::Program& p_;
  int load_q_, store_q_, weight_q_;
  std::vector<int> weight_qs_;  // DMA queues sharing the per-layer weight load
  std::vector<int> load_qs_, store_qs_;  // DMA queues sharing each step's loads / stores
  int layer_ = 0;
  uint64_t dram_bytes_ = 0;  // of the layer being emitted
  uint32_t barrier_id_ = 0;
  // Per DMA queue: positions (after each tile's loads, and the end: before the layer's
  // trailing stores and drain waits, or after a copy layer's copies) where pieces of the
  // next layer's prefetched weights may be inserted — of the layer being emitted (marks_)
  // and of each closed layer in the prefetch window (window_, oldest first).
  std::vector<std::vector<size_t>> marks_;
  struct Host {
    double cycles = 0, idle = 0;  // estimated duration, of it DRAM idle time (weigh its share)
    std::vector<std::vector<size_t>> marks;
  };
  std::vector<Host> window_;
  std::vector<int> prefetch_qs_;  // every DMA queue: one channel issues one request per cycle
  void mark_steps(bool repeat = false);  // repeat: record the position even if just recorded
  void insert_prefetch(const std::vector<isa::Instr>& loads, size_t hosts);
};

}  // namespace cardsim::backend
