// kernels::cost: compute-side cycles of one instruction on the configured card.
//
// Matrix unit (R x C array), SCALE-Sim style, per dataflow with M = output pixels
// (out_h*out_w), K = window (in_c*k_h*k_w), N = out_c:
//   WS: Sr = K, Sc = N, T = M     OS: Sr = M, Sc = N, T = K     IS: Sr = K, Sc = M, T = N
//   folds = ceil(Sr/R) * ceil(Sc/C)
//   OS: per fold T + R + C - 2                       (nothing to preload)
//   WS/IS: per fold 2R + C + T - 2 = R (fill the stationary operand) + R + C + T - 2
//     (T rows streamed in, skewed over R rows and C columns, then drained).
//   With matrix.weight_buffers >= 2 the folds are pipelined, as in a real double-buffered
//   systolic array (TPU v1 shifts the next weight tile in while the current one computes):
//   the fill of fold i+1 (R cycles, one stationary row per cycle) runs while fold i
//   streams, and fold i+1's first row enters right behind fold i's last row, so fold i's
//   skew/drain (R + C - 2) overlaps fold i+1's stream. A fold then occupies the array for
//   max(T, R) cycles (T rows streamed, or R if the next fill is longer than the stream);
//   only the first fill and the last fold's drain are paid once:
//     total = R + (folds - 1) * max(T, R) + (T + R + C - 2)
//   which is >= folds * T >= MACs / (R * C).
//   With weight_buffers = 1 (and in `--timing scalesim`, sim/scalesim, which never uses
//   this file): total = folds * (2R + C + T - 2). (SCALE-Sim reports total - 1; we do not.)
//   OS keeps per-fold T + R + C - 2: its outputs stay in the PEs and must drain before the
//   next fold (no output double-buffering is modelled).
//   Float types run at matrix.fp16_rate / fp32_rate MACs/PE/cycle: cycles = ceil(int8 cycles / rate).
//   16-bit integer operands (int8 mixed precision) run on the 8-bit array byte by byte:
//   passes = bytes(a) * bytes(b) (i16 x i8: 2, i16 x i16: 4), cycles = int8 cycles * passes,
//   and every pass is a full set of 8-bit MACs (Cost::array_macs, the energy model's count).
// Vector unit: ceil(elements / lanes) * cost(fn) + latency(fn), with per-function cost and
// latency from vector.cost / vector.latency by function name ("relu", "requant",
// "maxpool", ...; a "default" entry applies to functions not listed; else cost 1, latency 0).
// DMA: the descriptor setup (dma.setup_cycles); DRAM / PCIe time is added by the engine.
#include <algorithm>
#include <cmath>

#include <fmt/ranges.h>

#include "models/kernels/kernels.h"
#include "models/kernels/operand.h"

