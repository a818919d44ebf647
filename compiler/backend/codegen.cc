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
  // Every channel beyond loads and stores helps with the (bandwidth-bound) weight loads.
  for (int c = 2; c < ch; ++c) weight_qs_.push_back(isa::kQueueDma0 + c);
  if (weight_qs_.empty()) weight_qs_.push_back(weight_q_);
  // One DMA channel streams at most max_outstanding requests: tile loads use channels 0 and
  // 2, stores 1 and 3 when the card has them.
  load_qs_.push_back(load_q_);
  if (ch >= 3) load_qs_.push_back(isa::kQueueDma0 + 2);
  store_qs_.push_back(store_q_);
  if (ch >= 4) store_qs_.push_back(isa::kQueueDma0 + 3);
  for (int c = 0; c < ch; ++c) prefetch_qs_.push_back(isa::kQueueDma0 + c);
}

namespace {
// Splits a copy into `parts` along its outermost non-unit dimension (same semantics).
std::vector<Instr> split_copy(const Instr& in, int parts) {
  int64_t* n[4] = {nullptr, nullptr, nullptr, nullptr};
  Instr tmp = in;
  n[0] = &tmp.n0, n[1] = &tmp.n1, n[2] = &tmp.n2, n[3] = &tmp.n3;
  int dim = 3;
  while (dim > 0 && *n[dim] <= 1) --dim;
  int64_t ext = *n[dim];
  if (parts <= 1 || ext < parts || in.op != Opcode::DmaCopy) return {in};
  int64_t ds[4] = {in.d_s0, in.d_s1, in.d_s2, in.d_s3}, as[4] = {in.a_s0, in.a_s1, in.a_s2, in.a_s3};
  size_t de = dtype_size(DType(in.d_type)), ae = dtype_size(DType(in.a_type));
  std::vector<Instr> out;
  for (int k = 0; k < parts; ++k) {
    int64_t b = ext * k / parts, e = ext * (k + 1) / parts;
    if (e <= b) continue;
    Instr piece = in;
    int64_t* pn[4] = {&piece.n0, &piece.n1, &piece.n2, &piece.n3};
    *pn[dim] = e - b;
    piece.d_addr = in.d_addr + b * ds[dim] * int64_t(de);
    piece.a_addr = in.a_addr + b * as[dim] * int64_t(ae);
    out.push_back(piece);
  }
  return out;
}

// Splits a copy over `parts` DMA channels that run at the same time; returns each channel's
// copies. Channel k takes every parts-th block of the outermost non-unit dimension (blocks of
// at least 4 KiB and whole 64-byte DRAM requests, so no two channels fetch the same request;
// a partial last block goes to the channel next in turn), so the channels walk the same DRAM
// rows together and hit the open rows. (256-byte blocks shared rows as well but cut each copy
// into many short runs: the card model took 1.5x as long on resnet50.) Contiguous quarters would stream from
// distant regions whose rows can fall in the same banks and close each other's rows at
// every request. Falls back to contiguous ranges when no such block exists.
std::vector<std::vector<Instr>> interleave_copy(const Instr& in, int parts) {
  std::vector<std::vector<Instr>> per(size_t(std::max(parts, 1)));
  auto contiguous = [&] {
    auto pieces = split_copy(in, parts);
    for (size_t k = 0; k < pieces.size(); ++k) per[pieces.size() == 1 ? 0 : k].push_back(pieces[k]);
    return per;
  };
  if (parts <= 1 || in.op != Opcode::DmaCopy) return contiguous();
  int64_t n[4] = {in.n0, in.n1, in.n2, in.n3};
  int64_t ds[4] = {in.d_s0, in.d_s1, in.d_s2, in.d_s3}, as[4] = {in.a_s0, in.a_s1, in.a_s2, in.a_s3};
  int dim = 3;
  while (dim > 0 && n[dim] <= 1) --dim;
  const int64_t ext = n[dim];
  const uint64_t ae = dtype_size(DType(in.a_type)), de = dtype_size(DType(in.d_type));
  uint64_t elems = 1;  // elements of one index of `dim`
  for (int i = 0; i < dim; ++i) elems *= uint64_t(n[i]);
  constexpr uint64_t kMinBlock = 4096, kRequest = 64;
  const bool a_dram = in.a_space == int64_t(isa::Space::Dram), d_dram = in.d_space == int64_t(isa::Space::Dram);
  int64_t group = 0;  // indices of `dim` per block
  for (int64_t g = 1; g <= ext / parts && group == 0; ++g) {
    const uint64_t e = elems * uint64_t(g);
    if (e * std::max(ae, de) >= kMinBlock && (!a_dram || e * ae % kRequest == 0) && (!d_dram || e * de % kRequest == 0))
      group = g;
  }
  if (group == 0 || (group > 1 && dim == 3)) return contiguous();  // no block, or no free dimension for one
  const int64_t blocks = ext / group, tail = ext % group;
  auto make = [&](int64_t first, const int64_t (&count)[4], const int64_t (&dstr)[4], const int64_t (&astr)[4]) {
    Instr piece = in;
    piece.n0 = count[0], piece.n1 = count[1], piece.n2 = count[2], piece.n3 = count[3];
    piece.d_s0 = dstr[0], piece.d_s1 = dstr[1], piece.d_s2 = dstr[2], piece.d_s3 = dstr[3];
    piece.a_s0 = astr[0], piece.a_s1 = astr[1], piece.a_s2 = astr[2], piece.a_s3 = astr[3];
    piece.d_addr = in.d_addr + first * ds[dim] * int64_t(de);
    piece.a_addr = in.a_addr + first * as[dim] * int64_t(ae);
    return piece;
  };
  // Blocks: `dim` becomes (group, blocks) when a block holds several of its indices.
  const int D = group > 1 ? dim + 1 : dim;
  for (int k = 0; k < parts && k < blocks; ++k) {
    int64_t cnt[4] = {n[0], n[1], n[2], n[3]}, dstr[4] = {ds[0], ds[1], ds[2], ds[3]}, astr[4] = {as[0], as[1], as[2], as[3]};
    if (group > 1) cnt[dim] = group;
    cnt[D] = (blocks - k + parts - 1) / parts;
    dstr[D] = ds[dim] * group * parts, astr[D] = as[dim] * group * parts;
    per[size_t(k)].push_back(make(int64_t(k) * group, cnt, dstr, astr));
  }
  if (tail) {
    int64_t cnt[4] = {n[0], n[1], n[2], n[3]};
    cnt[dim] = tail;
    per[size_t(blocks % parts)].push_back(make(blocks * group, cnt, ds, as));
  }
  return per;
}
}  // namespace

