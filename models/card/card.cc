// The SystemC/TLM card: see README.md for the model and card_impl.h for the modules.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#if defined(__SANITIZE_ADDRESS__)
#include <pthread.h>
#include <sanitizer/common_interface_defs.h>
#endif

#include "core/error.h"
#include "isa/encoding.h"
#include "models/card/card_impl.h"

namespace cardsim::card {

std::string mode_name(RunOptions::Mode m) {
  switch (m) {
    case RunOptions::Mode::Both: return "both";
    case RunOptions::Mode::Timing: return "timing";
    case RunOptions::Mode::Functional: return "functional";
  }
  return "?";
}

namespace detail {

using sc_core::SC_NS;
using sc_core::sc_time;
using sc_core::sc_time_stamp;

inline double ns_of(const sc_time& t) { return t.to_seconds() * 1e9; }

// ---------------------------------------------------------------------------------------
// Targets

BankedMemory::BankedMemory(int banks, int width, int ports, double cycle_ns)
    : banks_(std::max(1, banks)), width_(std::max(1, width)), ports_(std::max(1, ports)), cycle_ns_(cycle_ns),
      free_(size_t(banks_) * size_t(ports_), 0.0) {}

double BankedMemory::access(uint64_t addr, uint64_t bytes, double start_ns) {
  if (bytes == 0) return start_ns;
  const uint64_t w = uint64_t(width_), nb = uint64_t(banks_);
  const uint64_t first = addr / w, chunks = (addr + bytes - 1) / w - first + 1;
  const uint64_t per = chunks / nb, extra = chunks % nb;
  double done = start_ns;
  const uint64_t touched = std::min(chunks, nb);
  for (uint64_t i = 0; i < touched; ++i) {
    const uint64_t bank = (first + i) % nb;
    const uint64_t beats = per + (i < extra ? 1 : 0);
    double* best = &free_[bank * uint64_t(ports_)];
    for (int p = 1; p < ports_; ++p)
      if (free_[bank * uint64_t(ports_) + uint64_t(p)] < *best) best = &free_[bank * uint64_t(ports_) + uint64_t(p)];
    if (*best > start_ns) ++conflicts;
    const double s = std::max(start_ns, *best);
    *best = s + double(beats) * cycle_ns_;
    done = std::max(done, *best);
  }
  return done;
}

MemTarget::MemTarget(sc_core::sc_module_name n, BankedMemory& m) : sc_module(n), socket("socket"), mem_(m) {
  socket.register_b_transport(this, &MemTarget::b_transport);
}

void MemTarget::b_transport(tlm::tlm_generic_payload& p, sc_time& delay) {
  Txn* x = p.get_extension<Txn>();
  const uint64_t bytes = p.get_data_length();
  if (p.is_write()) mem_.write_bytes += bytes;
  else mem_.read_bytes += bytes;
  x->done_ns = mem_.access(p.get_address(), bytes, x->start_ns);
  delay = sc_time(std::max(0.0, x->done_ns - ns_of(sc_time_stamp())), SC_NS);
  p.set_response_status(tlm::TLM_OK_RESPONSE);
}

DramTarget::DramTarget(sc_core::sc_module_name n, dram::DramModel& model, Observer* obs)
    : sc_module(n), socket("socket"), model_(model), obs_(obs) {
  socket.register_b_transport(this, &DramTarget::b_transport);
}

void DramTarget::b_transport(tlm::tlm_generic_payload& p, sc_time& delay) {
  Txn* x = p.get_extension<Txn>();
  auto& batch = *x->batch;
  model_.serve(batch);
  double done = x->start_ns;
  for (const auto& r : batch) done = std::max(done, r.done_ns);
  if (obs_)
    for (const auto& r : batch) obs_->dram_request(r.addr, r.is_write, r.arrive_ns, r.done_ns, model_.channel_of(r.addr));
  x->done_ns = done;
  delay = sc_time(std::max(0.0, done - ns_of(sc_time_stamp())), SC_NS);
  p.set_response_status(tlm::TLM_OK_RESPONSE);
}

PcieTarget::PcieTarget(sc_core::sc_module_name n, pcie::PcieLink& link, Observer* obs)
    : sc_module(n), socket("socket"), link_(link), obs_(obs) {
  socket.register_b_transport(this, &PcieTarget::b_transport);
}

void PcieTarget::b_transport(tlm::tlm_generic_payload& p, sc_time& delay) {
  Txn* x = p.get_extension<Txn>();
  const uint64_t bytes = p.get_data_length();
  int dir = 0;
  switch (x->kind) {
    case Txn::HostWrite: x->done_ns = link_.host_write(bytes, x->start_ns); dir = 0; break;
    case Txn::HostRead: x->done_ns = link_.host_read(bytes, x->start_ns); dir = 1; break;
    case Txn::CardReadHost: x->done_ns = link_.card_read_host(bytes, x->start_ns); dir = 0; break;
    case Txn::CardWriteHost: x->done_ns = link_.card_write_host(bytes, x->start_ns); dir = 1; break;
    case Txn::Mem:  // a plain host-space access from an engine
      x->done_ns = p.is_write() ? link_.card_write_host(bytes, x->start_ns) : link_.card_read_host(bytes, x->start_ns);
      dir = p.is_write() ? 1 : 0;
      break;
    default: x->done_ns = x->start_ns; break;
  }
  if (obs_) obs_->pcie_transfer(dir, bytes, x->start_ns, x->done_ns, x->what);
  delay = sc_time(std::max(0.0, x->done_ns - ns_of(sc_time_stamp())), SC_NS);
  p.set_response_status(tlm::TLM_OK_RESPONSE);
}

Router::Router(sc_core::sc_module_name n)
    : sc_module(n), in("in"), to_pcie("to_pcie"), to_dram("to_dram"), to_sram("to_sram"), to_acc("to_acc") {
  in.register_b_transport(this, &Router::b_transport);
}

void Router::b_transport(int, tlm::tlm_generic_payload& p, sc_time& delay) {
  Txn* x = p.get_extension<Txn>();
  if (x->kind == Txn::DramBatch) return to_dram->b_transport(p, delay);
  if (x->kind != Txn::Mem) return to_pcie->b_transport(p, delay);
  switch (x->space) {
    case isa::Space::Host: return to_pcie->b_transport(p, delay);
    case isa::Space::Sram: return to_sram->b_transport(p, delay);
    case isa::Space::Acc: return to_acc->b_transport(p, delay);
    case isa::Space::Dram: break;
  }
  // A single DRAM access outside a batch: wrap it.
  std::vector<dram::Request> one(1);
  one[0].addr = p.get_address();
  one[0].is_write = p.is_write();
  one[0].bytes = uint32_t(p.get_data_length());
  one[0].arrive_ns = x->start_ns;
  x->kind = Txn::DramBatch;
  x->batch = &one;
  to_dram->b_transport(p, delay);
  x->kind = Txn::Mem;
  x->batch = nullptr;
}

double Port::send(Txn& x, uint64_t addr, uint64_t bytes, bool write) {
  payload_.set_address(addr);
  payload_.set_data_length(unsigned(std::min<uint64_t>(bytes, 0xFFFFFFFFu)));
  payload_.set_data_ptr(dummy_);
  payload_.set_streaming_width(payload_.get_data_length());
  payload_.set_byte_enable_ptr(nullptr);
  payload_.set_dmi_allowed(false);
  payload_.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
  payload_.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  payload_.set_extension(&x);
  sc_time delay = sc_core::SC_ZERO_TIME;
  (*socket)->b_transport(payload_, delay);
  payload_.clear_extension(&x);
  return x.done_ns;
}

// ---------------------------------------------------------------------------------------
// DRAM front end

DramFrontEnd::DramFrontEnd(sc_core::sc_module_name n, Shared& sh)
    : sc_module(n), socket("socket"), sh_(sh), slice_ns_(kSliceCycles * sh.cycle_ns) {
  port_.socket = &socket;
  SC_THREAD(thread);
}

double DramFrontEnd::stream(std::vector<dram::Request>& reqs, double issue_ns, double interval_ns, size_t window) {
  Stream s;
  s.reqs = &reqs;
  s.issue_ns = issue_ns;
  s.interval_ns = interval_ns;
  s.window = std::max<size_t>(window, 1);
  active_.push_back(&s);
  posted_.notify(sc_core::SC_ZERO_TIME);
  wait(s.done);
  return s.last_done_ns;
}

void DramFrontEnd::thread() {
  try {
    serve_slices();
  } catch (const sc_core::sc_unwind_exception&) {
    throw;  // SystemC's own process kill / reset: must propagate
  } catch (const std::exception& e) {
    sh_.fault(e.what());  // the waiting engines stop with the simulation
  }
}

void DramFrontEnd::serve_slices() {
  for (;;) {
    while (active_.empty()) wait(posted_);
    if (sh_.failed) return;
    const double now = ns_of(sc_time_stamp());
    const double horizon = now + slice_ns_;
    // Rounds: a request's arrival is known once the request `window` places before it is
    // done, so serving one round can let further requests into this slice.
    for (;;) {
      batch_.clear();
      origin_.clear();
      for (Stream* s : active_) {
        auto& r = *s->reqs;
        const size_t limit = std::min(r.size(), s->served + s->window);
        for (size_t i = s->served; i < limit; ++i) {
          double arrive = s->issue_ns + double(i) * s->interval_ns;
          if (i >= s->window) arrive = std::max(arrive, r[i - s->window].done_ns);
          if (arrive >= horizon) break;
          r[i].arrive_ns = arrive;
          batch_.push_back(r[i]);
          origin_.emplace_back(s, i);
        }
      }
      if (batch_.empty()) break;
      Txn x;
      x.kind = Txn::DramBatch;
      x.space = isa::Space::Dram;
      x.batch = &batch_;
      x.start_ns = batch_.front().arrive_ns;
      port_.send(x, batch_.front().addr, 0, false);
      for (size_t k = 0; k < batch_.size(); ++k) {
        auto [s, i] = origin_[k];
        (*s->reqs)[i].done_ns = batch_[k].done_ns;
        s->served = i + 1;
        s->last_done_ns = std::max(s->last_done_ns, batch_[k].done_ns);
      }
    }
    // Wake the engines whose streams are complete, at their last request's completion.
    size_t kept = 0;
    for (Stream* s : active_) {
      if (s->served == s->reqs->size()) s->done.notify(sc_time(std::max(0.0, s->last_done_ns - now), SC_NS));
      else active_[kept++] = s;
    }
    active_.resize(kept);
    if (!active_.empty()) wait(sc_time(slice_ns_, SC_NS), posted_);  // next slice, or a new stream
  }
}

// ---------------------------------------------------------------------------------------
// Command processor state

Shared::Shared(const isa::Program& p, const CardConfig& c, const RunOptions& o)
    : prog(p), cfg(c), opt(o), obs(o.observer), checker(p.regions) {
  cycle_ns = 1.0 / (c.clock_ghz > 0 ? c.clock_ghz : 1.0);
  num_queues = int(p.queues.size());
  const size_t nsem = std::max<size_t>(p.num_semaphores, 1);
  tokens.resize(nsem);
  token_givers.resize(nsem);
  for (size_t i = 0; i < nsem; ++i) sem_events.push_back(std::make_unique<sc_core::sc_event>());
  qs.resize(size_t(num_queues));
  opcode_counts.assign(size_t(num_queues), {});
  stats.engines.resize(size_t(num_queues));
  for (int q = 0; q < num_queues; ++q) stats.engines[size_t(q)].name = isa::queue_name(q);
  stats.layers.resize(p.layers.size());
  for (size_t l = 0; l < p.layers.size(); ++l) {
    stats.layers[l].name = p.layers[l].name;
    stats.layers[l].op = p.layers[l].op;
  }
}

LayerStats& Shared::layer(uint32_t l) {
  if (l >= stats.layers.size()) stats.layers.resize(size_t(l) + 1);
  LayerStats& ls = stats.layers[l];
  if (ls.busy_cycles.size() != size_t(num_queues)) ls.busy_cycles.resize(size_t(num_queues), 0);
  return ls;
}

void Shared::fault(const std::string& msg) {
  if (!failed) {
    failed = true;
    error = msg;
  }
  sc_core::sc_stop();
}

void Shared::check_barriers() {
  for (auto& [id, b] : barriers)
    if (b.arrived > 0 && b.arrived >= active) {
      b.release_ns = b.max_ns;
      b.arrived = 0;
      b.max_ns = 0;
      ++b.generation;
      barrier_event.notify(sc_core::SC_ZERO_TIME);
    }
}

void Shared::queue_ended(int q, double t_ns) {
  QueueState& st = qs[size_t(q)];
  st.ended = true;
  st.end_ns = t_ns;
  --active;
  completion_ns = std::max(completion_ns, t_ns);
  check_barriers();
  if (active == 0) done_event.notify(sc_core::SC_ZERO_TIME);
}

std::string Shared::deadlock_report() const {
  std::string msg = "deadlock: every unfinished queue is blocked:";
  for (int q = 0; q < num_queues; ++q) {
    const QueueState& st = qs[size_t(q)];
    if (st.ended) continue;
    const auto& code = prog.queues[size_t(q)];
    const isa::Instr* in = st.pc < code.size() ? &code[st.pc] : nullptr;
    msg += fmt::format(" {} at #{} {}", isa::queue_name(q), st.pc, in ? kernels::mnemonic_of(in->op) : "end");
    if (in) msg += fmt::format(" (layer {})", in->layer);
    switch (st.waiting) {
      case QueueState::Sem:
        msg += fmt::format(" waits for semaphore {} (value {}, needs {});", st.wait_sem,
                           tokens[size_t(st.wait_sem)].size(), st.wait_count);
        break;
      case QueueState::Barrier: msg += fmt::format(" waits at barrier {};", st.wait_barrier); break;
      default: msg += ";"; break;
    }
  }
  msg.pop_back();
  return msg;
}

// ---------------------------------------------------------------------------------------
// Engines: one SC_THREAD per instruction queue.

QueueEngine::QueueEngine(sc_core::sc_module_name n, int queue, Shared& sh)
    : sc_module(n), socket("socket"), q_(queue), sh_(sh) {
  port_.socket = &socket;
  SC_THREAD(thread);
}

double QueueEngine::now_ns() const { return ns_of(qk_.get_current_time()); }

void QueueEngine::advance_to(double t_ns) {
  const double now = now_ns();
  if (t_ns > now) qk_.inc(sc_time(t_ns - now, SC_NS));
}

namespace {
struct Stopped {};  // unwinds an engine after another engine faulted
}  // namespace

void QueueEngine::thread() {
  while (true) {
    wait(sh_.start_event);
    qk_.reset();
    try {
      run_queue();
    } catch (const Stopped&) {
      return;
    } catch (const sc_core::sc_unwind_exception&) {
      throw;  // SystemC's own process kill / reset: must propagate
    } catch (const std::exception& e) {
      sh_.fault(e.what());
      return;
    }
  }
}

void QueueEngine::sem_take(int64_t s, int64_t count, const isa::Instr& in) {
  if (s < 0 || size_t(s) >= sh_.tokens.size())
    fail(ErrorKind::Fault, "queue {} instruction #{} {} (layer {}) names semaphore {} but the program has {}",
         isa::queue_name(q_), sh_.qs[size_t(q_)].pc, kernels::mnemonic_of(in.op), in.layer, s, sh_.tokens.size());
  auto& tk = sh_.tokens[size_t(s)];
  if (int64_t(tk.size()) < count) {
    qk_.sync();
    auto& st = sh_.qs[size_t(q_)];
    st.waiting = Shared::QueueState::Sem;
    st.wait_sem = s;
    st.wait_count = count;
    while (int64_t(tk.size()) < count) {
      wait(*sh_.sem_events[size_t(s)]);
      if (sh_.failed) throw Stopped{};
    }
    st.waiting = Shared::QueueState::None;
    qk_.reset();
  }
  double t = 0;
  std::vector<std::pair<double, int>> givers;
  for (int64_t i = 0; i < count; ++i) {
    t = std::max(t, tk.top());
    tk.pop();
    auto& g = sh_.token_givers[size_t(s)];
    if (sh_.obs && !g.empty()) {
      givers.push_back(*g.begin());
      g.erase(g.begin());
    }
  }
  advance_to(t);
  for (const auto& [signal_ns, from] : givers) sh_.obs->dependency(from, q_, signal_ns, now_ns());
}

void QueueEngine::sem_give(int64_t s, int64_t count, double t_ns, const isa::Instr& in) {
  if (s < 0 || size_t(s) >= sh_.tokens.size())
    fail(ErrorKind::Fault, "queue {} instruction #{} {} (layer {}) names semaphore {} but the program has {}",
         isa::queue_name(q_), sh_.qs[size_t(q_)].pc, kernels::mnemonic_of(in.op), in.layer, s, sh_.tokens.size());
  for (int64_t i = 0; i < count; ++i) sh_.tokens[size_t(s)].push(t_ns);
  if (sh_.obs)
    for (int64_t i = 0; i < count; ++i) sh_.token_givers[size_t(s)].emplace(t_ns, q_);
  sh_.sem_events[size_t(s)]->notify(sc_core::SC_ZERO_TIME);
}

void QueueEngine::barrier(uint64_t id) {
  qk_.sync();
  auto& b = sh_.barriers[id];
  ++b.arrived;
  b.max_ns = std::max(b.max_ns, now_ns());
  const uint64_t gen = b.generation;
  sh_.check_barriers();
  if (b.generation == gen) {
    auto& st = sh_.qs[size_t(q_)];
    st.waiting = Shared::QueueState::Barrier;
    st.wait_barrier = id;
    while (b.generation == gen) {
      wait(sh_.barrier_event);
      if (sh_.failed) throw Stopped{};
    }
    st.waiting = Shared::QueueState::None;
    qk_.reset();
  }
  advance_to(b.release_ns);
}

void QueueEngine::host_call(const isa::Instr& in) {
  const auto& prog = sh_.prog;
  if (uint64_t(in.id) >= prog.host_ops.size())
    fail(ErrorKind::Fault, "queue {} instruction #{} host.call {}: the program has only {} host operations",
         isa::queue_name(q_), sh_.qs[size_t(q_)].pc, in.id, prog.host_ops.size());
  const isa::HostOp& op = prog.host_ops[size_t(in.id)];
  uint64_t in_bytes = 0, out_bytes = 0, elems = 0;
  for (const auto& t : op.inputs) {
    if (t.dtype == DType::Undefined) continue;  // an omitted optional operand
    in_bytes += uint64_t(shape_numel(t.shape)) * dtype_size(t.dtype);
    elems += uint64_t(shape_numel(t.shape));
  }
  for (const auto& t : op.outputs) {
    if (t.dtype == DType::Undefined) continue;
    out_bytes += uint64_t(shape_numel(t.shape)) * dtype_size(t.dtype);
    elems += uint64_t(shape_numel(t.shape));
  }
  // The host reads the operands from card DRAM, computes at host.op_gflops, writes back.
  Txn x;
  x.what = "host_op";
  x.kind = Txn::HostRead;
  x.start_ns = now_ns();
  double t = port_.send(x, 0, in_bytes, false);
  uint64_t flops = elems;
  if (size_t(in.layer) < prog.layers.size() && prog.layers[size_t(in.layer)].macs > 0)
    flops = std::max<uint64_t>(flops, 2 * prog.layers[size_t(in.layer)].macs);
  t += double(flops) / std::max(1e-9, sh_.cfg.host.op_gflops);
  x.kind = Txn::HostWrite;
  x.start_ns = t;
  t = port_.send(x, 0, out_bytes, true);
  if (sh_.mem) kernels::run_host_op(prog, uint64_t(in.id), *sh_.mem);
  ++sh_.stats.host_ops;
  advance_to(t);
}

// Issues an instruction's memory traffic at issue_ns; returns when the last byte is done.
double QueueEngine::memory_phase(const isa::Instr& in, double issue_ns, uint64_t& bytes, LayerStats* ls) {
  runs_.clear();
  kernels::for_each_run(in, [&](const kernels::Run& r) { runs_.push_back(r); });
  double done = issue_ns;
  const auto& dcfg = sh_.cfg.dma;
  const uint64_t req_bytes = uint64_t(std::max(8, dcfg.request_bytes));
  const size_t window = size_t(std::max(1, dcfg.max_outstanding));
  // DRAM requests of this instruction in issue order, one per cycle, at most `window` in
  // flight: request i cannot arrive before request i - window is done (DramFrontEnd).
  batch_.clear();
  for (const auto& r : runs_) {
    bytes += r.bytes;
    if (r.space == isa::Space::Dram) {
      if (ls) (r.write ? ls->dram_write_bytes : ls->dram_read_bytes) += r.bytes;
      uint64_t a = r.addr;
      const uint64_t end = r.addr + r.bytes;
      while (a < end) {
        const uint64_t next = std::min(end, (a / req_bytes + 1) * req_bytes);
        dram::Request rq;
        rq.addr = a;
        rq.is_write = r.write;
        rq.bytes = uint32_t(next - a);
        batch_.push_back(rq);
        a = next;
      }
    } else {
      Txn x;
      x.kind = Txn::Mem;
      x.space = r.space;
      x.what = r.write ? "dma_write" : "dma_read";
      x.start_ns = issue_ns;
      done = std::max(done, port_.send(x, r.addr, r.bytes, r.write));
    }
  }
  if (!batch_.empty()) {
    // The front end works in SystemC time: catch up, then wait for the stream.
    qk_.sync();
    done = std::max(done, sh_.dram_front->stream(batch_, issue_ns, sh_.cycle_ns, window));
    qk_.reset();
    if (sh_.failed) throw Stopped{};
  }
  return done;
}

void QueueEngine::compute(const isa::Instr& in, size_t pc, uint64_t& bytes) {
  sh_.checker.check(in, q_, pc);
  if (sh_.mem) kernels::execute(in, *sh_.mem);
  const kernels::Cost c = kernels::cost(in, sh_.cfg);
  const double t0 = now_ns();
  const double compute_ns = double(c.cycles) * sh_.cycle_ns;
  const bool is_dma = in.op == isa::Opcode::DmaCopy || in.op == isa::Opcode::DmaFill;
  LayerStats* ls = in.layer < 65536 ? &sh_.layer(uint32_t(in.layer)) : nullptr;
  // DMA: descriptor setup, then the transfer. Compute engines stream their operands while
  // they compute; the instruction ends when both are done.
  const double issue = is_dma ? t0 + compute_ns : t0;
  const double mem_done = memory_phase(in, issue, bytes, ls);
  const double t1 = std::max(t0 + compute_ns, mem_done);
  auto& es = sh_.stats.engines[size_t(q_)];
  const uint64_t span_cycles = uint64_t(std::llround((t1 - t0) / sh_.cycle_ns));
  if (is_dma) {
    es.busy_cycles += span_cycles;
  } else {
    es.busy_cycles += c.cycles;
    es.mem_stall_cycles += span_cycles > c.cycles ? span_cycles - c.cycles : 0;
  }
  if (ls) {
    ls->macs += c.macs;
    ls->vector_elems += c.vector_elems;
    ls->busy_cycles[size_t(q_)] += is_dma ? span_cycles : c.cycles;
  }
  sh_.stats.macs += c.macs;
  sh_.stats.vector_elems += c.vector_elems;
  if (c.macs) {
    // Energy per MAC of the array: 16-bit integer operands take array_macs 8-bit MACs ("i8").
    const DType at = DType(uint8_t(in.a_type));
    const bool int_passes = dtype_is_integer(at) && c.array_macs > c.macs;
    sh_.stats.macs_by_type[int_passes ? "i8" : std::string(dtype_name(at))] += int_passes ? c.array_macs : c.macs;
  }
  if (c.vector_elems) {
    std::string key = in.op == isa::Opcode::VpuRequant ? "requant" : std::string(isa::fn_name(isa::Fn(in.fn)));
    sh_.stats.vector_elems_by_fn[key] += c.vector_elems;
  }
  advance_to(t1);
}

void QueueEngine::run_queue() {
  const auto& code = sh_.prog.queues[size_t(q_)];
  auto& st = sh_.qs[size_t(q_)];
  auto& es = sh_.stats.engines[size_t(q_)];
  auto& counts = sh_.opcode_counts[size_t(q_)];
  // An instruction of a later layer than the barrier it precedes runs ahead (weight prefetch
  // during earlier layers): background work that does not open its layer's span, or the
  // report would give that layer the earlier layers' cycles.
  std::vector<int64_t> next_barrier_layer(code.size() + 1, INT64_MAX);
  for (size_t i = code.size(); i-- > 0;)
    next_barrier_layer[i] = code[i].op == isa::Opcode::Barrier ? int64_t(code[i].layer) : next_barrier_layer[i + 1];
  for (size_t pc = 0;; ++pc) {
    if (sh_.failed) throw Stopped{};
    st.pc = pc;
    if (pc >= code.size()) break;  // running off the end counts as `end`
    const isa::Instr& in = code[pc];
    es.fetch_bytes += isa::encoded_size(in.op);
    ++es.instructions;
    ++counts[size_t(in.op)];
    double t_wait = now_ns();
    if (in.wait != 0) sem_take(in.wait, 1, in);
    const double t0 = now_ns();
    uint64_t sync_ns_extra = 0;
    uint64_t bytes = 0;
    bool ended = false;
    switch (in.op) {
      case isa::Opcode::End: ended = true; break;
      case isa::Opcode::Nop: advance_to(t0 + sh_.cycle_ns); es.busy_cycles += 1; break;
      case isa::Opcode::SemWait: sem_take(in.sem, std::max<int64_t>(in.count, 1), in); break;
      case isa::Opcode::SemSignal: break;  // signalled below, after the `signal` field's token
      case isa::Opcode::Barrier: barrier(uint64_t(in.id)); break;
      case isa::Opcode::Irq: break;
      case isa::Opcode::HostCall: host_call(in); break;
      default: compute(in, pc, bytes); break;
    }
    (void)sync_ns_extra;
    const double t1 = now_ns();
    const bool sync_op = in.op == isa::Opcode::SemWait || in.op == isa::Opcode::Barrier || in.op == isa::Opcode::HostCall;
    es.sync_stall_cycles += uint64_t(std::llround(((sync_op ? t1 : t0) - t_wait) / sh_.cycle_ns));
    if (in.op == isa::Opcode::SemSignal) sem_give(in.sem, std::max<int64_t>(in.count, 1), t1, in);
    if (in.signal != 0) sem_give(in.signal, 1, t1, in);
    if (in.op != isa::Opcode::End && in.op != isa::Opcode::Nop && in.layer < 65536) {
      LayerStats& ls = sh_.layer(uint32_t(in.layer));
      // A host.call is the layer's work for host-placed layers (it is a sync op only for
      // the stall accounting above), so it counts in the layer's span.
      const bool does_layer_work = !sync_op || in.op == isa::Opcode::HostCall;
      if (does_layer_work && in.op != isa::Opcode::SemSignal && in.op != isa::Opcode::Irq) {
        const bool run_ahead = int64_t(in.layer) > next_barrier_layer[pc];
        if (!run_ahead && (ls.first_start_ns < 0 || t0 < ls.first_start_ns)) ls.first_start_ns = t0;
        ls.last_end_ns = std::max(ls.last_end_ns, t1);
      }
    }
    if (sh_.obs) sh_.obs->instruction(q_, in.op, uint32_t(in.layer), t0, t1, bytes);
    if (ended) break;
    if (qk_.need_sync()) qk_.sync();
  }
  qk_.sync();
  sh_.queue_ended(q_, now_ns());
}

// ---------------------------------------------------------------------------------------
// Host driver

HostDriver::HostDriver(sc_core::sc_module_name n, Shared& sh, kernels::ProgramMemory* pm,
                       const std::vector<Tensor>& inputs)
    : sc_module(n), socket("socket"), sh_(sh), pm_(pm), inputs_(inputs) {
  port_.socket = &socket;
  SC_THREAD(thread);
}

double HostDriver::pcie(Txn::Kind kind, uint64_t bytes, double start_ns, const char* what) {
  if (bytes == 0) return start_ns;
  Txn x;
  x.kind = kind;
  x.start_ns = start_ns;
  x.what = what;
  return port_.send(x, 0, bytes, kind == Txn::HostWrite);
}

void HostDriver::thread() {
  try {
    const auto& prog = sh_.prog;
    auto wait_until = [this](double t_ns) {
      const double now = ns_of(sc_time_stamp());
      if (t_ns > now) wait(sc_time(t_ns - now, SC_NS));
    };
    double t = 0;
    if (!sh_.opt.warm) {
      uint64_t code_bytes = 0;
      for (const auto& q : prog.queues)
        for (const auto& in : q) code_bytes += isa::encoded_size(in.op);
      t = pcie(Txn::HostWrite, code_bytes + prog.constants.size(), 0.0, "load");
      sh_.stats.model_load_ns = t;
    }
    uint64_t in_bytes = 0, out_bytes = 0;
    for (const auto& b : prog.inputs) in_bytes += uint64_t(shape_numel(b.shape)) * dtype_size(b.dtype);
    for (const auto& b : prog.outputs) out_bytes += uint64_t(shape_numel(b.shape)) * dtype_size(b.dtype);
    const int n = std::max(1, sh_.opt.inferences);
    const size_t nn = static_cast<size_t>(n);
    std::vector<double> in_start(nn + 1), in_done(nn + 1), done(nn);
    in_start[0] = t;
    in_done[0] = pcie(Txn::HostWrite, in_bytes, t, "input");
    double prev_completion = t, first_doorbell = 0;
    const double mmio_ns = sh_.cfg.pcie.latency_ns;
    for (int i = 0; i < n; ++i) {
      const double doorbell = std::max(in_done[size_t(i)], prev_completion) + mmio_ns;
      wait_until(doorbell);
      if (i == 0) first_doorbell = doorbell;
      if (pm_) pm_->load_inputs(prog, inputs_);
      // Reset the command processor for this inference and start every queue.
      for (auto& tk : sh_.tokens) tk = {};
      sh_.barriers.clear();
      for (auto& st : sh_.qs) st = Shared::QueueState{0, false, true};
      sh_.active = sh_.num_queues;
      sh_.doorbell_ns = doorbell;
      sh_.completion_ns = doorbell;
      if (sh_.num_queues > 0) {
        sh_.start_event.notify(sc_core::SC_ZERO_TIME);
        // The next input's write overlaps this inference's compute.
        if (i + 1 < n) {
          in_start[size_t(i) + 1] = doorbell;
          in_done[size_t(i) + 1] = pcie(Txn::HostWrite, in_bytes, doorbell, "input");
        }
        wait(sh_.done_event);
      } else if (i + 1 < n) {
        in_start[size_t(i) + 1] = doorbell;
        in_done[size_t(i) + 1] = pcie(Txn::HostWrite, in_bytes, doorbell, "input");
      }
      if (sh_.failed) return;
      const double completion = sh_.completion_ns;
      sh_.stats.inference_card_ns.push_back(completion - doorbell);
      wait_until(completion);
      if (pm_) outputs = pm_->read_outputs(prog);
      const double irq = completion + sh_.cfg.host.irq_latency_ns;
      done[size_t(i)] = pcie(Txn::HostRead, out_bytes, irq, "output");
      sh_.stats.inference_latency_ns.push_back(done[size_t(i)] - in_start[size_t(i)]);
      if (sh_.obs) sh_.obs->inference(i, in_start[size_t(i)], done[size_t(i)]);
      prev_completion = completion;
    }
    wait_until(done[size_t(n) - 1]);
    sh_.stats.inferences = n;
    sh_.stats.total_ns = prev_completion - first_doorbell;
    sh_.stats.total_cycles = uint64_t(std::llround(sh_.stats.total_ns / sh_.cycle_ns));
    sh_.stats.throughput_per_s =
        n >= 2 ? double(n - 1) / ((done[size_t(n) - 1] - done[0]) * 1e-9) : 1e9 / sh_.stats.inference_latency_ns[0];
    sh_.host_done = true;
  } catch (const sc_core::sc_unwind_exception&) {
    throw;
  } catch (const std::exception& e) {
    sh_.fault(e.what());
  }
}

// ---------------------------------------------------------------------------------------
// Assembly

class Card : public sc_core::sc_module {
 public:
  Card(sc_core::sc_module_name n, Shared& sh, dram::DramModel& dram, pcie::PcieLink& link, kernels::ProgramMemory* pm,
       const std::vector<Tensor>& inputs)
      : sc_module(n),
        sram_mem(sh.cfg.sram.banks, sh.cfg.sram.bank_width_bytes, sh.cfg.sram.ports, sh.cycle_ns),
        acc_mem(sh.cfg.accumulator.banks, 64, 2, sh.cycle_ns),
        sram("sram", sram_mem),
        acc("acc", acc_mem),
        dram_t("dram", dram, sh.obs),
        pcie_t("pcie", link, sh.obs),
        router("router"),
        dram_front("dram_front", sh),
        host("host", sh, pm, inputs) {
    sh.dram_front = &dram_front;
    dram_front.socket.bind(router.in);
    router.to_pcie.bind(pcie_t.socket);
    router.to_dram.bind(dram_t.socket);
    router.to_sram.bind(sram.socket);
    router.to_acc.bind(acc.socket);
    host.socket.bind(router.in);
    for (int q = 0; q < sh.num_queues; ++q) {
      engines.push_back(std::make_unique<QueueEngine>(isa::queue_name(q).c_str(), q, sh));
      engines.back()->socket.bind(router.in);
    }
  }
  BankedMemory sram_mem, acc_mem;
  MemTarget sram, acc;
  DramTarget dram_t;
  PcieTarget pcie_t;
  Router router;
  DramFrontEnd dram_front;
  HostDriver host;
  std::vector<std::unique_ptr<QueueEngine>> engines;
};

}  // namespace detail

namespace {

bool g_elaborated = false;

CardConfig effective_config(const CardConfig& in) {
  CardConfig cfg = in;
  if (cfg.dram.timing.tCK_ns <= 0) cfg.dram.timing = dram::find_speed_grade(cfg.dram.standard, cfg.dram.speed_grade);
  return cfg;
}

void fill_final_stats(detail::Shared& sh, dram::DramModel& dram, pcie::PcieLink& link, detail::BankedMemory& sram,
                      detail::BankedMemory& acc) {
  RunStats& s = sh.stats;
  s.clock_ghz = sh.cfg.clock_ghz;
  s.simulated_ns = detail::ns_of(sc_core::sc_time_stamp());
  for (int q = 0; q < sh.num_queues; ++q) {
    auto& es = s.engines[size_t(q)];
    for (int op = 0; op < isa::kNumOpcodes; ++op)
      if (sh.opcode_counts[size_t(q)][size_t(op)])
        es.opcode_counts[kernels::mnemonic_of(isa::Opcode(op))] = sh.opcode_counts[size_t(q)][size_t(op)];
    const uint64_t used = es.busy_cycles + es.mem_stall_cycles + es.sync_stall_cycles;
    es.idle_cycles = s.total_cycles > used ? s.total_cycles - used : 0;
    s.instruction_fetch_bytes += es.fetch_bytes;
  }
  for (auto& ls : s.layers)
    if (ls.busy_cycles.size() != size_t(sh.num_queues)) ls.busy_cycles.resize(size_t(sh.num_queues), 0);
  s.dram.peak_gbps = dram.peak_bandwidth_gbps();
  for (const auto& c : dram.channel_stats()) {
    DramRunStats::Channel ch;
    ch.reads = c.reads; ch.writes = c.writes; ch.activates = c.activates; ch.precharges = c.precharges;
    ch.refreshes = c.refreshes; ch.row_hits = c.row_hits; ch.row_misses = c.row_misses;
    ch.row_conflicts = c.row_conflicts; ch.bytes_read = c.bytes_read; ch.bytes_written = c.bytes_written;
    ch.busy_ns = c.busy_ns;
    s.dram.bytes_read += c.bytes_read;
    s.dram.bytes_written += c.bytes_written;
    s.dram.channels.push_back(ch);
  }
  s.dram.latency_samples_ns = dram.latency_samples_ns();
  s.dram.requests = s.dram.latency_samples_ns.size();
  for (int d = 0; d < 2; ++d) {
    const auto& ps = link.stats(pcie::Dir(d));
    auto& out = d == 0 ? s.pcie.h2d : s.pcie.d2h;
    out.payload_bytes = ps.payload_bytes;
    out.wire_bytes = ps.wire_bytes;
    out.tlps = ps.tlps;
    out.busy_ns = ps.busy_ns;
  }
  s.pcie.transfer_latency_ns = link.latency_samples_ns();
  s.memory.sram_read_bytes = sram.read_bytes;
  s.memory.sram_write_bytes = sram.write_bytes;
  s.memory.sram_bank_conflicts = sram.conflicts;
  s.memory.acc_read_bytes = acc.read_bytes;
  s.memory.acc_write_bytes = acc.write_bytes;
  s.memory.acc_bank_conflicts = acc.conflicts;
  if (sh.obs)
    for (size_t l = 0; l < s.layers.size(); ++l)
      if (s.layers[l].first_start_ns >= 0)
        sh.obs->layer_span(uint32_t(l), s.layers[l].name, s.layers[l].first_start_ns, s.layers[l].last_end_ns);
}

}  // namespace

namespace {

#if defined(__SANITIZE_ADDRESS__)
// Debian's SystemC 2.3.4 tells AddressSanitizer about its QuickThreads stack switches, but it
// switches back to the main coroutine announcing the stack (nullptr, 0) (sc_cor_qt never records
// the main stack's bounds), so ASan keeps the bounds of the last coroutine stack. Back on main:
// - ASan ignores __asan_handle_no_return ("ASan is ignoring requested ..."): an exception leaves
//   the thrown-through frames poisoned and the next landing pad reports a false
//   stack-use-after-scope;
// - at exit LeakSanitizer scans that coroutine stack as the main thread's, hits the guard page
//   SystemC mprotects ("Tracer caught signal 11") and dies with a fatal error.
// Once sc_start has returned we are on the main stack for good: announce its real bounds.
void resync_asan_main_stack() {
  pthread_attr_t attr;
  void* bottom = nullptr;
  size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
  pthread_attr_getstack(&attr, &bottom, &size);
  pthread_attr_destroy(&attr);
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, bottom, size);
  __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
}
#else
void resync_asan_main_stack() {}
#endif

}  // namespace

