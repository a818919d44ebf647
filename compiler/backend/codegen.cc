#include "compiler/backend/codegen.h"

#include <algorithm>

namespace cardsim::backend {

using isa::Instr;
using isa::Opcode;

void set_d(Instr& in, const Operand& o) {
  in.d_space = int64_t(o.space), in.d_addr = int64_t(o.addr), in.d_type = int64_t(o.type);
  in.d_s0 = o.s[0], in.d_s1 = o.s[1], in.d_s2 = o.s[2], in.d_s3 = o.s[3];
  in.d_scale = o.scale, in.d_zp = o.zp;
}
void set_a(Instr& in, const Operand& o) {
  in.a_space = int64_t(o.space), in.a_addr = int64_t(o.addr), in.a_type = int64_t(o.type);
  in.a_s0 = o.s[0], in.a_s1 = o.s[1], in.a_s2 = o.s[2], in.a_s3 = o.s[3];
  in.a_scale = o.scale, in.a_zp = o.zp;
}
void set_b(Instr& in, const Operand& o) {
  in.b_space = int64_t(o.space), in.b_addr = int64_t(o.addr), in.b_type = int64_t(o.type);
  in.b_s0 = o.s[0], in.b_s1 = o.s[1], in.b_s2 = o.s[2], in.b_s3 = o.s[3];
  in.b_scale = o.scale, in.b_zp = o.zp;
}
void set_n(Instr& in, const Dims& n) {
  in.n0 = std::max<int64_t>(n[0], 1), in.n1 = std::max<int64_t>(n[1], 1);
  in.n2 = std::max<int64_t>(n[2], 1), in.n3 = std::max<int64_t>(n[3], 1);
}

Instr dma_copy(const Operand& d0, const Operand& a0, const Dims& n) {
  Instr in;
  in.op = Opcode::DmaCopy;
  Operand d = d0, a = a0;
  // Same encoding on both sides: a raw copy (no dequantize / requantize round trip).
  if (d.type == a.type && d.scale == a.scale && d.zp == a.zp) d.scale = a.scale = 0, d.zp = a.zp = 0;
  set_d(in, d), set_a(in, a), set_n(in, n);
  return in;
}
Instr dma_fill(const Operand& d, const Dims& n, float value) {
  Instr in;
  in.op = Opcode::DmaFill;
  set_d(in, d), set_n(in, n);
  in.alpha = value;
  return in;
}
Instr vpu_unary(isa::Fn fn, const Operand& d, const Operand& a, const Dims& n, float alpha, float beta) {
  Instr in;
  in.op = Opcode::VpuUnary;
  in.fn = int64_t(fn), in.alpha = alpha, in.beta = beta;
  in.dtype = int64_t(DType::F32);
  set_d(in, d), set_a(in, a), set_n(in, n);
  return in;
}
Instr vpu_binary(isa::Fn fn, const Operand& d, const Operand& a, const Operand& b, const Dims& n) {
  Instr in;
  in.op = Opcode::VpuBinary;
  in.fn = int64_t(fn);
  in.dtype = int64_t(DType::F32);
  set_d(in, d), set_a(in, a), set_b(in, b), set_n(in, n);
  return in;
}
Instr vpu_reduce(isa::Fn fn, const Operand& d, const Operand& a, const Dims& n) {
  Instr in;
  in.op = Opcode::VpuReduce;
  in.fn = int64_t(fn);
  in.dtype = int64_t(DType::F32);
  set_d(in, d), set_a(in, a), set_n(in, n);
  return in;
}
Instr sem_wait(int sem, int count) {
  Instr in;
  in.op = Opcode::SemWait;
  in.sem = sem, in.count = count;
  return in;
}
Instr sem_signal(int sem, int count) {
  Instr in;
  in.op = Opcode::SemSignal;
  in.sem = sem, in.count = count;
  return in;
}

Emitter::Emitter(isa::Program& p, const CardConfig& cfg) : p_(p) {
  int ch = std::max(1, cfg.dma.dma_channels);
  p_.queues.assign(size_t(isa::kQueueDma0 + ch), {});
  // Loads, stores and weights on separate DMA channels when there are enough of them.
  load_q_ = isa::kQueueDma0;
  store_q_ = isa::kQueueDma0 + (ch >= 2 ? 1 : 0);
  weight_q_ = isa::kQueueDma0 + (ch >= 3 ? 2 : 0);
}

void Emitter::emit(int queue, Instr in) {
  in.layer = layer_;
  p_.queues[size_t(queue)].push_back(in);
}

void Emitter::barrier_all() {
  ++barrier_id_;
  for (int q = 0; q < num_queues(); ++q) {
    Instr b;
    b.op = Opcode::Barrier;
    b.id = barrier_id_;
    emit(q, b);
  }
}

// Producer/consumer protocol (one counting semaphore per direction, in-order queues):
//   load q:  [wait InFree if step >= 2] loads -> signal InFull
//   mxu:     [wait AccFree if tile >= 2] wait InFull, convs, signal InFree ... signal AccFull
//   vpu:     wait AccFull (or InFull), [wait OutFree if tile >= 2], epilogue, signal AccFree
//            (or InFree), signal OutFull
//   store q: wait OutFull, stores, signal OutFree
// The surplus Free signals of the last two slots are drained at the end, so every
// semaphore is zero again when the layer's barrier is reached.
void Emitter::emit_pipeline(const Pipeline& pl) {
  const int mxu = isa::kQueueMxu, vpu = isa::kQueueVpu;
  if (!pl.weight_loads.empty()) {
    for (auto& in : pl.weight_loads) emit(weight_q_, in);
    emit(weight_q_, sem_signal(kWeightsFull));
    emit(pl.uses_mxu ? mxu : vpu, sem_wait(kWeightsFull));
  }
  size_t k = 0;
  auto emit_stores = [&](const Tile& t) {
    emit(store_q_, sem_wait(kOutFull));
    for (auto& in : t.stores) emit(store_q_, in);
    emit(store_q_, sem_signal(kOutFree));
  };
  for (size_t j = 0; j < pl.tiles.size(); ++j) {
    const Tile& t = pl.tiles[j];
    for (size_t s = 0; s < t.steps.size(); ++s, ++k) {
      const Step& st = t.steps[s];
      if (k >= 2) emit(load_q_, sem_wait(kInFree));
      for (auto& in : st.loads) emit(load_q_, in);
      emit(load_q_, sem_signal(kInFull));
      if (pl.uses_mxu) {
        if (s == 0 && j >= 2) emit(mxu, sem_wait(kAccFree));
        emit(mxu, sem_wait(kInFull));
        for (auto& in : st.mxu) emit(mxu, in);
        emit(mxu, sem_signal(kInFree));
      }
    }
    if (pl.uses_mxu) emit(mxu, sem_signal(kAccFull));
    emit(vpu, sem_wait(pl.uses_mxu ? kAccFull : kInFull));
    if (j >= 2) emit(vpu, sem_wait(kOutFree));
    for (auto& in : t.vpu) emit(vpu, in);
    emit(vpu, sem_signal(pl.uses_mxu ? kAccFree : kInFree));
    emit(vpu, sem_signal(kOutFull));
    // Stores of the previous tile after this tile's loads: with a single DMA queue this
    // order keeps loads ahead of stores without deadlock.
    if (j >= 1) emit_stores(pl.tiles[j - 1]);
  }
  if (!pl.tiles.empty()) emit_stores(pl.tiles.back());
  int J = int(pl.tiles.size()), K = int(k);
  if (std::min(K, 2) > 0) emit(load_q_, sem_wait(kInFree, std::min(K, 2)));
  if (pl.uses_mxu && std::min(J, 2) > 0) emit(mxu, sem_wait(kAccFree, std::min(J, 2)));
  if (std::min(J, 2) > 0) emit(vpu, sem_wait(kOutFree, std::min(J, 2)));
}

void Emitter::finish() {
  Instr irq;
  irq.op = Opcode::Irq;
  irq.id = 0;
  emit(load_q_, irq);
  for (auto& q : p_.queues) {
    Instr end;
    end.op = Opcode::End;
    end.layer = layer_;
    q.push_back(end);
  }
  // Peephole: a single-count sem.wait before a plain instruction becomes its wait field,
  // a single-count sem.signal after one becomes its signal field.
  auto plain = [](const Instr& in) {
    return in.op != Opcode::SemWait && in.op != Opcode::SemSignal && in.op != Opcode::Barrier &&
           in.op != Opcode::End && in.op != Opcode::Nop;
  };
  // Fields an opcode does not have stay zero (the encoder rejects them).
  std::vector<std::vector<bool>> allowed(isa::kNumOpcodes, std::vector<bool>(isa::kNumFields, false));
  for (int op = 0; op < isa::kNumOpcodes; ++op) {
    for (auto f : isa::opcode_info(Opcode(op)).fields) allowed[size_t(op)][size_t(f)] = true;
    for (auto f : {isa::FieldId::wait, isa::FieldId::signal, isa::FieldId::layer}) allowed[size_t(op)][size_t(f)] = true;
  }
  for (auto& q : p_.queues)
    for (auto& in : q)
      for (int f = 0; f < isa::kNumFields; ++f)
        if (!allowed[size_t(in.op)][size_t(f)] && isa::get_field(in, isa::FieldId(f)) != 0) isa::set_field(in, isa::FieldId(f), 0);
  for (auto& q : p_.queues) {
    std::vector<Instr> out;
    out.reserve(q.size());
    for (size_t i = 0; i < q.size(); ++i) {
      const Instr& in = q[i];
      if (in.op == Opcode::SemWait && in.count == 1 && i + 1 < q.size() && plain(q[i + 1]) && q[i + 1].wait == 0) {
        Instr next = q[i + 1];
        next.wait = in.sem;
        // The merged instruction may itself be followed by a signal to merge.
        out.push_back(next);
        ++i;
        continue;
      }
      if (in.op == Opcode::SemSignal && in.count == 1 && !out.empty() && plain(out.back()) && out.back().signal == 0) {
        out.back().signal = in.sem;
        continue;
      }
      out.push_back(in);
    }
    q = std::move(out);
  }
}

}  // namespace cardsim::backend