void Emitter::emit(int queue, Instr in) {
  in.layer = layer_;
  if (in.op == Opcode::DmaCopy || in.op == Opcode::DmaFill) {
    const uint64_t n = uint64_t(std::max<int64_t>(in.n0, 1) * std::max<int64_t>(in.n1, 1) * std::max<int64_t>(in.n2, 1) *
                                std::max<int64_t>(in.n3, 1));
    if (in.op == Opcode::DmaCopy && in.a_space == int64_t(isa::Space::Dram)) dram_bytes_ += n * dtype_size(DType(in.a_type));
    if (in.d_space == int64_t(isa::Space::Dram)) dram_bytes_ += n * dtype_size(DType(in.d_type));
  }
  p_.queues[size_t(queue)].push_back(in);
}

void Emitter::mark_steps(bool repeat) {
  marks_.resize(prefetch_qs_.size());
  for (size_t k = 0; k < prefetch_qs_.size(); ++k) {
    const size_t pos = p_.queues[size_t(prefetch_qs_[k])].size();
    if (repeat || marks_[k].empty() || marks_[k].back() != pos) marks_[k].push_back(pos);
  }
}

// Spreads the next layer's weight loads over the previous layer's tiles and over every DMA
// queue (one channel issues one request per cycle and keeps max_outstanding in flight, so
// a weight stream on fewer channels could not use a fast memory; TPU v1's weight FIFO is
// likewise its own path): each queue's share is cut into pieces (at least 64 KiB each)
// inserted after successive tiles' loads, spread over the hosts in proportion to their
// estimated durations, so the weights stream while the previous layers compute without
// holding their loads back for the whole transfer (nor stretching a short host). All pieces precede the
// previous layer's closing barrier, which is what the next layer's consumers rely on (no
// semaphore needed).
void Emitter::insert_prefetch(const std::vector<Instr>& loads, size_t hosts) {
  const int W = int(prefetch_qs_.size());
  hosts = std::clamp<size_t>(hosts, 1, window_.size());
  const size_t first = window_.size() - hosts;
  double idle_total = 0;
  for (size_t h = first; h < window_.size(); ++h) idle_total += window_[h].idle;
  std::vector<std::vector<Instr>> per(static_cast<size_t>(W));
  for (auto& in : loads) {
    auto parts = interleave_copy(in, W);
    for (int k = 0; k < W; ++k) per[size_t(k)].insert(per[size_t(k)].end(), parts[size_t(k)].begin(), parts[size_t(k)].end());
  }
  for (int k = 0; k < W; ++k) {
    // The hosts' positions in this queue, in order, each weighted by its share of the host's
    // estimated DRAM idle time (a compute-bound matmul absorbs the stream, a short
    // DRAM-bound gate layer would only be stretched by it); if no host leaves the DRAM idle,
    // by its share of the host's estimated duration.
    std::vector<size_t> marks;
    std::vector<double> upto;  // cumulative weight up to and including each mark
    double total = 0;
    for (size_t h = first; h < window_.size(); ++h) {
      const auto& hm = window_[h].marks[size_t(k)];
      const double w = idle_total > 0 ? window_[h].idle : std::max(window_[h].cycles, 1.0);
      for (size_t pos : hm) {
        marks.push_back(pos);
        total += w / double(hm.size());
        upto.push_back(total);
      }
    }
    std::vector<std::vector<Instr>> at(marks.size());
    for (auto& in : per[size_t(k)]) {
      const uint64_t bytes = uint64_t(in.n0 * in.n1 * in.n2 * in.n3) * dtype_size(DType(in.d_type));
      const int parts = int(std::min<uint64_t>(marks.size(), std::max<uint64_t>(1, bytes / (64 * 1024))));
      auto pieces = split_copy(in, parts);
      for (size_t i = 0; i < pieces.size(); ++i) {
        pieces[i].layer = layer_;
        // Piece i streams around the middle of its equal share of the total weight.
        const double target = (double(i) + 0.5) / double(pieces.size()) * total;
        const size_t m = size_t(std::lower_bound(upto.begin(), upto.end(), target) - upto.begin());
        at[std::min(m, marks.size() - 1)].push_back(pieces[i]);
      }
    }
    auto& q = p_.queues[size_t(prefetch_qs_[size_t(k)])];
    for (size_t m = marks.size(); m-- > 0;)  // back to front: earlier positions stay valid
      q.insert(q.begin() + long(marks[m]), at[m].begin(), at[m].end());
  }
  window_.clear();  // positions after the insertions moved
}

