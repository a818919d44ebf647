#include "models/kernels/functional_run.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "models/kernels/operand.h"

#ifdef CARDSIM_HAVE_HOST_OPS
#include "compiler/frontend/node_io.h"
#include "compiler/reference/ops.h"
#endif

namespace cardsim::kernels {

std::string mnemonic_of(isa::Opcode op) { return std::string(detail::mnemonic(op)); }

namespace {

std::string queue_label(int q) {
  if (q == isa::kQueueMxu) return "mxu";
  if (q == isa::kQueueVpu) return "vpu";
  return "dma" + std::to_string(q - isa::kQueueDma0);
}

uint64_t space_extent(const isa::Program& prog, isa::Space sp) {
  uint64_t end = 0;
  for (const auto& r : prog.regions)
    if (r.space == sp) end = std::max(end, r.base + r.size);
  return end;
}

}  // namespace

ProgramMemory::ProgramMemory(const isa::Program& prog, uint64_t min_sram, uint64_t min_acc) {
  uint64_t dram = std::max(prog.dram_bytes, space_extent(prog, isa::Space::Dram));
  dram = std::max<uint64_t>(dram, prog.constants_addr + prog.constants.size());
  for (const auto& b : prog.inputs) dram = std::max<uint64_t>(dram, b.dram_addr + uint64_t(shape_numel(b.shape)) * dtype_size(b.dtype));
  for (const auto& b : prog.outputs) dram = std::max<uint64_t>(dram, b.dram_addr + uint64_t(shape_numel(b.shape)) * dtype_size(b.dtype));
  for (const auto& h : prog.host_ops) {
    for (const auto& t : h.inputs)
      if (t.dtype != DType::Undefined) dram = std::max<uint64_t>(dram, t.dram_addr + uint64_t(shape_numel(t.shape)) * dtype_size(t.dtype));
    for (const auto& t : h.outputs)
      if (t.dtype != DType::Undefined) dram = std::max<uint64_t>(dram, t.dram_addr + uint64_t(shape_numel(t.shape)) * dtype_size(t.dtype));
  }
  const uint64_t sram = std::max({prog.sram_bytes, space_extent(prog, isa::Space::Sram), min_sram});
  const uint64_t acc = std::max({prog.acc_bytes, space_extent(prog, isa::Space::Acc), min_acc});
  const uint64_t host = space_extent(prog, isa::Space::Host);
  const uint64_t sizes[4] = {host, dram, sram, acc};
  for (int s = 0; s < 4; ++s) {
    bytes[s].assign(size_t(sizes[s]), 0);
    view.base[s] = bytes[s].empty() ? nullptr : bytes[s].data();
    view.size[s] = sizes[s];
  }
}

void ProgramMemory::load_constants(const isa::Program& prog) {
  if (!prog.constants.empty())
    std::memcpy(bytes[1].data() + prog.constants_addr, prog.constants.data(), prog.constants.size());
}

Tensor to_binding(const Tensor& t, const isa::TensorBinding& b, size_t index) {
  if (t.numel() != shape_numel(b.shape))
    fail(ErrorKind::Usage, "input {} '{}' has shape {} ({} elements) but the program expects {}", index, b.name,
         shape_str(t.shape), t.numel(), shape_str(b.shape));
  if (t.dtype == b.dtype) {
    Tensor r = t;
    r.shape = b.shape;
    return r;
  }
  Tensor r(b.dtype, b.shape);
  const size_t n = size_t(t.numel());
  const bool quantize = b.scale != 0 && dtype_is_float(t.dtype) && dtype_is_integer(b.dtype);
  for (size_t i = 0; i < n; ++i) {
    double v = t.get(i);
    if (quantize) v = double(std::nearbyint(float(v) / b.scale)) + b.zero_point;
    r.set(i, v);
  }
  return r;
}

void ProgramMemory::load_inputs(const isa::Program& prog, const std::vector<Tensor>& inputs) {
  if (inputs.size() != prog.inputs.size())
    fail(ErrorKind::Usage, "the program has {} inputs but {} tensors were given", prog.inputs.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor t = to_binding(inputs[i], prog.inputs[i], i);
    if (!t.data.empty()) std::memcpy(bytes[1].data() + prog.inputs[i].dram_addr, t.data.data(), t.data.size());
  }
}

std::vector<Tensor> ProgramMemory::read_outputs(const isa::Program& prog) const {
  std::vector<Tensor> out;
  for (const auto& b : prog.outputs) {
    Tensor t(b.dtype, b.shape);
    if (!t.data.empty()) std::memcpy(t.data.data(), bytes[1].data() + b.dram_addr, t.data.size());
    out.push_back(std::move(t));
  }
  return out;
}

RegionChecker::RegionChecker(const std::vector<isa::Region>& regions) {
  for (const auto& r : regions) {
    by_space_[int(r.space) & 3].push_back(r);
    any_ = true;
  }
}

void RegionChecker::check(const isa::Instr& in, int queue, size_t index) const {
  if (!any_) return;
  const isa::Region* last = nullptr;
  for_each_run(in, [&](const Run& run) {
    const auto& list = by_space_[int(run.space) & 3];
    if (list.empty()) return;
    auto inside = [&](const isa::Region* r) {
      return r && r->space == run.space && run.addr >= r->base && run.addr + run.bytes <= r->base + r->size &&
             (!run.write || r->writable);
    };
    if (inside(last)) return;
    for (const auto& r : list)
      if (inside(&r)) {
        last = &r;
        return;
      }
    // Name the region it overlaps (read-only write) if there is one.
    for (const auto& r : list)
      if (run.addr >= r.base && run.addr + run.bytes <= r.base + r.size && run.write && !r.writable)
        fail(ErrorKind::Fault,
             "access fault: queue {} instruction #{} {} (layer {}) writes {} [0x{:x}, 0x{:x}) in read-only region '{}'",
             queue_label(queue), index, detail::mnemonic(in.op), in.layer, detail::space_label(run.space), run.addr,
             run.addr + run.bytes, r.name);
    fail(ErrorKind::Fault,
         "access fault: queue {} instruction #{} {} (layer {}) {} {} [0x{:x}, 0x{:x}) outside every region of the program",
         queue_label(queue), index, detail::mnemonic(in.op), in.layer, run.write ? "writes" : "reads",
         detail::space_label(run.space), run.addr, run.addr + run.bytes);
  });
}

void run_host_op(const isa::Program& prog, uint64_t id, Memories& mem) {
  if (id >= prog.host_ops.size())
    fail(ErrorKind::Fault, "host.call {}: the program has only {} host operations", id, prog.host_ops.size());
  const isa::HostOp& op = prog.host_ops[id];
  auto check = [&](const isa::HostTensorRef& t, size_t k, const char* what) {
    if (t.dtype == DType::Undefined) return;  // an omitted optional operand
    uint64_t end = t.dram_addr + uint64_t(shape_numel(t.shape)) * dtype_size(t.dtype);
    if (end > mem.size[1])
      fail(ErrorKind::Fault, "host.call {} ({}): {} {} at dram [0x{:x}, 0x{:x}) is outside card DRAM (0x{:x} bytes)",
           id, op.op_type, what, k, t.dram_addr, end, mem.size[1]);
  };
  for (size_t k = 0; k < op.inputs.size(); ++k) check(op.inputs[k], k, "input");
  for (size_t k = 0; k < op.outputs.size(); ++k) check(op.outputs[k], k, "output");
#ifdef CARDSIM_HAVE_HOST_OPS
  ir::Node node = parse_node(op.node.data(), op.node.size());
  std::vector<Tensor> ins;
  ins.reserve(op.inputs.size());
  for (const auto& t : op.inputs) {
    if (t.dtype == DType::Undefined) {  // omitted optional input: the kernel gets nullptr
      ins.emplace_back();
      continue;
    }
    Tensor x(t.dtype, t.shape);
    std::memcpy(x.data.data(), mem.base[1] + t.dram_addr, x.data.size());
    ins.push_back(std::move(x));
  }
  std::vector<const Tensor*> ptrs;
  for (size_t k = 0; k < ins.size(); ++k) ptrs.push_back(op.inputs[k].dtype == DType::Undefined ? nullptr : &ins[k]);
  std::vector<Tensor> outs = ref::run_node(node, ptrs);
  if (outs.size() < op.outputs.size())
    fail(ErrorKind::Internal, "host.call {} ({}): the reference kernel returned {} outputs, the program expects {}", id,
         op.op_type, outs.size(), op.outputs.size());
  for (size_t k = 0; k < op.outputs.size(); ++k) {
    const auto& ref = op.outputs[k];
    if (ref.dtype == DType::Undefined) continue;  // omitted optional output
    isa::TensorBinding b{"", ref.dtype, ref.shape, ref.dram_addr, 0.0f, 0};
    Tensor t = to_binding(outs[k], b, k);
    std::memcpy(mem.base[1] + ref.dram_addr, t.data.data(), t.data.size());
  }
#else
  fail(ErrorKind::Unsupported,
       "host.call {} ({}): this build has no host operator support (compiler/frontend parse_node and "
       "compiler/reference were not available when cardsim_kernels was configured)",
       id, op.op_type);
#endif
}

std::vector<Tensor> run_functional(const isa::Program& prog, const std::vector<Tensor>& inputs) {
  ProgramMemory pm(prog);
  pm.load_constants(prog);
  pm.load_inputs(prog, inputs);
  Memories& mem = pm.view;
  RegionChecker checker(prog.regions);

  const int nq = int(prog.queues.size());
  const size_t nsem = std::max<size_t>(prog.num_semaphores, 1);
  std::vector<int64_t> sem(nsem, 0);
  struct QState {
    size_t pc = 0;
    bool ended = false;
    bool wait_taken = false;  // the instruction's `wait` semaphore was already acquired
    int64_t barrier = -1;     // id of the barrier this queue waits at
  };
  std::vector<QState> qs(static_cast<size_t>(nq));
  auto sem_ref = [&](int64_t s, int q, size_t pc, const isa::Instr& in) -> int64_t& {
    if (s < 0 || size_t(s) >= nsem)
      fail(ErrorKind::Fault, "queue {} instruction #{} {} (layer {}) names semaphore {} but the program has {}",
           queue_label(q), pc, detail::mnemonic(in.op), in.layer, s, nsem);
    return sem[size_t(s)];
  };

  // Runs queue q until it blocks or ends; returns whether it made progress.
  auto step_queue = [&](int q) -> bool {
    QState& st = qs[size_t(q)];
    const auto& code = prog.queues[size_t(q)];
    bool progress = false;
    while (!st.ended) {
      if (st.pc >= code.size()) {  // running off the end counts as `end`
        st.ended = true;
        progress = true;
        break;
      }
      const isa::Instr& in = code[st.pc];
      if (in.wait != 0 && !st.wait_taken) {
        int64_t& v = sem_ref(in.wait, q, st.pc, in);
        if (v <= 0) return progress;
        --v;
        st.wait_taken = true;
        progress = true;
      }
      switch (in.op) {
        case isa::Opcode::SemWait: {
          int64_t& v = sem_ref(in.sem, q, st.pc, in);
          const int64_t need = std::max<int64_t>(in.count, 1);
          if (v < need) return progress;
          v -= need;
          break;
        }
        case isa::Opcode::SemSignal:
          sem_ref(in.sem, q, st.pc, in) += std::max<int64_t>(in.count, 1);
          break;
        case isa::Opcode::Barrier:
          if (st.barrier != int64_t(in.id)) {
            st.barrier = int64_t(in.id);
            progress = true;
          }
          {
            bool all = true;
            for (int o = 0; o < nq; ++o) {
              const QState& other = qs[size_t(o)];
              if (!other.ended && other.barrier != int64_t(in.id)) all = false;
            }
            if (!all) return progress;
            // Release every queue at this barrier: they each step past it.
            for (int o = 0; o < nq; ++o) {
              QState& other = qs[size_t(o)];
              if (o == q || other.ended || other.barrier != int64_t(in.id)) continue;
              const isa::Instr& oin = prog.queues[size_t(o)][other.pc];
              if (oin.signal != 0) sem_ref(oin.signal, o, other.pc, oin) += 1;
              other.barrier = -1;
              other.wait_taken = false;
              ++other.pc;
            }
            st.barrier = -1;
          }
          break;
        case isa::Opcode::End:
          st.ended = true;
          break;
        case isa::Opcode::HostCall:
          run_host_op(prog, uint64_t(in.id), mem);
          break;
        default:
          checker.check(in, q, st.pc);
          execute(in, mem);
          break;
      }
      if (in.signal != 0) sem_ref(in.signal, q, st.pc, in) += 1;
      st.wait_taken = false;
      if (!st.ended) ++st.pc;
      progress = true;
    }
    return progress;
  };

  while (true) {
    bool any_progress = false, all_ended = true;
    for (int q = 0; q < nq; ++q) {
      if (qs[size_t(q)].ended) continue;
      if (step_queue(q)) any_progress = true;
      if (!qs[size_t(q)].ended) all_ended = false;
    }
    if (all_ended) break;
    if (!any_progress) {
      std::string msg = "deadlock: every unfinished queue is blocked:";
      for (int q = 0; q < nq; ++q) {
        const QState& st = qs[size_t(q)];
        if (st.ended) continue;
        const isa::Instr& in = prog.queues[size_t(q)][st.pc];
        msg += fmt::format(" {} at #{} {} (layer {})", queue_label(q), st.pc, detail::mnemonic(in.op), in.layer);
        if (in.wait != 0 && !st.wait_taken)
          msg += fmt::format(" waits for semaphore {} (value {}, needs 1);", in.wait, sem[size_t(in.wait) % nsem]);
        else if (in.op == isa::Opcode::SemWait)
          msg += fmt::format(" waits for semaphore {} (value {}, needs {});", in.sem, sem[size_t(in.sem) % nsem],
                             std::max<int64_t>(in.count, 1));
        else if (in.op == isa::Opcode::Barrier)
          msg += fmt::format(" waits at barrier {};", in.id);
        else
          msg += ";";
      }
      msg.pop_back();
      fail(ErrorKind::Fault, "{}", msg);
    }
  }
  return pm.read_outputs(prog);
}

}  // namespace cardsim::kernels