namespace cardsim::kernels {
namespace {

using isa::Opcode;

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
int64_t one(int64_t v) { return v <= 0 ? 1 : v; }

std::string_view dataflow_name(int64_t df) {
  switch (df) {
    case 0: return "ws";
    case 1: return "os";
    case 2: return "is";
    default: return "invalid";
  }
}

double vpu_param(const std::map<std::string, double>& m, const std::string& key, double def) {
  auto it = m.find(key);
  if (it != m.end()) return it->second;
  it = m.find("default");
  return it != m.end() ? it->second : def;
}
double vpu_latency(const std::map<std::string, int>& m, const std::string& key) {
  auto it = m.find(key);
  if (it != m.end()) return it->second;
  it = m.find("default");
  return it != m.end() ? it->second : 0;
}

void add_bytes(Cost& c, isa::Space sp, uint64_t bytes, bool write) {
  if (sp == isa::Space::Sram) (write ? c.sram_write_bytes : c.sram_read_bytes) += bytes;
  if (sp == isa::Space::Acc) (write ? c.acc_write_bytes : c.acc_read_bytes) += bytes;
}

Cost mxu_cost(const isa::Instr& in, const CardConfig& cfg) {
  Cost c;
  const auto& mu = cfg.matrix;
  const std::string_view df = dataflow_name(in.df);
  if (std::find(mu.dataflows.begin(), mu.dataflows.end(), df) == mu.dataflows.end())
    fail(ErrorKind::Unsupported, "mxu.conv (layer {}) uses dataflow {} but matrix.dataflows of card '{}' allows {}",
         in.layer, df, cfg.name, fmt::join(mu.dataflows, ", "));
  const DType at = detail::type_field(in.a_type, in, 'a');
  const DType bt = detail::type_field(in.b_type, in, 'b');
  const uint64_t M = uint64_t(one(in.out_h) * one(in.out_w));
  const uint64_t K = uint64_t(one(in.in_c) * one(in.k_h) * one(in.k_w));
  const uint64_t N = uint64_t(one(in.out_c));
  const uint64_t R = uint64_t(std::max(1, mu.rows)), C = uint64_t(std::max(1, mu.cols));
  uint64_t Sr, Sc, T;
  switch (in.df) {
    case 1: Sr = M; Sc = N; T = K; break;  // OS
    case 2: Sr = K; Sc = M; T = N; break;  // IS
    default: Sr = K; Sc = N; T = M; break;  // WS
  }
  c.folds = ceil_div(Sr, R) * ceil_div(Sc, C);
  uint64_t cycles;
  if (in.df == 1) cycles = c.folds * (T + R + C - 2);
  else if (mu.weight_buffers >= 2) cycles = R + (c.folds - 1) * std::max(T, R) + (T + R + C - 2);
  else cycles = c.folds * (2 * R + C + T - 2);
  double rate = 1.0;
  if (at == DType::F32 || bt == DType::F32) rate = mu.fp32_rate;
  else if (dtype_is_float(at)) rate = mu.fp16_rate;
  if (rate <= 0) rate = 1;
  const auto asz = dtype_size(at), bsz = dtype_size(bt);
  const uint64_t passes = dtype_is_integer(at) && dtype_is_integer(bt) ? uint64_t(asz * bsz) : 1;
  c.cycles = rate == 1.0 ? cycles * passes : uint64_t(std::ceil(double(cycles) / rate));
  c.macs = M * K * N;
  c.array_macs = c.macs * passes;
  add_bytes(c, isa::Space(in.a_space & 3), uint64_t(one(in.in_c) * one(in.in_h) * one(in.in_w)) * asz, false);
  add_bytes(c, isa::Space(in.b_space & 3), K * N * bsz, false);
  const uint64_t acc_size = DType(uint8_t(in.d_type)) == DType::I64 ? 8 : 4;
  if (in.acc) add_bytes(c, isa::Space(in.d_space & 3), M * N * acc_size, false);
  add_bytes(c, isa::Space(in.d_space & 3), M * N * acc_size, true);
  return c;
}

Cost vpu_cost(const isa::Instr& in, const CardConfig& cfg, const std::string& fname, uint64_t elems,
              uint64_t in_elems, uint64_t out_elems) {
  Cost c;
  const uint64_t lanes = uint64_t(std::max(1, cfg.vector.lanes));
  const double per = vpu_param(cfg.vector.cost, fname, 1.0);
  const double lat = vpu_latency(cfg.vector.latency, fname);
  c.cycles = uint64_t(std::ceil(double(ceil_div(elems, lanes)) * per + lat));
  c.vector_elems = elems;
  auto a = detail::operand_a(in);
  add_bytes(c, a.space, in_elems * a.esize, false);
  if (in.op == Opcode::VpuBinary) {
    auto b = detail::operand_b(in);
    add_bytes(c, b.space, in_elems * b.esize, false);
  }
  auto d = detail::operand_d(in);
  add_bytes(c, d.space, out_elems * d.esize, true);
  return c;
}

}  // namespace

Cost cost(const isa::Instr& in, const CardConfig& cfg) {
  auto e = detail::extents_of(in);
  const uint64_t n = uint64_t(e.total());
  switch (in.op) {
    case Opcode::MxuConv: return mxu_cost(in, cfg);
    case Opcode::VpuUnary:
    case Opcode::VpuBinary:
      return vpu_cost(in, cfg, std::string(detail::function_name(isa::Fn(in.fn))), n, n, n);
    case Opcode::VpuRequant: return vpu_cost(in, cfg, "requant", n, n, n);
    case Opcode::VpuReduce:
      return vpu_cost(in, cfg, std::string(detail::function_name(isa::Fn(in.fn))), n, n, n / uint64_t(e.n[0]));
    case Opcode::VpuPool: {
      const uint64_t window = uint64_t(one(in.k_h) * one(in.k_w));
      const uint64_t in_elems = uint64_t(one(in.in_h) * one(in.in_w)) * uint64_t(e.n[2] * e.n[3]);
      return vpu_cost(in, cfg, std::string(detail::function_name(isa::Fn(in.fn))), n * window, in_elems, n);
    }
    case Opcode::DmaCopy:
    case Opcode::DmaFill: {
      Cost c;
      c.cycles = uint64_t(std::ceil(cfg.dma.setup_cycles));
      auto d = detail::operand_d(in);
      add_bytes(c, d.space, n * d.esize, true);
      if (in.op == Opcode::DmaCopy) {
        auto a = detail::operand_a(in);
        add_bytes(c, a.space, n * a.esize, false);
      }
      return c;
    }
    default: {
      Cost c;
      c.cycles = in.op == Opcode::Nop ? 1 : 0;
      return c;
    }
  }
}

}  // namespace cardsim::kernels
