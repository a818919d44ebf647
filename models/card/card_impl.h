// Private: the SystemC/TLM modules of the card (targets, router, engines, host driver) and
// the command processor's shared state. See README.md for the model.
#pragma once
#include <array>
#include <map>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>

#include "isa/program.h"
#include "models/card/card.h"
#include "models/dram/dram_model.h"
#include "models/kernels/functional_run.h"
#include "models/kernels/kernels.h"
#include "models/pcie/pcie_link.h"

namespace cardsim::card::detail {

// What a transaction asks for. Times travel as absolute ns in the extension; targets keep
// busy-until timelines and answer with the completion time (and the TLM delay to it).
struct Txn : tlm::tlm_extension<Txn> {
  enum Kind { Mem, DramBatch, HostWrite, HostRead, CardReadHost, CardWriteHost };
  Kind kind = Mem;
  isa::Space space = isa::Space::Sram;
  double start_ns = 0, done_ns = 0;
  std::vector<dram::Request>* batch = nullptr;
  const char* what = "";
  tlm::tlm_extension_base* clone() const override { return new Txn(*this); }
  void copy_from(const tlm::tlm_extension_base& o) override { *this = static_cast<const Txn&>(o); }
};

// Banked memory as busy-until per bank port: bank = (addr / width) % banks; an access
// occupies each bank it touches for its beats there, on that bank's earliest-free port.
class BankedMemory {
 public:
  BankedMemory(int banks, int width, int ports, double cycle_ns);
  double access(uint64_t addr, uint64_t bytes, double start_ns);
  uint64_t conflicts = 0, read_bytes = 0, write_bytes = 0;

 private:
  int banks_, width_, ports_;
  double cycle_ns_;
  std::vector<double> free_;  // [bank * ports + port]
};

struct Shared;

class MemTarget : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<MemTarget> socket;
  MemTarget(sc_core::sc_module_name n, BankedMemory& m);
  void b_transport(tlm::tlm_generic_payload& p, sc_core::sc_time& delay);

 private:
  BankedMemory& mem_;
};

class DramTarget : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<DramTarget> socket;
  DramTarget(sc_core::sc_module_name n, dram::DramModel& model, Observer* obs);
  void b_transport(tlm::tlm_generic_payload& p, sc_core::sc_time& delay);

 private:
  dram::DramModel& model_;
  Observer* obs_;
};

class PcieTarget : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<PcieTarget> socket;
  PcieTarget(sc_core::sc_module_name n, pcie::PcieLink& link, Observer* obs);
  void b_transport(tlm::tlm_generic_payload& p, sc_core::sc_time& delay);

 private:
  pcie::PcieLink& link_;
  Observer* obs_;
};

// Routes by the transaction kind / space: host space and host transfers to PCIe, DRAM
// batches to DRAM, SRAM / ACC accesses to their banks.
class Router : public sc_core::sc_module {
 public:
  tlm_utils::multi_passthrough_target_socket<Router> in;
  tlm_utils::simple_initiator_socket<Router> to_pcie, to_dram, to_sram, to_acc;
  explicit Router(sc_core::sc_module_name n);
  void b_transport(int id, tlm::tlm_generic_payload& p, sc_core::sc_time& delay);
};

// An initiator's reusable payload: one transaction at a time, no data pointer (the
// functional kernels work on the memories directly; timing and function stay apart).
class Port {
 public:
  tlm_utils::simple_initiator_socket<Port>* socket = nullptr;
  double send(Txn& x, uint64_t addr, uint64_t bytes, bool write);

 private:
  tlm::tlm_generic_payload payload_;
  uint8_t dummy_[8] = {};
};

class DramFrontEnd;

// The command processor's state shared by the engines and the host driver.
struct Shared {
  const isa::Program& prog;
  const CardConfig& cfg;
  RunOptions opt;
  Observer* obs = nullptr;
  kernels::Memories* mem = nullptr;  // null in timing mode
  kernels::RegionChecker checker;
  DramFrontEnd* dram_front = nullptr;
  double cycle_ns = 1.0;
  int num_queues = 0;

  // Semaphores: tokens stamped with the time they were signalled, so a consumer that
  // runs ahead in local time never starts before its producer finished.
  std::vector<std::priority_queue<double, std::vector<double>, std::greater<double>>> tokens;
  // Which queue signalled each outstanding token (time -> queue), kept only when an observer
  // is attached: the traces' flow arrows between engines.
  std::vector<std::multimap<double, int>> token_givers;
  std::vector<std::unique_ptr<sc_core::sc_event>> sem_events;
  struct BarrierState {
    int arrived = 0;
    double max_ns = 0, release_ns = 0;
    uint64_t generation = 0;
  };
  std::map<uint64_t, BarrierState> barriers;
  sc_core::sc_event barrier_event, start_event, done_event;