void Emitter::barrier_all(bool can_host, double cycles, double idle_cycles) {
  // Any card layer hosts the next matrix layer's prefetch (a layer of DMA copies: at the end
  // of each queue's copies; a pipeline marked its tiles and its end itself); the window is
  // consecutive and bounded.
  if (marks_.empty()) mark_steps();
  if (can_host) {
    window_.push_back({cycles, idle_cycles, std::move(marks_)});
    if (window_.size() > kMaxPrefetchWindow) window_.erase(window_.begin());
  } else {
    window_.clear();
  }
  marks_.clear();
  dram_bytes_ = 0;
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
  // Weight groups: group 0 = per-layer parameters + first weight chunk, then one per chunk.
  // Each group is split over the weight queues; queue k signals kWeightsFull + k once per
  // group and the consumer waits for every queue that got a piece.
  std::vector<std::vector<Instr>> groups;
  std::vector<size_t> group_tile;
  if (!pl.weight_loads.empty() || !pl.chunk_weights.empty()) {
    groups.push_back(pl.weight_loads);
    group_tile.push_back(0);
  }
  for (size_t c = 0; c < pl.chunk_weights.size(); ++c) {
    if (c == 0 && pl.chunk_weights[0].first == 0) {
      for (auto& in : pl.chunk_weights[0].second) groups[0].push_back(in);
      continue;
    }
    groups.push_back(pl.chunk_weights[c].second);
    group_tile.push_back(pl.chunk_weights[c].first);
  }
  std::vector<std::vector<bool>> group_used(groups.size());
  auto emit_group = [&](size_t gi) {
    int W = int(weight_qs_.size());
    group_used[gi].assign(size_t(W), false);
    for (auto& in : groups[gi]) {
      auto parts = interleave_copy(in, W);
      for (size_t q = 0; q < parts.size(); ++q)
        for (auto& piece : parts[q]) {
          emit(weight_qs_[q], piece);
          group_used[gi][q] = true;
        }
    }
    for (int k = 0; k < W; ++k)
      if (group_used[gi][size_t(k)]) emit(weight_qs_[size_t(k)], sem_signal(kWeightsFull + k));
  };
  auto wait_group = [&](size_t gi, int queue) {
    for (size_t k = 0; k < group_used[gi].size(); ++k)
      if (group_used[gi][k]) emit(queue, sem_wait(kWeightsFull + int(k)));
  };
  size_t next_group = 0;
  if (!groups.empty()) {
    if (pl.prefetch && can_prefetch()) {
      insert_prefetch(groups[0], pl.prefetch_hosts);  // complete at the previous barrier: no wait
    } else {
      emit_group(0);
      if (!pl.uses_mxu) wait_group(0, vpu);
    }
    next_group = 1;
  }
  // The FIFO runs ahead to the next matrix layer only: a later layer must not insert behind
  // this one's weight loads.
  if (!groups.empty()) window_.clear();
  // Loads / stores of a step are split over the load / store queue sets; queue k of a set
  // has its own Full/Free semaphore pair so consumers know every piece is done.
  const int NL = int(load_qs_.size()), NS = int(store_qs_.size());
  auto in_full = [](int q) { return kInFullBase + q; };
  auto in_free = [](int q) { return kInFreeBase + q; };
  auto out_full = [](int q) { return kOutFullBase + q; };
  auto out_free = [](int q) { return kOutFreeBase + q; };
  auto spread = [](const std::vector<Instr>& ins, int n) {
    std::vector<std::vector<Instr>> per(static_cast<size_t>(n));
    for (auto& in : ins) {
      auto parts = interleave_copy(in, n);
      for (size_t p = 0; p < parts.size(); ++p) per[p].insert(per[p].end(), parts[p].begin(), parts[p].end());
    }
    return per;
  };
  size_t k = 0;
  auto emit_stores = [&](const Tile& t) {
    auto per = spread(t.stores, NS);
    for (int q = 0; q < NS; ++q) {
      emit(store_qs_[size_t(q)], sem_wait(out_full(q)));
      for (auto& in : per[size_t(q)]) emit(store_qs_[size_t(q)], in);
      emit(store_qs_[size_t(q)], sem_signal(out_free(q)));
    }
  };
  for (size_t j = 0; j < pl.tiles.size(); ++j) {
    const Tile& t = pl.tiles[j];
    for (size_t s = 0; s < t.steps.size(); ++s, ++k) {
      const Step& st = t.steps[s];
      auto per = spread(st.loads, NL);
      for (int q = 0; q < NL; ++q) {
        if (k >= 2) emit(load_qs_[size_t(q)], sem_wait(in_free(q)));
        for (auto& in : per[size_t(q)]) emit(load_qs_[size_t(q)], in);
        emit(load_qs_[size_t(q)], sem_signal(in_full(q)));
      }
      if (pl.uses_mxu) {
        if (s == 0 && j >= 2) emit(mxu, sem_wait(kAccFree));
        if (s == 0)
          for (size_t gi = 0; gi < groups.size(); ++gi)
            if (group_tile[gi] == j && !group_used[gi].empty()) wait_group(gi, mxu);
        for (int q = 0; q < NL; ++q) emit(mxu, sem_wait(in_full(q)));
        for (auto& in : st.mxu) emit(mxu, in);
        for (int q = 0; q < NL; ++q) emit(mxu, sem_signal(in_free(q)));
      }
    }
    // Prefetch the next weight chunk once this tile's loads are queued.
    if (next_group < groups.size() && group_tile[next_group - 1] <= j) {
      emit_group(next_group);
      ++next_group;
    }
    if (pl.uses_mxu) {
      emit(mxu, sem_signal(kAccFull));
      emit(vpu, sem_wait(kAccFull));
    } else {
      for (int q = 0; q < NL; ++q) emit(vpu, sem_wait(in_full(q)));
    }
    if (j >= 2)
      for (int q = 0; q < NS; ++q) emit(vpu, sem_wait(out_free(q)));
    for (auto& in : t.vpu) emit(vpu, in);
    if (pl.uses_mxu) emit(vpu, sem_signal(kAccFree));
    else
      for (int q = 0; q < NL; ++q) emit(vpu, sem_signal(in_free(q)));
    for (int q = 0; q < NS; ++q) emit(vpu, sem_signal(out_full(q)));
    // Stores of the previous tile after this tile's loads: with a single DMA queue this
    // order keeps loads ahead of stores without deadlock.
    if (j >= 1) emit_stores(pl.tiles[j - 1]);
    mark_steps();
  }
  // The end mark: one more share of the next layer's prefetch, inserted after the last
  // tile's loads but BEFORE the last stores and the drain waits below, which all wait for
  // this layer's compute to finish (on a one-tile layer, a piece behind them would only
  // start streaming once the matmul is done). At the last tile's position, so that tile
  // carries two shares: nothing of this layer's own loads follows it.
  if (!pl.tiles.empty()) mark_steps(/*repeat=*/true);
  if (!pl.tiles.empty()) emit_stores(pl.tiles.back());
  int J = int(pl.tiles.size()), K = int(k);
  if (std::min(K, 2) > 0)
    for (int q = 0; q < NL; ++q) emit(load_qs_[size_t(q)], sem_wait(in_free(q), std::min(K, 2)));
  if (pl.uses_mxu && std::min(J, 2) > 0) emit(mxu, sem_wait(kAccFree, std::min(J, 2)));
  if (std::min(J, 2) > 0)
    for (int q = 0; q < NS; ++q) emit(vpu, sem_wait(out_free(q), std::min(J, 2)));
}

void Emitter::emit_spread(const std::vector<Instr>& ins) {
  std::vector<int> all;
  for (int q = isa::kQueueDma0; q < num_queues(); ++q) all.push_back(q);
  for (auto& in : ins) {
    auto parts = interleave_copy(in, int(all.size()));
    for (size_t p = 0; p < parts.size(); ++p)
      for (auto& piece : parts[p]) emit(all[p], piece);
  }
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
