// kernels::for_each_run: the contiguous byte runs each operand of an instruction touches.
// Per operand the dimensions are walked in order of increasing |stride| (so a tile stored
// row-major yields one run per row or one run in all), zero-stride (broadcast) dimensions
// are read once, and runs that continue the previous one are merged.
#include <utility>

#include "core/error.h"
#include "models/kernels/kernels.h"
#include "models/kernels/operand.h"

namespace cardsim::kernels {
namespace {

using isa::Space;

class RunEmitter {
 public:
  explicit RunEmitter(const std::function<void(const Run&)>& fn) : fn_(fn) {}
  ~RunEmitter() = default;
  void add(Space sp, uint64_t addr, uint64_t bytes, bool write) {
    if (bytes == 0) return;
    if (have_ && pending_.space == sp && pending_.write == write && pending_.addr + pending_.bytes == addr) {
      pending_.bytes += bytes;
      return;
    }
    flush();
    pending_ = Run{sp, addr, bytes, write};
    have_ = true;
  }
  void flush() {
    if (have_) fn_(pending_);
    have_ = false;
  }

 private:
  const std::function<void(const Run&)>& fn_;
  Run pending_{};
  bool have_ = false;
};

// Emits the runs of a strided operand: element (i0..i3) at addr + sum(i_k * s_k) * esize.
void operand_runs(RunEmitter& out, Space sp, uint64_t addr, uint64_t esize, const int64_t* strides,
                  const int64_t* extents, int ndims, bool write) {
  struct Dim {
    int64_t n, s;
  };
  constexpr int kMaxDims = 8;
  if (ndims < 0 || ndims > kMaxDims)
    fail(ErrorKind::Internal, "operand_runs: {} dimensions (at most {})", ndims, kMaxDims);
  Dim dims[kMaxDims];
  int nd = 0;
  int64_t base = int64_t(addr);
  for (int k = 0; k < ndims; ++k) {
    if (extents[k] <= 1 || strides[k] == 0) continue;
    int64_t s = strides[k];
    if (s < 0) {  // walk a reversed dimension forwards: same bytes
      base += (extents[k] - 1) * s * int64_t(esize);
      s = -s;
    }
    dims[nd++] = Dim{extents[k], s};
  }
  // Insertion sort by stride (a handful of dims); std::sort here trips g++ 12's bogus
  // -Warray-bounds on its unreachable 16-element prologue (GCC PR 104165).
  for (int i = 1; i < nd; ++i)
    for (int j = i; j > 0 && dims[j].s < dims[j - 1].s; --j) std::swap(dims[j], dims[j - 1]);
  // Collapse the contiguous inner dimensions into one run length (in elements).
  int64_t run_elems = 1;
  int first_outer = 0;
  while (first_outer < nd && dims[first_outer].s == run_elems) {
    run_elems *= dims[first_outer].n;
    ++first_outer;
  }
  const uint64_t run_bytes = uint64_t(run_elems) * esize;
  int64_t idx[kMaxDims] = {0};
  const int outer = nd - first_outer;
  while (true) {
    int64_t off = 0;
    for (int k = 0; k < outer; ++k) off += idx[k] * dims[first_outer + k].s;
    out.add(sp, uint64_t(base + off * int64_t(esize)), run_bytes, write);
    int k = 0;
    for (; k < outer; ++k) {
      if (++idx[k] < dims[first_outer + k].n) break;
      idx[k] = 0;
    }
    if (k == outer) break;
  }
}

void operand_runs(RunEmitter& out, const detail::Operand& o, const int64_t n[4], bool write) {
  operand_runs(out, o.space, o.addr, o.esize, o.s, n, 4, write);
}

}  // namespace

void for_each_run(const isa::Instr& in, const std::function<void(const Run&)>& fn) {
  using isa::Opcode;
  RunEmitter out(fn);
  auto e = detail::extents_of(in);
  auto one = [](int64_t v) { return v <= 0 ? int64_t(1) : v; };
  switch (in.op) {
    case Opcode::DmaCopy: {
      auto a = detail::operand_a(in), d = detail::operand_d(in);
      if (in.cbytes != 0) out.add(a.space, a.addr, uint64_t(in.cbytes), false);  // compressed stream
      else operand_runs(out, a, e.n, false);
      operand_runs(out, d, e.n, true);
      break;
    }
    case Opcode::DmaFill:
      operand_runs(out, detail::operand_d(in), e.n, true);
      break;
    case Opcode::MxuConv: {
      auto a = detail::operand_a(in), b = detail::operand_b(in);
      int64_t an[4] = {one(in.in_c), one(in.in_h), one(in.in_w), 1};
      int64_t bn[4] = {one(in.out_c), one(in.in_c), one(in.k_h), one(in.k_w)};
      operand_runs(out, a, an, false);
      operand_runs(out, b, bn, false);
      const int64_t as[2] = {in.d_s0, in.d_s1};
      const int64_t accn[2] = {one(in.out_c), one(in.out_h) * one(in.out_w)};
      const auto sp = isa::Space(in.d_space & 3);
      const bool wide = dtype_is_integer(a.type) && DType(uint8_t(in.d_type)) == DType::I64;  // i64 accumulator
      const uint64_t esize = wide ? 8 : 4;
      const uint64_t base = uint64_t(in.d_addr) & ~uint64_t(esize - 1);
      if (in.acc) operand_runs(out, sp, base, esize, as, accn, 2, false);
      operand_runs(out, sp, base, esize, as, accn, 2, true);
      break;
    }
    case Opcode::VpuUnary:
      operand_runs(out, detail::operand_a(in), e.n, false);
      operand_runs(out, detail::operand_d(in), e.n, true);
      break;
    case Opcode::VpuBinary:
      operand_runs(out, detail::operand_a(in), e.n, false);
      operand_runs(out, detail::operand_b(in), e.n, false);
      operand_runs(out, detail::operand_d(in), e.n, true);
      break;
    case Opcode::VpuRequant: {
      auto a = detail::operand_a(in), d = detail::operand_d(in);
      operand_runs(out, a, e.n, false);
      const int64_t nch = e.n[in.c_dim & 3];
      const uint64_t bias_size = a.type == DType::I64 ? 8 : 4;  // i64 accumulators have i64 biases
      if (uint64_t(in.c_addr) != isa::kNoAddr)
        out.add(isa::Space(in.c_space & 3), uint64_t(in.c_addr), uint64_t(nch) * bias_size, false);
      const bool integer = (a.type == DType::I32 || a.type == DType::I64) && dtype_is_integer(d.type);
      if (integer && uint64_t(in.b_addr) != isa::kNoAddr)
        out.add(isa::Space(in.b_space & 3), uint64_t(in.b_addr), uint64_t(nch) * 8, false);
      operand_runs(out, d, e.n, true);
      break;
    }
    case Opcode::VpuReduce: {
      operand_runs(out, detail::operand_a(in), e.n, false);
      int64_t dn[4] = {1, e.n[1], e.n[2], e.n[3]};
      operand_runs(out, detail::operand_d(in), dn, true);
      break;
    }
    case Opcode::VpuPool: {
      int64_t an[4] = {one(in.in_w), one(in.in_h), e.n[2], e.n[3]};
      operand_runs(out, detail::operand_a(in), an, false);
      operand_runs(out, detail::operand_d(in), e.n, true);
      break;
    }
    default:
      break;  // control instructions touch no memory (host.call operands live in the program's host op table)
  }
  out.flush();
}

}  // namespace cardsim::kernels