RunResult run_program(const isa::Program& prog, const CardConfig& cfg_in, const std::vector<Tensor>& inputs,
                      const RunOptions& opt) {
  RunResult res;
  res.stats.mode = mode_name(opt.mode);
  if (opt.inferences < 1) fail(ErrorKind::Usage, "inferences must be >= 1, got {}", opt.inferences);
  if (inputs.size() != prog.inputs.size())
    fail(ErrorKind::Usage, "the program has {} inputs but {} tensors were given", prog.inputs.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) (void)kernels::to_binding(inputs[i], prog.inputs[i], i);
  const int dma_queues = int(prog.queues.size()) - 2;
  if (dma_queues > cfg_in.dma.dma_channels)
    fail(ErrorKind::Capacity, "the program uses {} DMA queues but card '{}' has dma.dma_channels = {}", dma_queues,
         cfg_in.name, cfg_in.dma.dma_channels);

  if (opt.mode == RunOptions::Mode::Functional) {
    try {
      res.outputs = kernels::run_functional(prog, inputs);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::Fault) throw;
      res.complete = false;
      res.error = e.what();
    }
    res.stats.complete = res.complete;
    res.stats.inferences = opt.inferences;
    return res;
  }

  if (g_elaborated)
    fail(ErrorKind::Usage,
         "run_program: the SystemC card can be elaborated once per process; use run_program_forked for further runs");
  g_elaborated = true;
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0);
  // Keep stdout clean for the CLI's reports ("Simulation stopped by user" on a fault).
  sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);

  const CardConfig cfg = effective_config(cfg_in);
  dram::DramModel dram_model(cfg.dram);
  pcie::PcieLink link(cfg.pcie);
  std::unique_ptr<kernels::ProgramMemory> pm;
  if (opt.mode == RunOptions::Mode::Both) {
    pm = std::make_unique<kernels::ProgramMemory>(prog);
    pm->load_constants(prog);
  }
  detail::Shared sh(prog, cfg, opt);
  sh.mem = pm ? &pm->view : nullptr;
  sh.stats.mode = mode_name(opt.mode);
  // Engines sync at every blocking point; in between they run ahead by up to a quantum.
  tlm_utils::tlm_quantumkeeper::set_global_quantum(sc_core::sc_time(1, sc_core::SC_US));
  auto* card = new detail::Card("card", sh, dram_model, link, pm.get(), inputs);  // lives until exit
  sc_core::sc_start();
  resync_asan_main_stack();
  if (!sh.failed && !sh.host_done) {
    sh.failed = true;
    sh.error = sh.deadlock_report();
  }
  if (sh.failed) {
    // Partial statistics up to the fault.
    const double now = detail::ns_of(sc_core::sc_time_stamp());
    sh.stats.total_ns = std::max(0.0, now - sh.doorbell_ns);
    sh.stats.total_cycles = uint64_t(std::llround(sh.stats.total_ns / sh.cycle_ns));
  }
  fill_final_stats(sh, dram_model, link, card->sram_mem, card->acc_mem);
  res.complete = !sh.failed;
  res.error = sh.error;
  sh.stats.complete = res.complete;
  res.stats = std::move(sh.stats);
  res.outputs = std::move(card->host.outputs);
  return res;
}

}  // namespace cardsim::card