  struct QueueState {
    size_t pc = 0;
    bool ended = true;
    bool started = false;
    enum Wait { None, Sem, Barrier } waiting = None;
    int64_t wait_sem = 0, wait_count = 0;
    uint64_t wait_barrier = 0;
    double end_ns = 0;
  };
  std::vector<QueueState> qs;
  int active = 0;
  double doorbell_ns = 0, completion_ns = 0;
  bool failed = false, host_done = false;
  std::string error;

  RunStats stats;
  std::vector<std::array<uint64_t, isa::kNumOpcodes>> opcode_counts;

  Shared(const isa::Program& p, const CardConfig& c, const RunOptions& o);
  void fault(const std::string& msg);
  void queue_ended(int q, double t_ns);
  void check_barriers();
  std::string deadlock_report() const;
  LayerStats& layer(uint32_t l);
};

// Merges the engines' DRAM request streams in time order before the controller model sees
// them. Engines run temporally decoupled: served one engine's window at a time, the
// controller would place each stream behind what it had already placed and concurrent
// streams (weights on four DMA channels, loads beside stores) would serialise. An engine
// posts a stream (issue time, one request per issue interval, at most `window` in flight)
// and waits; the front end serves, slice by slice of SystemC time, every posted stream's
// requests that arrive within the slice as one batch, so the controller's FR-FCFS window
// interleaves them as hardware would, and wakes each engine when its last request is done.
class DramFrontEnd : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(DramFrontEnd);
  tlm_utils::simple_initiator_socket<Port> socket;
  DramFrontEnd(sc_core::sc_module_name n, Shared& sh);
  // Called by an engine thread at SystemC time (its quantum keeper synced): blocks until
  // every request is done, fills their arrive_ns / done_ns, returns the last done time.
  double stream(std::vector<dram::Request>& reqs, double issue_ns, double interval_ns, size_t window);

 private:
  struct Stream {
    std::vector<dram::Request>* reqs = nullptr;
    double issue_ns = 0, interval_ns = 0, last_done_ns = 0;
    size_t window = 1, served = 0;  // requests [0, served) are done
    sc_core::sc_event done;
  };
  // A slice long enough to batch many requests per controller call, short against the
  // microseconds a layer's transfers take.
  static constexpr double kSliceCycles = 128;
  void thread();
  void serve_slices();
  Shared& sh_;
  Port port_;
  double slice_ns_;
  std::vector<Stream*> active_;  // in posting order (deterministic batches)
  sc_core::sc_event posted_;
  std::vector<dram::Request> batch_;
  std::vector<std::pair<Stream*, size_t>> origin_;  // batch_[k] is origin_[k].first's request #second
};

class QueueEngine : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(QueueEngine);
  tlm_utils::simple_initiator_socket<Port> socket;
  QueueEngine(sc_core::sc_module_name n, int queue, Shared& sh);

 private:
  void thread();
  void run_queue();
  double now_ns() const;
  void advance_to(double t_ns);
  void sem_take(int64_t s, int64_t count, const isa::Instr& in);
  void sem_give(int64_t s, int64_t count, double t_ns, const isa::Instr& in);
  void barrier(uint64_t id);
  void host_call(const isa::Instr& in);
  void compute(const isa::Instr& in, size_t pc, uint64_t& bytes);
  double memory_phase(const isa::Instr& in, double issue_ns, uint64_t& bytes, LayerStats* ls);

  int q_;
  Shared& sh_;
  Port port_;
  tlm_utils::tlm_quantumkeeper qk_;
  std::vector<dram::Request> batch_;
  std::vector<kernels::Run> runs_;
};

class HostDriver : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(HostDriver);
  tlm_utils::simple_initiator_socket<Port> socket;
  HostDriver(sc_core::sc_module_name n, Shared& sh, kernels::ProgramMemory* pm, const std::vector<Tensor>& inputs);
  std::vector<Tensor> outputs;

 private:
  void thread();
  double pcie(Txn::Kind kind, uint64_t bytes, double start_ns, const char* what);
  Shared& sh_;
  Port port_;
  kernels::ProgramMemory* pm_;
  const std::vector<Tensor>& inputs_;
};

}  // namespace cardsim::card::detail
