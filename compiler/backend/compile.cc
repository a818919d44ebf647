// The backend driver: passes -> storage planning -> per-layer lowering -> relocation.
#include "compiler/backend/compile.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "compiler/backend/codegen.h"
#include "compiler/backend/passes.h"
#include "compiler/backend/quantize.h"
#include "compiler/frontend/node_io.h"
#include "core/error.h"

#ifndef CARDSIM_VERSION
#define CARDSIM_VERSION "unknown"
#endif

namespace cardsim::backend {

using isa::Fn;
using isa::Instr;
using isa::Opcode;
using isa::Space;
using Kind = Layer::Kind;

namespace {

// --explain figures: bytes in B/KiB/MiB, counts with k/M/G, so a layer line reads at a glance.
std::string human_bytes(double b) {
  if (b < 1024) return fmt::format("{:.0f} B", b);
  if (b < 1024.0 * 1024) return fmt::format("{:.1f} KiB", b / 1024);
  if (b < 1024.0 * 1024 * 1024) return fmt::format("{:.1f} MiB", b / (1024.0 * 1024));
  return fmt::format("{:.2f} GiB", b / (1024.0 * 1024 * 1024));
}
std::string human_count(double n) {
  if (n < 1e3) return fmt::format("{:.0f}", n);
  if (n < 1e6) return fmt::format("{:.1f} k", n / 1e3);
  if (n < 1e9) return fmt::format("{:.1f} M", n / 1e6);
  return fmt::format("{:.2f} G", n / 1e9);
}


// Where a value lives in card DRAM and how it is encoded.
struct Storage {
  uint64_t addr = 0;
  DType dtype = DType::F32;
  float scale = 0;
  int32_t zp = 0;
  Shape shape;
  // Kept on chip: the value lives in SRAM at sram_addr (its DRAM buffer stays allocated but
  // is not written); operands of it are SRAM operands.
  bool in_sram = false;
  uint64_t sram_addr = 0;
  uint64_t bytes() const { return uint64_t(shape_numel(shape)) * dtype_size(dtype); }
};

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

// A multi-operand iteration space, innermost dimension first, with each operand's strides.
// Drops extent-1 dimensions and merges neighbours that are contiguous for every operand.
struct Iter {
  std::vector<int64_t> n;                      // extents, innermost first
  std::vector<std::vector<int64_t>> strides;   // per operand, innermost first
};
Iter merge_dims(const Shape& out_shape, const std::vector<std::vector<int64_t>>& op_strides_outer_first) {
  Iter it;
  size_t k = op_strides_outer_first.size();
  it.strides.resize(k);
  for (size_t d = out_shape.size(); d-- > 0;) {
    if (out_shape[d] == 1) continue;
    bool merge = !it.n.empty();
    for (size_t o = 0; o < k && merge; ++o)
      merge = op_strides_outer_first[o][d] == it.strides[o].back() * it.n.back();
    if (merge) {
      it.n.back() *= out_shape[d];
    } else {
      it.n.push_back(out_shape[d]);
      for (size_t o = 0; o < k; ++o) it.strides[o].push_back(op_strides_outer_first[o][d]);
    }
  }
  if (it.n.empty()) {
    it.n.push_back(1);
    for (size_t o = 0; o < k; ++o) it.strides[o].push_back(1);
  }
  return it;
}

// Element strides of `in` broadcast to `out` (numpy rules), outer first.
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> st(out.size(), 0);
  auto is = strides_of(in);
  size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) st[off + i] = in[i] == 1 ? 0 : is[i];
  return st;
}

// Integer requant clip bounds must stay finite (the card converts alpha / d_scale to int):
// limited to the span of the destination type (256 steps for int8, 65536 for int16).
void clamp_clip_bounds(Instr& rq, float scale, DType d = DType::I8) {
  if (rq.fn != int64_t(Fn::Clip) || scale == 0) return;
  const float span = d == DType::I16 ? 65536.f : 256.f;
  rq.alpha = std::max(rq.alpha, -span * scale);
  rq.beta = std::min(rq.beta, span * scale);
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Matrix-unit cycles of one mxu.conv as models/kernels/cost.cc charges them (same formula:
// the tile choice must rank candidates the way the card will time them). Sr x Sc is the
// matrix mapped onto the R x C array, T the streamed dimension (see cost.cc).
double mxu_cycles(const CardConfig& cfg, isa::Dataflow df, int64_t Sr, int64_t Sc, int64_t T) {
  const double R = cfg.matrix.rows, C = cfg.matrix.cols;
  const double folds = double(ceil_div(Sr, cfg.matrix.rows) * ceil_div(Sc, cfg.matrix.cols));
  if (df == isa::Dataflow::OS) return folds * (double(T) + R + C - 2);
  if (cfg.matrix.weight_buffers >= 2) return R + (folds - 1) * std::max(double(T), R) + (double(T) + R + C - 2);
  return folds * (2 * R + C + double(T) - 2);
}
// The fewest cycles over the card's dataflows for an instruction with K (window), N (output
// channels) and M (output pixels): what the dataflow choice after tiling will pick.
double best_mxu_cycles(const CardConfig& cfg, int64_t K, int64_t N, int64_t M) {
  double best = std::numeric_limits<double>::infinity();
  for (auto& name : cfg.matrix.dataflows) {
    if (name == "ws") best = std::min(best, mxu_cycles(cfg, isa::Dataflow::WS, K, N, M));
    else if (name == "os") best = std::min(best, mxu_cycles(cfg, isa::Dataflow::OS, M, N, K));
    else if (name == "is") best = std::min(best, mxu_cycles(cfg, isa::Dataflow::IS, K, M, N));
  }
  return std::isfinite(best) ? best : mxu_cycles(cfg, isa::Dataflow::WS, K, N, M);
}

// Halving sequence n, ceil(n/2), ... 1 plus multiples of `unit` below n (tile candidates).
std::vector<int64_t> candidates(int64_t n, int64_t unit = 0) {
  std::set<int64_t> s;
  for (int64_t v = n; v >= 1; v = (v == 1 ? 0 : ceil_div(v, 2))) s.insert(v);
  if (unit > 0)
    for (int64_t v = unit; v < n; v *= 2) s.insert(v);
  return {s.rbegin(), s.rend()};  // largest first
}

struct LayerStats {
  uint64_t in_bytes = 0, w_bytes = 0, out_bytes = 0;
  double compute_cycles = 0, dram_cycles = 0;
  std::string tiling;
};

class Compiler {
 public:
  Compiler(const ir::Graph& g, const CardConfig& cfg, const CompileOptions& opt)
      : g_(g), cfg_(cfg), opt_(opt), em_(P_, cfg) {}

  isa::Program run(std::string* explain);

 private:
  ir::Graph g_;
  const CardConfig& cfg_;
  const CompileOptions& opt_;
  isa::Program P_;
  Emitter em_;
  DType act_ = DType::F32;
  bool int8_ = false;
  std::map<std::string, Range> ranges_;
  std::map<std::string, QParams> forced_;  // QDQ models' own scales
  MixedPrecision mixed_;                    // int8: the values held as int16 (quantize.h)
  std::map<std::string, Storage> store_;     // card-side storage of every value
  std::map<std::string, Storage> binding_;   // graph inputs / outputs as the host sees them (f32)
  uint64_t dram_top_ = 0;
  std::vector<uint8_t> consts_;
  std::map<std::string, uint64_t> const_addr_;  // tagged addresses of registered constants
  uint64_t sram_peak_ = 0, acc_peak_ = 0;
  std::string explain_;
  int layer_index_ = 0;
 public:
  bool want_explain_ = false;

 private:
  std::vector<Layer> layers_;
  std::set<std::string> host_read_;  // values some host layer reads (need f32 copies in int8)

  // ---- memory ----
  uint64_t dram_alloc(uint64_t bytes) {
    uint64_t a = dram_top_;
    dram_top_ = align_up(dram_top_ + std::max<uint64_t>(bytes, 1));
    return a;
  }
  // Activation buffers with liveness-based reuse: first fit in the free list, else bump.
  // A buffer is freed after the last layer reading it (layers end with a barrier).
  std::map<std::string, int> last_use_;                  // value -> last reading layer
  std::map<uint64_t, std::pair<uint64_t, int>> live_;    // addr -> (bytes, last layer)
  std::vector<std::pair<uint64_t, uint64_t>> free_;      // (addr, bytes), sorted by addr
  int cur_layer_ = -1;
  int last_use(const std::string& v) const {
    auto it = last_use_.find(v);
    return it == last_use_.end() ? cur_layer_ : it->second;
  }
  uint64_t act_alloc(uint64_t bytes, int until) {
    bytes = align_up(std::max<uint64_t>(bytes, 1));
    uint64_t a = 0;
    bool found = false;
    for (size_t i = 0; i < free_.size(); ++i)
      if (free_[i].second >= bytes) {
        a = free_[i].first;
        free_[i].first += bytes, free_[i].second -= bytes;
        if (free_[i].second == 0) free_.erase(free_.begin() + long(i));
        found = true;
        break;
      }
    if (!found) a = dram_alloc(bytes);
    live_[a] = {bytes, until};
    return a;
  }
  void extend_life(uint64_t addr, int until) {
    auto it = live_.find(addr);
    if (it != live_.end()) it->second.second = std::max(it->second.second, until);
  }
  void free_dead(int layer) {
    for (auto it = live_.begin(); it != live_.end();) {
      if (it->second.second <= layer) {
        free_.push_back({it->first, it->second.first});
        it = live_.erase(it);
      } else {
        ++it;
      }
    }
    std::sort(free_.begin(), free_.end());
    std::vector<std::pair<uint64_t, uint64_t>> merged;  // coalesce neighbours
    for (auto& f : free_) {
      if (!merged.empty() && merged.back().first + merged.back().second == f.first) merged.back().second += f.second;
      else merged.push_back(f);
    }
    free_ = std::move(merged);
  }
  uint64_t add_constant_bytes(const std::string& key, const void* data, size_t n) {
    auto it = const_addr_.find(key);
    if (it != const_addr_.end()) return it->second;
    size_t off = align_up(consts_.size());
    consts_.resize(off + n);
    if (n) std::memcpy(consts_.data() + off, data, n);
    return const_addr_[key] = kConstTag | off;
  }
  uint64_t add_constant(const std::string& key, const Tensor& t) { return add_constant_bytes(key, t.data.data(), t.data.size()); }
  void use_sram(uint64_t bytes, const std::string& layer) { use_sram_range(0, bytes, layer); }
  // Records [lo, hi) as SRAM the current layer uses (for the next layer's prefetch placement).
  void use_sram_range(uint64_t lo, uint64_t hi, const std::string& layer) {
    if (hi > cfg_.sram.size_bytes)
      fail(ErrorKind::Capacity, "layer '{}': needs {} bytes of SRAM, the card has {}", layer, hi, cfg_.sram.size_bytes);
    sram_peak_ = std::max(sram_peak_, hi);
    if (hi > lo) sram_used_.push_back({lo, hi});
  }
  // can_host: the layer may carry the next matrix layer's prefetched weights (not a host
  // fallback or a conversion).
  // cycles / idle_cycles: the layer's estimated duration and how much of it the DRAM would
  // idle (they weigh its share of a prefetch stream it hosts).
  void close_layer(bool can_host = true, double cycles = 0, double idle_cycles = 0) {
    em_.barrier_all(can_host, cycles, idle_cycles);
    closed_sram_used_.push_back(std::move(sram_used_));
    if (closed_sram_used_.size() > Emitter::kMaxPrefetchWindow) closed_sram_used_.erase(closed_sram_used_.begin());
    sram_used_.clear();
  }
  // SRAM activation arena (TPU v1 keeps activations in its unified buffer): a layer output
  // whose every reader is a card layer goes to SRAM instead of DRAM when a region for its
  // whole live range (producer .. last reader) fits at the top of SRAM. Regions are placed
  // by a top-down first-fit over live ranges; at any layer the live regions take at most
  // half of SRAM, and that layer's layouts use only [0, lowest live region) (sram_top_).
  struct ArenaRegion {
    uint64_t addr = 0, bytes = 0;
    size_t first = 0, last = 0;  // producer layer .. last reader layer (indices into layers_)
  };
  std::map<std::string, ArenaRegion> arena_;
  std::vector<uint64_t> layer_top_;  // per layer: SRAM below the arena regions live then
  uint64_t sram_top_ = 0, arena_peak_ = 0;
  void plan_on_chip();
  void set_layer_top(int li) {
    const uint64_t sram = cfg_.sram.size_bytes / 64 * 64;
    sram_top_ = (li >= 0 && size_t(li) < layer_top_.size()) ? layer_top_[size_t(li)] : sram;
  }
  // SRAM ranges used by the layer being lowered and by the last closed layers (newest last;
  // the emitter's prefetch window is a suffix of them).
  std::vector<std::pair<uint64_t, uint64_t>> sram_used_;
  std::vector<std::vector<std::pair<uint64_t, uint64_t>>> closed_sram_used_;

  // Where a matrix layer's parameter block (bias, requant table, resident weights) goes and
  // how much contiguous SRAM is left for its tile slots. Classic: block at 0, slots above.
  // Prefetch: the block sits in SRAM that none of the last `hosts` closed layers touches, so
  // its loads can run during them (the weight FIFO running ahead, across vector and copy
  // layers too); the slots take the larger free side of the block (they are written only
  // after the barrier, so they may overlap those layers' SRAM).
  struct Placement {
    bool ok = false, prefetch = false;
    size_t hosts = 0;
    uint64_t block = 0, slots = 0, slot_bytes = 0;
  };
  Placement classic_placement(uint64_t block_bytes) const {
    Placement p;
    const uint64_t top = sram_top_;
    if (block_bytes > top) return p;
    p.ok = true, p.block = 0, p.slots = align_up(block_bytes), p.slot_bytes = top - std::min(top, p.slots);
    return p;
  }
  // Over the possible windows (1 .. all hosts): the largest slot room, ties to the longest
  // window (more time to stream the block). The tile search uses it; the layout then takes
  // longest_prefetch_placement for the chosen tiles.
  Placement prefetch_placement(uint64_t block_bytes) const {
    Placement best;
    const size_t window = std::min(em_.prefetch_window(), closed_sram_used_.size());
    if (block_bytes == 0) return best;
    for (size_t hosts = window; hosts >= 1; --hosts) {
      Placement c = prefetch_placement_over(block_bytes, hosts);
      if (c.ok && (!best.ok || c.slot_bytes > best.slot_bytes)) best = c;
    }
    return best;
  }
  // The longest window whose placement still leaves `slot_need` bytes for the slots: the
  // tiles chosen with the most slot room fit, and the block streams under as many layers as
  // possible (an LSTM step's matmuls and gate layers).
  Placement longest_prefetch_placement(uint64_t block_bytes, uint64_t slot_need) const {
    const size_t window = std::min(em_.prefetch_window(), closed_sram_used_.size());
    for (size_t hosts = window; hosts >= 1; --hosts) {
      Placement c = prefetch_placement_over(block_bytes, hosts);
      if (c.ok && c.slot_bytes >= slot_need) return c;
    }
    return {};
  }
  Placement prefetch_placement_over(uint64_t block_bytes, size_t hosts) const {
    Placement best;
    const uint64_t top = sram_top_, P = align_up(block_bytes);
    std::vector<std::pair<uint64_t, uint64_t>> used;
    for (size_t h = closed_sram_used_.size() - hosts; h < closed_sram_used_.size(); ++h)
      used.insert(used.end(), closed_sram_used_[h].begin(), closed_sram_used_[h].end());
    std::sort(used.begin(), used.end());
    std::vector<std::pair<uint64_t, uint64_t>> gaps;  // free of the previous layer
    uint64_t at = 0;
    for (auto& [lo, hi] : used) {  // gaps below top only: the on-chip arena lies above it
      if (std::min(lo, top) > at) gaps.push_back({at, std::min(lo, top)});
      at = std::max(at, align_up(hi));
    }
    if (top > at) gaps.push_back({at, top});
    for (auto& [g0, g1] : gaps) {
      if (g1 - g0 < P) continue;
      for (uint64_t b : {g0, (g1 - P) / 64 * 64}) {
        if (b < g0) continue;
        const uint64_t below = b, above = top - (b + P);
        Placement c;
        c.ok = c.prefetch = true, c.hosts = hosts, c.block = b;
        c.slots = below >= above ? 0 : b + P;
        c.slot_bytes = std::max(below, above);
        if (!best.ok || c.slot_bytes > best.slot_bytes) best = c;
      }
    }
    return best;
  }

  Storage& st(const std::string& v) {
    auto it = store_.find(v);
    if (it != store_.end()) return it->second;
    const ir::Value& val = g_.value(v);
    if (val.constant) {
      // A constant read as an activation operand: stored f32 (or its own type) in the image.
      Storage s;
      s.dtype = val.constant->dtype;
      s.shape = val.shape;
      s.addr = add_constant("value:" + v, *val.constant);
      return store_[v] = s;
    }
    fail(ErrorKind::Internal, "backend: value '{}' has no storage", v);
  }
  // An operand of a value's storage: DRAM, or SRAM for a value kept on chip.
  Operand dram_op(const Storage& s, int64_t elem_offset = 0) {
    Operand o;
    o.space = s.in_sram ? Space::Sram : Space::Dram;
    o.addr = (s.in_sram ? s.sram_addr : s.addr) + uint64_t(elem_offset) * dtype_size(s.dtype);
    o.type = s.dtype;
    o.scale = s.scale;
    o.zp = s.zp;
    return o;
  }
  static Operand sram_op(uint64_t addr, DType t, Dims s = {1, 0, 0, 0}) {
    Operand o;
    o.space = Space::Sram, o.addr = addr, o.type = t, o.s = s;
    return o;
  }
  double dram_bytes_per_cycle() const;

  // ---- planning ----
  void plan_storage();
  Storage make_storage(const std::string& v);
  void copy_flat(const Storage& dst, const Storage& src, bool spread = true);

  // ---- lowering ----
  void lower(const Layer& L);
  bool lower_conv(const Layer& L, LayerStats& ls);
  bool lower_matmul(const Layer& L, LayerStats& ls);
  bool lower_elementwise(const Layer& L, LayerStats& ls);
  bool lower_pool(const Layer& L, LayerStats& ls);
  bool lower_rows(const Layer& L, LayerStats& ls);  // global pool, reduce, softmax
  bool lower_transpose(const Layer& L, LayerStats& ls);
  bool lower_concat(const Layer& L, LayerStats& ls);
  bool lower_slice(const Layer& L, LayerStats& ls);
  bool lower_pad(const Layer& L, LayerStats& ls);
  bool lower_qdq(const Layer& L, LayerStats& ls);
  bool lower_gather_split(const Layer& L, LayerStats& ls);
  void lower_host(const Layer& L, LayerStats& ls);
  void emit_post_ops(std::vector<Instr>& vpu, const Layer& L, uint64_t addr, DType t, Dims n, std::string first_value);
  // Quantization parameters `v` would get (int8 / int16), in the dtype of `like`; no address.
  Storage make_storage_like(const std::string& v, const Storage& like) {
    Storage s = like;
    s.scale = 0, s.zp = 0;
    if (int8_ && dtype_is_integer(like.dtype)) {
      QParams q = value_qparams(v, ranges_, forced_, like.dtype == DType::I16 ? 16 : 8);
      s.scale = q.scale, s.zp = q.zero_point;
    }
    return s;
  }
  uint64_t layer_macs(const ir::Node& n) const;
};

double Compiler::dram_bytes_per_cycle() const {
  // Peak = channels * bus bytes * transfers per ns; the speed grade ends in MT/s.
  const auto& d = cfg_.dram;
  double mts = 0;
  auto pos = d.speed_grade.find_last_of('_');
  if (pos != std::string::npos) mts = std::atof(d.speed_grade.c_str() + pos + 1);
  if (mts <= 0) mts = 3200;
  double bytes_per_ns = d.channels * (d.bus_width_bits / 8.0) * mts / 1000.0;
  // A DMA channel keeps max_outstanding requests in flight over a ~100 ns round trip; a
  // layer streams on about two channels at a time.
  double per_channel = cfg_.dma.max_outstanding * double(cfg_.dma.request_bytes) / 100.0;
  bytes_per_ns = std::min(bytes_per_ns, 2 * per_channel);
  return std::max(1.0, bytes_per_ns / cfg_.clock_ghz);
}

uint64_t Compiler::layer_macs(const ir::Node& n) const {
  if (n.op_type == "Conv" && n.inputs.size() >= 2 && n.outputs.size() >= 1) {
    const Shape& w = g_.value(n.inputs[1]).shape;
    const Shape& y = g_.value(n.outputs[0]).shape;
    int64_t per = 1;
    for (size_t i = 1; i < w.size(); ++i) per *= w[i];
    return uint64_t(shape_numel(y) * per);
  }
  if ((n.op_type == "MatMul" || n.op_type == "Gemm") && n.outputs.size() >= 1) {
    const Shape& a = g_.value(n.inputs[0]).shape;
    int64_t K = a.empty() ? 1 : (n.op_type == "Gemm" && n.attr_i("transA", 0) ? a[0] : a.back());
    return uint64_t(shape_numel(g_.value(n.outputs[0]).shape) * K);
  }
  return 0;
}

Storage Compiler::make_storage(const std::string& v) {
  const ir::Value& val = g_.value(v);
  Storage s;
  s.shape = val.shape;
  s.dtype = val.dtype;
  if (val.dtype == DType::F32) {
    s.dtype = int8_ && mixed_.is_wide(v) ? DType::I16 : act_;
    if (int8_) {
      QParams q = value_qparams(v, ranges_, forced_, mixed_.bits(v));
      s.scale = q.scale, s.zp = q.zero_point;
    }
  }
  auto b = binding_.find(v);
  if (b != binding_.end() && b->second.dtype == s.dtype && s.scale == 0) return b->second;  // write outputs in place
  s.addr = act_alloc(s.bytes(), last_use(v));
  return s;
}

// A flat DRAM -> DRAM conversion copy (dtype / quantization change) on the load queue.
void Compiler::copy_flat(const Storage& dst, const Storage& src, bool spread) {
  std::vector<Instr> v;
  int64_t n = shape_numel(src.shape);
  const int64_t chunk = 1 << 20;
  for (int64_t off = 0; off < n; off += chunk * 16) {
    int64_t rest = std::min(n - off, chunk * 16);
    int64_t rows = rest / chunk, tail = rest % chunk;
    if (rows) {
      Operand d = dram_op(dst, off), a = dram_op(src, off);
      d.s = {1, chunk, 0, 0}, a.s = {1, chunk, 0, 0};
      v.push_back(dma_copy(d, a, {chunk, rows, 1, 1}));
    }
    if (tail) {
      Operand d = dram_op(dst, off + rows * chunk), a = dram_op(src, off + rows * chunk);
      d.s = {1, 0, 0, 0}, a.s = {1, 0, 0, 0};
      v.push_back(dma_copy(d, a, {tail, 1, 1, 1}));
    }
  }
  if (spread) em_.emit_spread(v);
  else
    for (auto& in : v) em_.emit(em_.load_queue(), in);
}

void Compiler::plan_storage() {
  // Inputs then outputs first (host-visible, f32), then every other value on first write.
  for (auto& name : g_.inputs) {
    const ir::Value& v = g_.value(name);
    Storage b;
    b.dtype = v.dtype, b.shape = v.shape;
    b.addr = dram_alloc(b.bytes());
    binding_[name] = b;
    P_.regions.push_back({"input:" + name, Space::Dram, b.addr, align_up(b.bytes()), true});
  }
  for (auto& name : g_.outputs) {
    if (binding_.count(name)) continue;
    const ir::Value& v = g_.value(name);
    Storage b;
    b.dtype = v.dtype, b.shape = v.shape;
    b.addr = dram_alloc(b.bytes());
    binding_[name] = b;
    P_.regions.push_back({"output:" + name, Space::Dram, b.addr, align_up(b.bytes()), true});
  }
}

// ---------------------------------------------------------------------------------------
// Conv: tiles over output channels x output rows x input channels (accumulated).
bool Compiler::lower_conv(const Layer& L, LayerStats& ls) {
  const ir::Node& n = L.node;
  const Storage& X = st(n.inputs[0]);
  const Storage& Y = st(L.output);
  const ir::Value& wv = g_.value(L.weight);
  int64_t N = X.shape[0], Cin = X.shape[1], H = X.shape[2], W = X.shape[3];
  int64_t Cout = wv.shape[0], Cin_g = wv.shape[1], KH = wv.shape[2], KW = wv.shape[3];
  int64_t OH = Y.shape[2], OW = Y.shape[3];
  int64_t G = n.attr_i("group", 1);
  auto pads = n.attr_ints("pads", {0, 0, 0, 0});
  auto strides = n.attr_ints("strides", {1, 1});
  auto dil = n.attr_ints("dilations", {1, 1});
  if (pads.size() != 4 || strides.size() != 2 || dil.size() != 2 || G <= 0 || Cin != Cin_g * G || Cout % G) return false;
  int64_t pt = pads[0], pl = pads[1];
  int64_t sh = strides[0], sw = strides[1], dh = dil[0], dw = dil[1];
  if (pt > 127 || pl > 127 || sh > 255 || sw > 255 || dh > 255 || dw > 255 || KH > 255 || KW > 255) return false;
  if (W >= (1 << 24) || OW >= (1 << 24) || H >= 65536) return false;
  int64_t Cout_g = Cout / G;
  int64_t KK = KH * KW;

  // ---- weights, bias and requant tables in the constants image ----
  // Mixed precision: an int16 output gets int16 weights; any int16 operand an int64
  // accumulator with an int64 bias (cost: bytes(a) x bytes(b) passes of the 8-bit array).
  DType wt = int8_ && Y.dtype == DType::I16 ? DType::I16 : act_;
  const bool acc64 = int8_ && (X.dtype == DType::I16 || wt == DType::I16);
  size_t ew = dtype_size(wt), ex = dtype_size(X.dtype), ey = dtype_size(Y.dtype);
  const uint64_t eacc = acc64 ? 8 : 4;  // accumulator and bias element bytes
  Tensor wq(wt, wv.shape);
  std::vector<float> wscale(size_t(Cout), 1.f);
  int64_t per = Cin_g * KK;
  if (int8_) {
    QuantWeights qw = quantize_weights(*wv.constant, false, wt == DType::I16 ? 16 : 8);
    wq = std::move(qw.q);
    wscale = std::move(qw.scale);
  } else {
    Tensor wf = wv.constant->cast(DType::F32);
    for (int64_t k = 0; k < wf.numel(); ++k) wq.set(size_t(k), wf.ptr<float>()[k]);
  }
  uint64_t w_const = add_constant("convW:" + n.name, wq);
  bool has_bias = !L.bias.empty();
  Tensor bias_t(acc64 ? DType::I64 : int8_ ? DType::I32 : DType::F32, {Cout});
  for (int64_t c = 0; c < Cout; ++c) {
    double b = has_bias ? g_.value(L.bias).constant->get(size_t(c)) : 0.0;
    if (acc64) bias_t.ptr<int64_t>()[c] = quantize_bias64(b, X.scale, wscale[c]);
    else if (int8_) bias_t.ptr<int32_t>()[c] = quantize_bias(b, X.scale, wscale[c]);
    else bias_t.ptr<float>()[c] = float(b);
  }
  uint64_t b_const = add_constant("convB:" + n.name, bias_t);
  // The requant's output scale: the value after the epilogue activation (act or preact).
  std::string epi_value = L.act.fn != Fn::Copy ? L.act.value : L.preact;
  const Storage epi = (L.post.empty()) ? Y : make_storage_like(epi_value, Y);
  Tensor table(DType::I32, {Cout * 2});
  if (int8_) {
    for (int64_t c = 0; c < Cout; ++c) {
      int32_t M, S;
      quantize_multiplier(double(X.scale) * wscale[c] / epi.scale, M, S);
      table.ptr<int32_t>()[2 * c] = M, table.ptr<int32_t>()[2 * c + 1] = S;
    }
  }
  uint64_t t_const = int8_ ? add_constant("convT:" + n.name, table) : 0;
  uint64_t params_bytes = align_up(uint64_t(Cout) * eacc) + (int8_ ? align_up(uint64_t(Cout) * 8) : 0);
  uint64_t w_total = uint64_t(Cout * per) * ew;

  // ---- tile choice ----
  const uint64_t sram = sram_top_, acc_half = cfg_.accumulator.size_bytes / 2;
  const int R = cfg_.matrix.rows, C = cfg_.matrix.cols;
  double rate = int8_ ? 1.0 / double(ex * ew) : (act_ == DType::F32 ? cfg_.matrix.fp32_rate : cfg_.matrix.fp16_rate);
  double bpc = dram_bytes_per_cycle();
  struct Choice {
    int64_t cc = 0, rr = 0, kc = 0;
    bool resident = false;
    double cost = std::numeric_limits<double>::infinity();
    uint64_t in_b = 0, w_b = 0;
    double comp = 0;
    uint64_t need = 0, block = 0;  // slot bytes, parameter block bytes
  } best;
  auto in_rows = [&](int64_t rr) { return std::min(H, (rr - 1) * sh + (KH - 1) * dh + 1); };
  std::vector<int64_t> cc_cands;
  if (G == 1) cc_cands = candidates(Cout, C);
  else {
    for (int64_t gp : candidates(G)) cc_cands.push_back(gp * Cout_g);
    for (int64_t c : candidates(Cout_g, C)) if (c < Cout_g) cc_cands.push_back(c);
  }
  Placement place;
  for (int resident = 1; resident >= 0 && !best.cc; --resident) {
    if (resident && w_total + params_bytes > sram / 2) continue;
    const uint64_t block = params_bytes + (resident ? align_up(w_total) : 0);
    for (int pre = 1; pre >= 0; --pre) {  // both placements; ties go to the prefetch
    const Placement pc = pre ? prefetch_placement(block) : classic_placement(block);
    if (!pc.ok) continue;
    for (int64_t cc : cc_cands) {
      int64_t gpc = (G > 1 && cc >= Cout_g) ? cc / Cout_g : 1;  // whole groups per chunk
      bool split_ok = gpc == 1;
      for (int64_t rr : candidates(OH)) {
        for (int64_t kc : split_ok ? candidates(Cin_g, R) : std::vector<int64_t>{Cin_g}) {
          uint64_t acc_b = uint64_t(cc * rr * OW) * eacc;
          if (acc_b > acc_half) continue;
          int64_t in_ch = gpc > 1 ? gpc * Cin_g : kc;
          uint64_t in_slot = align_up(uint64_t(in_ch * in_rows(rr) * W) * ex);
          uint64_t w_step = resident ? 0 : align_up(uint64_t(cc * kc * KK) * ew);
          uint64_t out_slot = align_up(uint64_t(cc * rr * OW) * ey);
          uint64_t need = 2 * (in_slot + w_step) + 2 * out_slot;  // the slots
          if (need > pc.slot_bytes) continue;
          int64_t nco = ceil_div(Cout, cc), nrow = ceil_div(OH, rr), nci = ceil_div(Cin_g, kc);
          int64_t in_reads = G == 1 ? nco : (gpc > 1 ? 1 : ceil_div(Cout_g, cc));
          uint64_t in_b = uint64_t(N * nrow * in_rows(rr) * W * Cin * in_reads) * ex;
          uint64_t w_b = resident ? w_total : w_total * uint64_t(N * nrow);
          uint64_t out_b = Y.bytes();
          int64_t co_instr = gpc > 1 ? Cout_g : cc;
          double comp = double(N * nco * nrow * nci * gpc) * best_mxu_cycles(cfg_, kc * KK, co_instr, rr * OW) / rate;
          double dram = double(in_b + w_b + out_b) / bpc;
          double overhead = double(N * nco * nrow * nci) * (2 * cfg_.dma.setup_cycles + 20);
          // Overlapped steady state + per-descriptor overhead. (Adding the un-overlapped
          // first/last step made resnet50 slower on the card model: more, smaller tiles.)
          // The first weight chunk is not hidden under compute.
          // ... unless it is prefetched during the previous layer.
          double first_w = resident && !pc.prefetch ? double(w_total) / double(nco) / bpc : 0;
          double cost = std::max(comp, dram) + first_w + overhead;
          if (cost < best.cost) best = {cc, rr, kc, bool(resident), cost, in_b, w_b, comp, need, block}, place = pc;
        }
      }
    }
    }
    // resident weights preferred when they fit at all
  }
  if (!best.cc) {
    uint64_t min_need = params_bytes + 2 * (align_up(uint64_t(in_rows(1) * W) * ex) + align_up(uint64_t(KK) * ew)) + 2 * align_up(uint64_t(OW) * ey);
    fail(ErrorKind::Capacity, "layer '{}' (Conv): smallest tile needs {} bytes of SRAM (card has {}) and {} bytes of accumulator (card has {} per buffer)",
         n.name, min_need, sram, uint64_t(OW) * eacc, acc_half);
  }
  const int64_t cc = best.cc, rr = best.rr, kc = best.kc;
  const bool resident = best.resident;
  const int64_t gpc = (G > 1 && cc >= Cout_g) ? cc / Cout_g : 1;
  if (place.prefetch) place = longest_prefetch_placement(best.block, best.need);  // finds at least `place`

  // Dataflow: the allowed one with the fewest cycles for this tile shape (SCALE-Sim model).
  Fn dummy{};
  (void)dummy;
  isa::Dataflow df = isa::Dataflow::WS;
  {
    double bestc = std::numeric_limits<double>::infinity();
    int64_t co_instr = gpc > 1 ? Cout_g : cc, P = rr * OW, Wn = kc * KK;
    for (auto& name : cfg_.matrix.dataflows) {
      double c;
      isa::Dataflow d;
      if (name == "ws") d = isa::Dataflow::WS, c = mxu_cycles(cfg_, d, Wn, co_instr, P);
      else if (name == "os") d = isa::Dataflow::OS, c = mxu_cycles(cfg_, d, P, co_instr, Wn);
      else if (name == "is") d = isa::Dataflow::IS, c = mxu_cycles(cfg_, d, Wn, P, co_instr);
      else continue;
      if (c < bestc) bestc = c, df = d;
    }
  }

  // ---- SRAM / ACC layout ----
  uint64_t a_bias = place.block, a_table = place.block + align_up(uint64_t(Cout) * eacc);
  uint64_t a_wres = place.block + params_bytes;
  uint64_t base = place.slots;
  use_sram_range(place.block, place.block + params_bytes + (resident ? align_up(w_total) : 0), n.name);
  int64_t in_ch_max = gpc > 1 ? gpc * Cin_g : kc;
  uint64_t in_bytes_max = align_up(uint64_t(in_ch_max * in_rows(rr) * W) * ex);
  uint64_t w_step_max = resident ? 0 : align_up(uint64_t(cc * kc * KK) * ew);
  uint64_t slot_in[2] = {base, base + in_bytes_max + w_step_max};
  uint64_t out0 = base + 2 * (in_bytes_max + w_step_max);
  uint64_t out_slot_b = align_up(uint64_t(cc * rr * OW) * ey);
  uint64_t slot_out[2] = {out0, out0 + out_slot_b};
  use_sram_range(base, out0 + 2 * out_slot_b, n.name);
  uint64_t acc_slot_b = align_up(uint64_t(cc * rr * OW) * eacc);
  uint64_t slot_acc[2] = {0, acc_slot_b};
  acc_peak_ = std::max(acc_peak_, 2 * acc_slot_b);

  Pipeline pipe;
  pipe.uses_mxu = true;
  pipe.prefetch = place.prefetch, pipe.prefetch_hosts = place.hosts;
  {
    Operand d = sram_op(a_bias, bias_t.dtype), a = dram_op(Storage{b_const, bias_t.dtype, 0, 0, bias_t.shape});
    a.s = {1, 0, 0, 0};
    pipe.weight_loads.push_back(dma_copy(d, a, {Cout, 1, 1, 1}));
    if (int8_) {
      Operand dt = sram_op(a_table, DType::I32), at = dram_op(Storage{t_const, DType::I32, 0, 0, table.shape});
      at.s = {1, 0, 0, 0};
      pipe.weight_loads.push_back(dma_copy(dt, at, {2 * Cout, 1, 1, 1}));
    }
  }
  ls.w_bytes = resident ? w_total : 0;
  size_t k = 0, j = 0;
  const DType acc_t = acc64 ? DType::I64 : int8_ ? DType::I32 : DType::F32;
  for (int64_t c0 = 0; c0 < Cout; c0 += cc) {
    int64_t cn = std::min(cc, Cout - c0);
    int64_t g0 = c0 / Cout_g;
    if (resident) {  // this chunk's weights, prefetched while the previous chunk computes
      Operand dw_ = sram_op(a_wres + uint64_t(c0 * per) * ew, wt, {1, per, 0, 0});
      Operand aw = dram_op(Storage{w_const, wt, 0, 0, wv.shape}, c0 * per);
      aw.s = {1, per, 0, 0};
      pipe.chunk_weights.push_back({pipe.tiles.size(), {dma_copy(dw_, aw, {per, cn, 1, 1})}});
    }
    for (int64_t b = 0; b < N; ++b) {
      for (int64_t oh0 = 0; oh0 < OH; oh0 += rr, ++j) {
        int64_t rn = std::min(rr, OH - oh0);
        int64_t r0 = std::max<int64_t>(0, oh0 * sh - pt);
        int64_t r1 = std::min<int64_t>(H, (oh0 + rn - 1) * sh - pt + (KH - 1) * dh + 1);
        int64_t rows = std::max<int64_t>(0, r1 - r0);
        Tile t;
        int64_t ci_total = gpc > 1 ? Cin_g : Cin_g;
        int64_t kstep = gpc > 1 ? Cin_g : kc;
        for (int64_t i0 = 0, ci_idx = 0; i0 < ci_total; i0 += kstep, ++ci_idx, ++k) {
          int64_t kn = std::min(kstep, ci_total - i0);
          Step s;
          uint64_t in_base = slot_in[k % 2];
          // Input channels this step reads.
          int64_t ic0, icn;
          if (G == 1) ic0 = i0, icn = kn;
          else if (gpc > 1) ic0 = g0 * Cin_g, icn = gpc * Cin_g;
          else ic0 = g0 * Cin_g + i0, icn = kn;
          if (rows > 0) {
            Operand d = sram_op(in_base, X.dtype, {1, rows * W, 0, 0});
            Operand a = dram_op(X, ((b * Cin + ic0) * H + r0) * W);
            a.s = {1, H * W, 0, 0};
            a.scale = 0, a.zp = 0;  // raw bytes: the mxu applies the zero point
            s.loads.push_back(dma_copy(d, a, {rows * W, icn, 1, 1}));
            ls.in_bytes += uint64_t(rows * W * icn) * ex;
          }
          uint64_t wbase;
          int64_t b_s0;
          if (resident) {
            wbase = a_wres + uint64_t((c0 * Cin_g + i0) * KK) * ew;
            b_s0 = Cin_g * KK;
          } else {
            wbase = in_base + in_bytes_max;
            b_s0 = kn * KK;
            Operand d = sram_op(wbase, wt, {1, kn * KK, 0, 0});
            Operand a = dram_op(Storage{w_const, wt, 0, 0, wv.shape}, (c0 * Cin_g + i0) * KK);
            a.s = {1, Cin_g * KK, 0, 0};
            s.loads.push_back(dma_copy(d, a, {kn * KK, cn, 1, 1}));
            ls.w_bytes += uint64_t(kn * KK * cn) * ew;
          }
          int64_t groups_here = gpc > 1 ? ceil_div(cn, Cout_g) : 1;
          for (int64_t gi = 0; gi < groups_here; ++gi) {
            int64_t co_local = gi * Cout_g;
            int64_t co_n = gpc > 1 ? std::min(Cout_g, cn - co_local) : cn;
            Instr in;
            in.op = Opcode::MxuConv;
            in.df = int64_t(df);
            in.acc = ci_idx > 0 ? 1 : 0;
            in.dtype = int64_t(X.dtype);
            Operand A = sram_op(in_base + uint64_t(gi * Cin_g * rows * W) * ex, X.dtype, {rows * W, W, 1, 0});
            A.zp = int8_ ? X.zp : 0;
            Operand B = sram_op(wbase + uint64_t(co_local * b_s0) * ew, wt, {b_s0, KK, KW, 1});
            Operand D;
            D.space = Space::Acc, D.addr = slot_acc[j % 2] + uint64_t(co_local * rn * OW) * eacc, D.type = acc_t;
            D.s = {rn * OW, 1, 0, 0};
            set_a(in, A), set_b(in, B), set_d(in, D);
            in.in_c = gpc > 1 ? Cin_g : kn, in.in_h = rows, in.in_w = W;
            in.out_h = rn, in.out_w = OW, in.out_c = co_n;
            in.k_h = KH, in.k_w = KW, in.st_h = sh, in.st_w = sw, in.dl_h = dh, in.dl_w = dw;
            in.pad_t = pt - oh0 * sh + r0, in.pad_l = pl;
            in.c_addr = int64_t(isa::kNoAddr);
            s.mxu.push_back(in);
          }
          t.steps.push_back(std::move(s));
        }
        // Epilogue: bias + scale + activation from ACC into the output slot.
        {
          Instr rq;
          rq.op = Opcode::VpuRequant;
          rq.dtype = int64_t(acc_t);
          Operand A;
          A.space = Space::Acc, A.addr = slot_acc[j % 2], A.type = acc_t, A.s = {1, rn * OW, 0, 0};
          Operand D = sram_op(slot_out[j % 2], Y.dtype, {1, rn * OW, 0, 0});
          D.scale = epi.scale, D.zp = epi.zp;
          set_a(rq, A), set_d(rq, D);
          set_n(rq, {rn * OW, cn, 1, 1});
          rq.fn = int64_t(L.act.fn), rq.alpha = L.act.alpha, rq.beta = L.act.beta;
          clamp_clip_bounds(rq, epi.scale, Y.dtype);
          rq.c_space = int64_t(Space::Sram), rq.c_addr = int64_t(a_bias + uint64_t(c0) * eacc), rq.c_dim = 1;
          rq.b_space = int64_t(Space::Sram);
          rq.b_addr = int8_ ? int64_t(a_table + uint64_t(c0) * 8) : int64_t(isa::kNoAddr);
          rq.b_type = int64_t(DType::I32);
          t.vpu.push_back(rq);
          emit_post_ops(t.vpu, L, slot_out[j % 2], Y.dtype, {rn * OW, cn, 1, 1}, epi_value);
        }
        {
          Operand a = sram_op(slot_out[j % 2], Y.dtype, {1, rn * OW, 0, 0});
          Operand d = dram_op(Y, (b * Cout + c0) * OH * OW + oh0 * OW);
          d.s = {1, OH * OW, 0, 0};
          d.scale = 0, d.zp = 0;  // raw bytes, already requantized
          t.stores.push_back(dma_copy(d, a, {rn * OW, cn, 1, 1}));
        }
        pipe.tiles.push_back(std::move(t));
      }
    }
  }
  ls.out_bytes = Y.bytes();
  ls.compute_cycles = best.comp;
  ls.dram_cycles = double(ls.in_bytes + ls.w_bytes + ls.out_bytes) / bpc;
  ls.tiling = fmt::format("tile co={} rows={} ci={} ({} tiles, {} steps), weights {}, loop co>n>rows>ci, df={}{}",
                          cc, rr, gpc > 1 ? Cin_g : kc, j, k, resident ? "resident" : "streamed",
                          df == isa::Dataflow::WS ? "ws" : df == isa::Dataflow::OS ? "os" : "is",
                          acc64 ? fmt::format(", mixed precision {} x {} -> i64 accumulator ({} passes of the 8-bit array)",
                                              dtype_name(X.dtype), dtype_name(wt), ex * ew)
                                : "");
  em_.emit_pipeline(pipe);
  return true;
}


// ---------------------------------------------------------------------------------------
// MatMul / Gemm: Y[b] = A[b] (MxK) x B[b] (KxN) as a 1-row convolution: ow = m, ci = k, co = n.
bool Compiler::lower_matmul(const Layer& L, LayerStats& ls) {
  const ir::Node& n = L.node;
  const Storage& X = st(n.inputs[0]);
  const Storage& Y = st(L.output);
  // choose_mixed_precision never gives a MatMul an int16 operand or output.
  if (X.dtype == DType::I16 || Y.dtype == DType::I16)
    fail(ErrorKind::Internal, "layer '{}' (MatMul): int16 operands are not lowered", n.name);
  const bool weight = L.b_is_weight && !L.weight.empty();
  const Shape bshape = weight ? g_.value(L.weight).shape : st(n.inputs[1]).shape;
  if (X.shape.size() < 2 || bshape.size() < 2 || Y.shape.size() < 2) return false;
  int64_t M = X.shape[X.shape.size() - 2], K = X.shape.back(), Nn = bshape.back();
  if (bshape[bshape.size() - 2] != K || Y.shape.back() != Nn || Y.shape[Y.shape.size() - 2] != M) return false;
  Shape yb(Y.shape.begin(), Y.shape.end() - 2), ab(X.shape.begin(), X.shape.end() - 2), bb(bshape.begin(), bshape.end() - 2);
  if (ab.size() > yb.size() || bb.size() > yb.size()) return false;
  // Batched weights [..., K, N] with more than one slice: one [K,N] slice per batch, streamed.
  const bool batched_w = weight && shape_numel(bb) > 1;
  if (weight && !batched_w && ab == yb) {  // x[..., M, K] @ W[K, N]: all leading dims are rows of one GEMM
    M *= shape_numel(yb);
    yb.clear(), ab.clear(), bb.clear();
  }
  if (M >= (1 << 24)) return false;
  int64_t batches = shape_numel(yb);
  auto a_bst = broadcast_strides(ab, yb), b_bst = broadcast_strides(bb, yb);
  auto y_bst = strides_of(yb);
  auto batch_off = [&](int64_t bi, const std::vector<int64_t>& bst) {
    int64_t off = 0, rem = bi;
    for (size_t d = 0; d < yb.size(); ++d) {
      int64_t idx = rem / y_bst[d];
      rem %= y_bst[d];
      off += idx * bst[d];
    }
    return off;
  };

  DType wt = act_;
  size_t ex = dtype_size(X.dtype), ey = dtype_size(Y.dtype);
  // Weights [K,N] quantized per output column; activation B per tensor.
  Storage Bst;
  std::vector<float> wscale(size_t(Nn), 1.f);
  uint64_t w_const = 0;
  if (weight) {
    Tensor wq(wt, bshape);
    if (int8_) {
      QuantWeights qw = quantize_weights(*g_.value(L.weight).constant, true);
      wq = std::move(qw.q);
      wscale = std::move(qw.scale);
    } else {
      Tensor wf = g_.value(L.weight).constant->cast(DType::F32);
      for (int64_t i = 0; i < wf.numel(); ++i) wq.set(size_t(i), wf.ptr<float>()[i]);
    }
    w_const = add_constant("mmW:" + n.name, wq);
    Bst = Storage{w_const, wt, 0, 0, bshape};
  } else {
    Bst = st(n.inputs[1]);
  }
  size_t eb = dtype_size(Bst.dtype);
  std::string epi_value = L.act.fn != Fn::Copy ? L.act.value : L.preact;
  const Storage epi = L.post.empty() ? Y : make_storage_like(epi_value, Y);
  Tensor bias_t(int8_ ? DType::I32 : DType::F32, {Nn});
  for (int64_t c = 0; c < Nn; ++c) {
    double b = L.bias.empty() ? 0.0 : g_.value(L.bias).constant->get(size_t(c));
    double ws = weight ? wscale[c] : Bst.scale;
    if (int8_) bias_t.ptr<int32_t>()[c] = quantize_bias(b, X.scale, ws);
    else bias_t.ptr<float>()[c] = float(b);
  }
  uint64_t b_const = add_constant("mmB:" + n.name, bias_t);
  Tensor table(DType::I32, {Nn * 2});
  int32_t Mt = 0, St = 1;
  if (int8_) {
    if (weight) {
      for (int64_t c = 0; c < Nn; ++c) {
        int32_t Mq, Sq;
        quantize_multiplier(double(X.scale) * wscale[c] / epi.scale, Mq, Sq);
        table.ptr<int32_t>()[2 * c] = Mq, table.ptr<int32_t>()[2 * c + 1] = Sq;
      }
    } else {
      quantize_multiplier(double(X.scale) * Bst.scale / epi.scale, Mt, St);
    }
  }
  bool use_table = int8_ && weight;
  uint64_t t_const = use_table ? add_constant("mmT:" + n.name, table) : 0;
  uint64_t params_bytes = align_up(uint64_t(Nn) * 4) + (use_table ? align_up(uint64_t(Nn) * 8) : 0);
  uint64_t w_total = uint64_t(K * Nn) * eb;

  const uint64_t sram = sram_top_, acc_half = cfg_.accumulator.size_bytes / 2;
  const int R = cfg_.matrix.rows, C = cfg_.matrix.cols;
  double rate = int8_ ? 1.0 : (act_ == DType::F32 ? cfg_.matrix.fp32_rate : cfg_.matrix.fp16_rate);
  double bpc = dram_bytes_per_cycle();
  struct Choice {
    int64_t nc = 0, mc = 0, kc = 0;
    bool resident = false;
    double cost = INFINITY, comp = 0;
    uint64_t need = 0, block = 0;  // slot bytes, parameter block bytes
  } best;
  Placement place;
  for (int resident = weight && !batched_w ? 1 : 0; resident >= 0 && !best.nc; --resident) {
    if (resident && w_total + params_bytes > sram / 2) continue;
    const uint64_t block = params_bytes + (resident ? align_up(w_total) : 0);
    for (int pre = 1; pre >= 0; --pre) {  // both placements; ties go to the prefetch
    const Placement pc = pre ? prefetch_placement(block) : classic_placement(block);
    if (!pc.ok) continue;
    for (int64_t nc : candidates(std::min<int64_t>(Nn, 65535), C)) {
      for (int64_t mc : candidates(M)) {
        for (int64_t kc : candidates(std::min<int64_t>(K, 65535), R)) {
          if (uint64_t(mc * nc) * 4 > acc_half) continue;
          uint64_t in_slot = align_up(uint64_t(mc * kc) * ex) + (resident ? 0 : align_up(uint64_t(kc * nc) * eb));
          uint64_t out_slot = align_up(uint64_t(mc * nc) * ey);
          uint64_t need = 2 * in_slot + 2 * out_slot;  // the slots
          if (need > pc.slot_bytes) continue;
          int64_t nn = ceil_div(Nn, nc), nm = ceil_div(M, mc), nk = ceil_div(K, kc);
          uint64_t in_b = uint64_t(batches * M * K * nn) * ex;
          uint64_t w_b = resident ? w_total : uint64_t(batches) * w_total * uint64_t(nm);
          double comp = double(batches * nn * nm * nk) * best_mxu_cycles(cfg_, kc, nc, mc) / rate;
          double dram = double(in_b + w_b + Y.bytes()) / bpc;
          double steps = double(batches * nn * nm * nk);
          // Resident weights load before the first tile unless prefetched during the previous layer.
          double first_w = resident && !pc.prefetch ? double(w_total) / bpc : 0;
          double cost = std::max(comp, dram) + first_w + steps * (2 * cfg_.dma.setup_cycles + 20);
          if (cost < best.cost) best = {nc, mc, kc, bool(resident), cost, comp, need, block}, place = pc;
        }
      }
    }
    }
  }
  if (!best.nc)
    fail(ErrorKind::Capacity, "layer '{}' ({}): smallest tile needs {} bytes of SRAM (card has {})", n.name, n.op_type,
         params_bytes + 2 * (align_up(ex) + align_up(eb)) + 2 * align_up(ey), sram);
  const int64_t nc = best.nc, mc = best.mc, kc = best.kc;
  const bool resident = best.resident;
  if (place.prefetch) place = longest_prefetch_placement(best.block, best.need);  // finds at least `place`
  isa::Dataflow df = isa::Dataflow::WS;
  {
    double bestc = INFINITY;
    for (auto& name : cfg_.matrix.dataflows) {
      double c;
      isa::Dataflow d;
      if (name == "ws") d = isa::Dataflow::WS, c = mxu_cycles(cfg_, d, kc, nc, mc);
      else if (name == "os") d = isa::Dataflow::OS, c = mxu_cycles(cfg_, d, mc, nc, kc);
      else if (name == "is") d = isa::Dataflow::IS, c = mxu_cycles(cfg_, d, kc, mc, nc);
      else continue;
      if (c < bestc) bestc = c, df = d;
    }
  }

  uint64_t a_bias = place.block, a_table = place.block + align_up(uint64_t(Nn) * 4), a_wres = place.block + params_bytes;
  uint64_t base = place.slots;
  use_sram_range(place.block, place.block + params_bytes + (resident ? align_up(w_total) : 0), n.name);
  uint64_t a_part = align_up(uint64_t(mc * kc) * ex);
  uint64_t in_slot = a_part + (resident ? 0 : align_up(uint64_t(kc * nc) * eb));
  uint64_t slot_in[2] = {base, base + in_slot};
  uint64_t out_slot_b = align_up(uint64_t(mc * nc) * ey);
  uint64_t slot_out[2] = {base + 2 * in_slot, base + 2 * in_slot + out_slot_b};
  use_sram_range(base, slot_out[1] + out_slot_b, n.name);
  uint64_t acc_slot_b = align_up(uint64_t(mc * nc) * 4);
  uint64_t slot_acc[2] = {0, acc_slot_b};
  acc_peak_ = std::max(acc_peak_, 2 * acc_slot_b);
  const DType acc_t = int8_ ? DType::I32 : DType::F32;

  Pipeline pl;
  pl.uses_mxu = true;
  pl.prefetch = place.prefetch, pl.prefetch_hosts = place.hosts;
  {
    Operand d = sram_op(a_bias, bias_t.dtype), a = dram_op(Storage{b_const, bias_t.dtype, 0, 0, bias_t.shape});
    a.s = {1, 0, 0, 0};
    pl.weight_loads.push_back(dma_copy(d, a, {Nn, 1, 1, 1}));
    if (use_table) {
      Operand dt = sram_op(a_table, DType::I32), at = dram_op(Storage{t_const, DType::I32, 0, 0, table.shape});
      at.s = {1, 0, 0, 0};
      pl.weight_loads.push_back(dma_copy(dt, at, {2 * Nn, 1, 1, 1}));
    }
    if (resident) {
      Operand dw_ = sram_op(a_wres, wt, {1, Nn, 0, 0}), aw = dram_op(Bst);
      aw.s = {1, Nn, 0, 0};
      pl.weight_loads.push_back(dma_copy(dw_, aw, {Nn, K, 1, 1}));
      ls.w_bytes = w_total;
    }
  }
  size_t k = 0, j = 0;
  for (int64_t n0 = 0; n0 < Nn; n0 += nc) {
    int64_t nn = std::min(nc, Nn - n0);
    for (int64_t bi = 0; bi < batches; ++bi) {
      int64_t aoff = batch_off(bi, a_bst) * M * K, boff = batch_off(bi, b_bst) * K * Nn;
      for (int64_t m0 = 0; m0 < M; m0 += mc, ++j) {
        int64_t mn = std::min(mc, M - m0);
        Tile t;
        for (int64_t k0 = 0, kidx = 0; k0 < K; k0 += kc, ++kidx, ++k) {
          int64_t kn = std::min(kc, K - k0);
          Step s;
          uint64_t ib = slot_in[k % 2];
          {
            Operand d = sram_op(ib, X.dtype, {1, kn, 0, 0});
            Operand a = dram_op(X, aoff + m0 * K + k0);
            a.s = {1, K, 0, 0};
            a.scale = 0, a.zp = 0;
            s.loads.push_back(dma_copy(d, a, {kn, mn, 1, 1}));
            ls.in_bytes += uint64_t(kn * mn) * ex;
          }
          uint64_t wb;
          int64_t b_s1;
          if (resident) {
            wb = a_wres + uint64_t(k0 * Nn + n0) * eb;
            b_s1 = Nn;
          } else {
            wb = ib + a_part;
            b_s1 = nn;
            Operand d = sram_op(wb, Bst.dtype, {1, nn, 0, 0});
            Operand a = dram_op(Bst, boff + k0 * Nn + n0);
            a.s = {1, Nn, 0, 0};
            a.scale = 0, a.zp = 0;
            s.loads.push_back(dma_copy(d, a, {nn, kn, 1, 1}));
            ls.w_bytes += uint64_t(nn * kn) * eb;
          }
          Instr in;
          in.op = Opcode::MxuConv;
          in.df = int64_t(df);
          in.acc = kidx > 0 ? 1 : 0;
          in.dtype = int64_t(X.dtype);
          Operand A = sram_op(ib, X.dtype, {1, 0, kn, 0});
          A.zp = int8_ ? X.zp : 0;
          Operand B = sram_op(wb, Bst.dtype, {1, b_s1, 0, 0});
          B.zp = (int8_ && !weight) ? Bst.zp : 0;
          Operand D;
          D.space = Space::Acc, D.addr = slot_acc[j % 2], D.type = acc_t, D.s = {1, nn, 0, 0};
          set_a(in, A), set_b(in, B), set_d(in, D);
          in.in_c = kn, in.in_h = 1, in.in_w = mn, in.out_h = 1, in.out_w = mn, in.out_c = nn;
          in.k_h = 1, in.k_w = 1, in.st_h = 1, in.st_w = 1, in.dl_h = 1, in.dl_w = 1;
          in.c_addr = int64_t(isa::kNoAddr);
          s.mxu.push_back(in);
          t.steps.push_back(std::move(s));
        }
        Instr rq;
        rq.op = Opcode::VpuRequant;
        rq.dtype = int64_t(acc_t);
        Operand A;
        A.space = Space::Acc, A.addr = slot_acc[j % 2], A.type = acc_t, A.s = {1, nn, 0, 0};
        Operand D = sram_op(slot_out[j % 2], Y.dtype, {1, nn, 0, 0});
        D.scale = epi.scale, D.zp = epi.zp;
        set_a(rq, A), set_d(rq, D);
        set_n(rq, {nn, mn, 1, 1});
        rq.fn = int64_t(L.act.fn), rq.alpha = L.act.alpha, rq.beta = L.act.beta; clamp_clip_bounds(rq, epi.scale);
        rq.c_space = int64_t(Space::Sram), rq.c_addr = int64_t(a_bias + uint64_t(n0) * 4), rq.c_dim = 0;
        rq.b_space = int64_t(Space::Sram), rq.b_type = int64_t(DType::I32);
        rq.b_addr = use_table ? int64_t(a_table + uint64_t(n0) * 8) : int64_t(isa::kNoAddr);
        rq.mult = Mt, rq.shift = St;
        t.vpu.push_back(rq);
        emit_post_ops(t.vpu, L, slot_out[j % 2], Y.dtype, {nn, mn, 1, 1}, epi_value);
        Operand sa = sram_op(slot_out[j % 2], Y.dtype, {1, nn, 0, 0});
        Operand sd = dram_op(Y, bi * M * Nn + m0 * Nn + n0);
        sd.s = {1, Nn, 0, 0};
        sd.scale = 0, sd.zp = 0;
        t.stores.push_back(dma_copy(sd, sa, {nn, mn, 1, 1}));
        pl.tiles.push_back(std::move(t));
      }
    }
  }
  ls.out_bytes = Y.bytes();
  ls.compute_cycles = best.comp;
  ls.dram_cycles = double(ls.in_bytes + ls.w_bytes + ls.out_bytes) / bpc;
  ls.tiling = fmt::format("tile n={} m={} k={} ({} tiles, {} steps), B {}, loop n>batch>m>k, df={}", nc, mc, kc, j, k,
                          resident ? "resident" : "streamed", df == isa::Dataflow::WS ? "ws" : df == isa::Dataflow::OS ? "os" : "is");
  em_.emit_pipeline(pl);
  return true;
}

void Compiler::emit_post_ops(std::vector<Instr>& vpu, const Layer& L, uint64_t addr, DType t, Dims n, std::string prev) {
  Storage like;
  like.dtype = t;
  for (auto& p : L.post) {
    Storage in_q = make_storage_like(prev, like), out_q = make_storage_like(p.value, like);
    Operand a = sram_op(addr, t, {1, n[0], 0, 0}), d = a;
    a.scale = in_q.scale, a.zp = in_q.zp;
    d.scale = out_q.scale, d.zp = out_q.zp;
    vpu.push_back(vpu_unary(p.fn, d, a, n, p.alpha, p.beta));
    prev = p.value;
  }
}

// ---------------------------------------------------------------------------------------
// Vector-unit layers work in f32 in SRAM: the load DMA dequantizes / widens, the store DMA
// quantizes / narrows, so one lowering serves every precision.
bool Compiler::lower_elementwise(const Layer& L, LayerStats& ls) {
  const ir::Node& n = L.node;
  Fn fn;
  float alpha, beta;
  int arity;
  if (!elementwise_fn(g_, n, fn, alpha, beta, arity)) return false;
  const Storage& Y = st(L.output);
  std::vector<const Storage*> ins;
  for (int i = 0; i < arity; ++i) ins.push_back(&st(n.inputs[size_t(i)]));
  std::vector<std::vector<int64_t>> strides{strides_of(Y.shape)};
  for (auto* s : ins) {
    if (s->shape.size() > Y.shape.size()) return false;
    strides.push_back(broadcast_strides(s->shape, Y.shape));
  }
  Iter it = merge_dims(Y.shape, strides);
  if (it.n.size() > 4) return false;
  while (it.n.size() < 4) {
    it.n.push_back(1);
    for (auto& s : it.strides) s.push_back(0);
  }
  const uint64_t slot = (sram_top_ / 4) / 64 * 64;
  // Elements per operand such that `arity` 64-byte-aligned operands fit in one slot.
  int64_t budget = int64_t((slot / uint64_t(arity)) / 64 * 64 / 4);
  if (budget < 1) fail(ErrorKind::Capacity, "layer '{}': SRAM too small for one element per operand", n.name);
  // At least ~4 tiles so loads, compute and stores overlap.
  budget = std::min<int64_t>(budget, std::max<int64_t>(4096, ceil_div(it.n[0] * it.n[1] * it.n[2] * it.n[3], 4)));
  Dims t{1, 1, 1, 1};
  {
    int64_t left = budget;
    for (int d = 0; d < 4; ++d) {
      t[d] = std::min(it.n[d], left);
      if (t[d] < it.n[d]) break;
      left /= std::max<int64_t>(t[d], 1);
    }
  }
  // Slots only as large as the tiles need, so a following matrix layer can prefetch its
  // weights into the rest of SRAM.
  const uint64_t tile_bytes = align_up(uint64_t(t[0] * t[1] * t[2] * t[3]) * 4);
  const uint64_t used_slot = std::min(slot, uint64_t(std::max(arity, 1)) * tile_bytes);
  uint64_t slot_in[2] = {0, used_slot}, slot_out[2] = {2 * used_slot, 3 * used_slot};
  use_sram(4 * used_slot, n.name);
  Pipeline pl;
  size_t j = 0;
  for (int64_t o3 = 0; o3 < it.n[3]; o3 += t[3])
    for (int64_t o2 = 0; o2 < it.n[2]; o2 += t[2])
      for (int64_t o1 = 0; o1 < it.n[1]; o1 += t[1])
        for (int64_t o0 = 0; o0 < it.n[0]; o0 += t[0], ++j) {
          Dims o{o0, o1, o2, o3}, e;
          for (int d = 0; d < 4; ++d) e[d] = std::min(t[d], it.n[d] - o[d]);
          Tile tile;
          Step s;
          std::vector<Operand> vops;
          uint64_t off = slot_in[j % 2];
          for (size_t i = 0; i < ins.size(); ++i) {
            const auto& xs = it.strides[i + 1];
            Dims be, cs, vs;
            int64_t acc = 1, src_off = 0;
            for (int d = 0; d < 4; ++d) {
              be[d] = xs[d] ? e[d] : 1;
              cs[d] = acc;
              acc *= be[d];
              vs[d] = xs[d] ? cs[d] : 0;
              src_off += o[d] * xs[d];
            }
            Operand a = dram_op(*ins[i], src_off);
            a.s = {xs[0], xs[1], xs[2], xs[3]};
            s.loads.push_back(dma_copy(sram_op(off, DType::F32, cs), a, be));
            ls.in_bytes += uint64_t(acc) * dtype_size(ins[i]->dtype);
            vops.push_back(sram_op(off, DType::F32, vs));
            off += align_up(uint64_t(acc) * 4);
          }
          Dims cy;
          int64_t acc = 1, y_off = 0;
          for (int d = 0; d < 4; ++d) cy[d] = acc, acc *= e[d], y_off += o[d] * it.strides[0][d];
          Operand D = sram_op(slot_out[j % 2], DType::F32, cy);
          if (arity == 1) tile.vpu.push_back(vpu_unary(fn, D, vops[0], e, alpha, beta));
          else tile.vpu.push_back(vpu_binary(fn, D, vops[0], vops[1], e));
          for (auto& p : L.post) tile.vpu.push_back(vpu_unary(p.fn, D, D, e, p.alpha, p.beta));
          Operand sd = dram_op(Y, y_off);
          sd.s = {it.strides[0][0], it.strides[0][1], it.strides[0][2], it.strides[0][3]};
          tile.stores.push_back(dma_copy(sd, D, e));
          tile.steps.push_back(std::move(s));
          pl.tiles.push_back(std::move(tile));
        }
  ls.out_bytes = Y.bytes();
  ls.compute_cycles = double(shape_numel(Y.shape)) * double(1 + L.post.size()) / cfg_.vector.lanes;
  ls.tiling = fmt::format("{} tiles of up to {}x{}x{}x{} elements (f32 in SRAM)", j, t[3], t[2], t[1], t[0]);
  em_.emit_pipeline(pl);
  return true;
}

// MaxPool / AveragePool over whole planes: tile = a run of (n, c) planes.
bool Compiler::lower_pool(const Layer& L, LayerStats& ls) {
  const ir::Node& n = L.node;
  const Storage& X = st(n.inputs[0]);
  const Storage& Y = st(L.output);
  int64_t planes = X.shape[0] * X.shape[1], H = X.shape[2], W = X.shape[3], OH = Y.shape[2], OW = Y.shape[3];
  auto k = n.attr_ints("kernel_shape");
  auto pads = n.attr_ints("pads", {0, 0, 0, 0});
  auto strides = n.attr_ints("strides", {1, 1});
  auto dil = n.attr_ints("dilations", {1, 1});
  if (k.size() != 2 || pads.size() != 4 || strides.size() != 2 || dil.size() != 2) return false;
  for (auto p : pads) if (p > 127 || p < 0) return false;
  if (k[0] > 255 || k[1] > 255 || strides[0] > 255 || strides[1] > 255 || H >= 65536 || W >= (1 << 24)) return false;
  // ceil_mode windows that run past the input behave like extra bottom/right padding.
  int64_t pb = pads[2], pr = pads[3];
  pb = std::max(pb, (OH - 1) * strides[0] + (k[0] - 1) * dil[0] + 1 - H - pads[0]);
  pr = std::max(pr, (OW - 1) * strides[1] + (k[1] - 1) * dil[1] + 1 - W - pads[1]);
  bool avg = n.op_type == "AveragePool";
  if (avg && n.attr_i("count_include_pad", 0) && (pb != pads[2] || pr != pads[3])) return false;
  const uint64_t slot = (sram_top_ / 4) / 64 * 64;
  int64_t cp = std::min<int64_t>(planes, int64_t(slot / (4 * uint64_t(std::max(H * W, OH * OW)))));
  cp = std::min<int64_t>({cp, 65535 * 256, std::max<int64_t>(1, ceil_div(planes, 4))});
  uint64_t slot_in[2] = {0, slot}, slot_out[2] = {2 * slot, 3 * slot};
  use_sram(4 * slot, n.name);
  // One pool instruction over rows [ih0, ih0 + ih_n) of planes [p0, p0 + pn), giving output
  // rows [r0, r0 + rn): the window offsets are re-based onto the loaded rows, so the top/bottom
  // padding left is exactly the real padding those rows touch.
  auto pool_tile = [&](size_t j, int64_t p0, int64_t pn, int64_t r0, int64_t rn, int64_t ih0, int64_t ih_n) {
    Tile t;
    Step s;
    Operand a = dram_op(X, p0 * H * W + ih0 * W);
    a.s = {1, 0, 0, 0};
    s.loads.push_back(dma_copy(sram_op(slot_in[j % 2], DType::F32), a, {pn * ih_n * W, 1, 1, 1}));
    Instr in;
    in.op = Opcode::VpuPool;
    in.fn = int64_t(avg ? Fn::AvgPool : Fn::MaxPool);
    in.dtype = int64_t(DType::F32);
    const int64_t pad_t = std::max<int64_t>(pads[0] - r0 * strides[0], 0);
    const int64_t pad_b = std::max<int64_t>((rn - 1) * strides[0] - pad_t + (k[0] - 1) * dil[0] + 1 - ih_n, 0);
    set_a(in, sram_op(slot_in[j % 2], DType::F32, {1, W, ih_n * W, 0}));
    set_d(in, sram_op(slot_out[j % 2], DType::F32, {1, OW, rn * OW, 0}));
    set_n(in, {OW, rn, pn, 1});
    in.in_h = ih_n, in.in_w = W, in.k_h = k[0], in.k_w = k[1], in.st_h = strides[0], in.st_w = strides[1];
    in.dl_h = dil[0], in.dl_w = dil[1], in.pad_t = pad_t, in.pad_l = pads[1], in.pad_b = pad_b, in.pad_r = pr;
    in.beta = avg && n.attr_i("count_include_pad", 0) ? 1.f : 0.f;
    t.vpu.push_back(in);
    Operand sd = dram_op(Y, p0 * OH * OW + r0 * OW);
    sd.s = {1, 0, 0, 0};
    t.stores.push_back(dma_copy(sd, sram_op(slot_out[j % 2], DType::F32), {pn * rn * OW, 1, 1, 1}));
    t.steps.push_back(std::move(s));
    return t;
  };
  Pipeline pl;
  size_t j = 0;
  if (cp >= 1) {
    for (int64_t p0 = 0; p0 < planes; p0 += cp, ++j)
      pl.tiles.push_back(pool_tile(j, p0, std::min(cp, planes - p0), 0, OH, 0, H));
    ls.tiling = fmt::format("{} tiles of {} planes", j, cp);
  } else {
    // A plane larger than a slot: tiles of output rows, one plane at a time.
    auto in_rows = [&](int64_t rn) { return (rn - 1) * strides[0] + (k[0] - 1) * dil[0] + 1; };
    int64_t rows = 0;
    while (rows < OH && uint64_t(std::min(in_rows(rows + 1), H) * W) * 4 <= slot && uint64_t((rows + 1) * OW) * 4 <= slot)
      ++rows;
    if (rows < 1)
      fail(ErrorKind::Capacity, "layer '{}' ({}): one output row needs {} input rows of {} elements ({} bytes) per SRAM buffer, the card has {}",
           n.name, n.op_type, in_rows(1), W, uint64_t(in_rows(1) * W) * 4, slot);
    for (int64_t p = 0; p < planes; ++p)
      for (int64_t r0 = 0; r0 < OH; r0 += rows, ++j) {
        const int64_t rn = std::min(rows, OH - r0);
        const int64_t first = r0 * strides[0] - pads[0];
        const int64_t ih0 = std::clamp<int64_t>(first, 0, H);
        const int64_t ih1 = std::clamp<int64_t>(first + in_rows(rn), 0, H);
        pl.tiles.push_back(pool_tile(j, p, 1, r0, rn, ih0, ih1 - ih0));
      }
    ls.tiling = fmt::format("{} tiles of up to {} output rows of one {}x{} plane (plane larger than a quarter of SRAM)", j,
                            rows, H, W);
  }
  ls.in_bytes = X.bytes(), ls.out_bytes = Y.bytes();
  ls.compute_cycles = double(shape_numel(Y.shape) * k[0] * k[1]) / cfg_.vector.lanes;
  em_.emit_pipeline(pl);
  return true;
}

// Row-wise layers over the innermost L elements: GlobalAverage/MaxPool, Reduce* over
// trailing axes, Softmax over the last axis.
bool Compiler::lower_rows(const Layer& L, LayerStats& ls) {
  const ir::Node& n = L.node;
  const Storage& X = st(n.inputs[0]);
  const Storage& Y = st(L.output);
  int64_t rows = shape_numel(Y.shape), len = 0;
  Fn fn = Fn::Mean;
  bool softmax = L.kind == Kind::Softmax;
  if (softmax) {
    len = X.shape.back();
    rows = shape_numel(X.shape) / std::max<int64_t>(len, 1);
  } else {
    len = shape_numel(X.shape) / std::max<int64_t>(rows, 1);
    const std::string& op = n.op_type;
    fn = op == "GlobalMaxPool" || op == "ReduceMax" ? Fn::RMax : op == "ReduceSum" ? Fn::Sum : op == "ReduceMin" ? Fn::RMin : Fn::Mean;
  }
  if (len >= (1 << 24) || len < 1) return false;
  const uint64_t slot = (sram_top_ / 4) / 64 * 64;
  int64_t rp = int64_t((slot - 64) / (4 * uint64_t(len + 1)));
  rp = std::min<int64_t>({rp, rows, (1 << 24) - 1, std::max<int64_t>(1, ceil_div(rows, 4))});
  if (rp < 1)
    fail(ErrorKind::Capacity, "layer '{}' ({}): one row of {} elements needs {} bytes of SRAM per buffer, the card has {}",
         n.name, n.op_type, len, uint64_t(len + 1) * 4, slot);
  uint64_t slot_in[2] = {0, slot}, slot_out[2] = {2 * slot, 3 * slot};
  use_sram(4 * slot, n.name);
  Pipeline pl;
  size_t j = 0;
  for (int64_t r0 = 0; r0 < rows; r0 += rp, ++j) {
    int64_t rn = std::min(rp, rows - r0);
    Tile t;
    Step s;
    Operand a = dram_op(X, r0 * len);
    a.s = {1, len, 0, 0};
    Operand x = sram_op(slot_in[j % 2], DType::F32, {1, len, 0, 0});
    s.loads.push_back(dma_copy(x, a, {len, rn, 1, 1}));
    uint64_t out_elems = softmax ? uint64_t(rn * len) : uint64_t(rn);
    Operand out = sram_op(slot_out[j % 2], DType::F32, softmax ? Dims{1, len, 0, 0} : Dims{0, 1, 0, 0});
    if (softmax) {
      Operand tmp = sram_op(slot_out[j % 2] + align_up(out_elems * 4), DType::F32, {0, 1, 0, 0});
      Operand tb = tmp;  // broadcast along the row
      t.vpu.push_back(vpu_reduce(Fn::RMax, tmp, x, {len, rn, 1, 1}));
      t.vpu.push_back(vpu_binary(Fn::Sub, x, x, tb, {len, rn, 1, 1}));
      t.vpu.push_back(vpu_unary(Fn::Exp, x, x, {len, rn, 1, 1}));
      t.vpu.push_back(vpu_reduce(Fn::Sum, tmp, x, {len, rn, 1, 1}));
      t.vpu.push_back(vpu_binary(Fn::Div, out, x, tb, {len, rn, 1, 1}));
    } else {
      t.vpu.push_back(vpu_reduce(fn, out, x, {len, rn, 1, 1}));
    }
    Operand sd = dram_op(Y, softmax ? r0 * len : r0);
    sd.s = {1, 0, 0, 0};
    t.stores.push_back(dma_copy(sd, sram_op(slot_out[j % 2], DType::F32), {int64_t(out_elems), 1, 1, 1}));
    t.steps.push_back(std::move(s));
    pl.tiles.push_back(std::move(t));
  }
  ls.in_bytes = X.bytes(), ls.out_bytes = Y.bytes();
  ls.compute_cycles = double(shape_numel(X.shape)) * (softmax ? 5 : 1) / cfg_.vector.lanes;
  ls.tiling = fmt::format("{} tiles of {} rows x {}", j, rp, len);
  em_.emit_pipeline(pl);
  return true;
}

// ---------------------------------------------------------------------------------------
// Data movement: one strided DRAM -> DRAM dma.copy per operand (conversion included).
namespace {
bool to_dims(const Iter& it, size_t op, Dims& n, Dims& s) {
  if (it.n.size() > 4) return false;
  for (size_t d = 0; d < 4; ++d) {
    n[d] = d < it.n.size() ? it.n[d] : 1;
    s[d] = d < it.n.size() ? it.strides[op][d] : 0;
    if (n[d] >= (1 << 24)) return false;
  }
  return true;
}
}  // namespace

bool Compiler::lower_transpose(const Layer& L, LayerStats& ls) {
  const ir::Node& n = L.node;
  const Storage& X = st(n.inputs[0]);
  const Storage& Y = st(L.output);
  auto perm = n.attr_ints("perm");
  if (perm.empty())
    for (size_t i = X.shape.size(); i-- > 0;) perm.push_back(int64_t(i));
  if (perm.size() != X.shape.size()) return false;
  auto xs = strides_of(X.shape);
  std::vector<int64_t> as(perm.size());
  for (size_t k = 0; k < perm.size(); ++k) as[k] = xs[size_t(perm[k])];
  Iter it = merge_dims(Y.shape, {strides_of(Y.shape), as});
  Dims nn, ds, sa;
  if (!to_dims(it, 0, nn, ds) || !to_dims(it, 1, nn, sa)) return false;
  Operand d = dram_op(Y), a = dram_op(X);
  d.s = ds, a.s = sa;
  em_.emit_spread({dma_copy(d, a, nn)});
  ls.in_bytes = X.bytes(), ls.out_bytes = Y.bytes();
  ls.tiling = fmt::format("one strided DRAM->DRAM copy, {}x{}x{}x{}", nn[3], nn[2], nn[1], nn[0]);
  return true;
}

bool Compiler::lower_concat(const Layer& L, LayerStats& ls) {
  const ir::Node& n = L.node;
  const Storage& Y = st(L.output);
  int64_t r = int64_t(Y.shape.size());
  int64_t axis = n.attr_i("axis", 0);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) return false;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= Y.shape[size_t(d)];
  for (int64_t d = axis + 1; d < r; ++d) inner *= Y.shape[size_t(d)];
  int64_t off = 0;
  std::vector<Instr> copies;
  for (auto& in : n.inputs) {
    const Storage& X = st(in);
    int64_t mid = X.shape[size_t(axis)];
    if (mid * inner >= (1 << 24) || outer >= (1 << 24)) return false;
    if (mid > 0) {
      Operand d = dram_op(Y, off * inner), a = dram_op(X);
      d.s = {1, Y.shape[size_t(axis)] * inner, 0, 0}, a.s = {1, mid * inner, 0, 0};
      copies.push_back(dma_copy(d, a, {mid * inner, outer, 1, 1}));
      ls.in_bytes += X.bytes();
    }
    off += mid;
  }
  em_.emit_spread(copies);
  ls.out_bytes = Y.bytes();
  ls.tiling = fmt::format("{} DRAM->DRAM copies into the output slices", copies.size());
  return true;
}

bool Compiler::lower_slice(const Layer& L, LayerStats& ls) {
  const ir::Node& n = L.node;
  const Storage& X = st(n.inputs[0]);
  const Storage& Y = st(L.output);
  size_t r = X.shape.size();
  auto ints = [&](size_t i) {
    std::vector<int64_t> v;
    if (i < n.inputs.size() && !n.inputs[i].empty()) v = g_.value(n.inputs[i]).constant->to_int64s();
    return v;
  };
  std::vector<int64_t> starts, ends, axes, steps;
  if (n.opset < 10) starts = n.attr_ints("starts"), ends = n.attr_ints("ends"), axes = n.attr_ints("axes");
  else starts = ints(1), ends = ints(2), axes = ints(3), steps = ints(4);
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(int64_t(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  std::vector<int64_t> begin(r, 0), step(r, 1);
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t ax = axes[i] < 0 ? axes[i] + int64_t(r) : axes[i];
    if (ax < 0 || ax >= int64_t(r) || steps[i] <= 0) return false;
    int64_t dim = X.shape[size_t(ax)];
    int64_t s = starts[i] < 0 ? starts[i] + dim : starts[i];
    begin[size_t(ax)] = std::clamp<int64_t>(s, 0, dim);
    step[size_t(ax)] = steps[i];
  }
  auto xs = strides_of(X.shape);
  std::vector<int64_t> as(r);
  int64_t src = 0;
  for (size_t d = 0; d < r; ++d) as[d] = xs[d] * step[d], src += begin[d] * xs[d];
  if (shape_numel(Y.shape) == 0) return true;
  Iter it = merge_dims(Y.shape, {strides_of(Y.shape), as});
  Dims nn, ds, sa;
  if (!to_dims(it, 0, nn, ds) || !to_dims(it, 1, nn, sa)) return false;
  Operand d = dram_op(Y), a = dram_op(X, src);
  d.s = ds, a.s = sa;
  em_.emit_spread({dma_copy(d, a, nn)});
  ls.in_bytes = Y.bytes(), ls.out_bytes = Y.bytes();
  ls.tiling = "one strided DRAM->DRAM copy";
  return true;
}

bool Compiler::lower_pad(const Layer& L, LayerStats& ls) {
  const ir::Node& n = L.node;
  const Storage& X = st(n.inputs[0]);
  const Storage& Y = st(L.output);
  size_t r = X.shape.size();
  std::vector<int64_t> pads = n.opset < 11 ? n.attr_ints("pads") : g_.value(n.inputs[1]).constant->to_int64s();
  float value = n.opset < 11 ? n.attr_f("value", 0.f) : 0.f;
  if (n.opset >= 11 && n.inputs.size() > 2 && !n.inputs[2].empty()) value = float(g_.value(n.inputs[2]).constant->get(0));
  if (n.inputs.size() > 3 && !n.inputs[3].empty()) return false;  // axes input
  if (pads.size() != 2 * r) return false;
  for (auto p : pads) if (p < 0) return false;
  // Fill the whole output, then copy the input into the interior (same queue: in order).
  auto ys = strides_of(Y.shape);
  int64_t total = shape_numel(Y.shape);
  Operand fd = dram_op(Y);
  int64_t chunk = 1 << 20;
  fd.s = {1, chunk, 0, 0};
  if (total / chunk) em_.emit(em_.load_queue(), dma_fill(fd, {chunk, total / chunk, 1, 1}, value));
  if (total % chunk) {
    Operand ft = dram_op(Y, total / chunk * chunk);
    ft.s = {1, 0, 0, 0};
    em_.emit(em_.load_queue(), dma_fill(ft, {total % chunk, 1, 1, 1}, value));
  }
  int64_t dst = 0;
  for (size_t d = 0; d < r; ++d) dst += pads[d] * ys[d];
  Iter it = merge_dims(X.shape, {strides_of(X.shape), ys});
  Dims nn, sa, ds;
  if (!to_dims(it, 0, nn, sa) || !to_dims(it, 1, nn, ds)) return false;
  Operand d = dram_op(Y, dst), a = dram_op(X);
  d.s = ds, a.s = sa;
  if (shape_numel(X.shape) > 0) em_.emit(em_.load_queue(), dma_copy(d, a, nn));
  ls.in_bytes = X.bytes(), ls.out_bytes = Y.bytes();
  ls.tiling = "dma.fill + one strided DRAM->DRAM copy";
  return true;
}

// QuantizeLinear / DequantizeLinear (per tensor): one converting DRAM -> DRAM copy; the
// ISA's read/write rules are exactly ONNX's (round half to even, saturate).
bool Compiler::lower_qdq(const Layer& L, LayerStats& ls) {
  const ir::Node& n = L.node;
  float scale;
  int32_t zp;
  DType qt;
  if (!qdq_node_params(g_, n, scale, zp, qt)) return false;
  Storage src = st(n.inputs[0]), dst = st(L.output);
  if (n.op_type == "QuantizeLinear") dst.scale = scale, dst.zp = zp;
  else src.scale = scale, src.zp = zp;
  copy_flat(dst, src);
  ls.in_bytes = src.bytes(), ls.out_bytes = dst.bytes();
  ls.tiling = fmt::format("converting DRAM->DRAM copy (scale {}, zero point {})", scale, zp);
  return true;
}

// Gather with constant indices: one strided copy per index. Split: one per output.
bool Compiler::lower_gather_split(const Layer& L, LayerStats& ls) {
  const ir::Node& n = L.node;
  const Storage& X = st(n.inputs[0]);
  int64_t r = int64_t(X.shape.size());
  int64_t axis = n.attr_i("axis", 0);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) return false;
  int64_t outer = 1, inner = 1, dim = X.shape[size_t(axis)];
  for (int64_t d = 0; d < axis; ++d) outer *= X.shape[size_t(d)];
  for (int64_t d = axis + 1; d < r; ++d) inner *= X.shape[size_t(d)];
  if (inner >= (1 << 24) || outer >= (1 << 24)) return false;
  std::vector<Instr> copies;
  auto copy = [&](const Storage& Y, int64_t y_rows, int64_t y_off, int64_t x_off, int64_t rows) {
    Operand d = dram_op(Y, y_off * inner), a = dram_op(X, x_off * inner);
    d.s = {1, y_rows * inner, 0, 0}, a.s = {1, dim * inner, 0, 0};
    if (rows * inner >= (1 << 24)) return false;
    copies.push_back(dma_copy(d, a, {rows * inner, outer, 1, 1}));
    return true;
  };
  if (L.kind == Kind::Gather) {
    const Storage& Y = st(L.output);
    auto idx = g_.value(n.inputs[1]).constant->to_int64s();
    int64_t m = int64_t(idx.size());
    for (int64_t j = 0; j < m; ++j) {
      int64_t v = idx[size_t(j)] < 0 ? idx[size_t(j)] + dim : idx[size_t(j)];
      if (v < 0 || v >= dim) fail(ErrorKind::Format, "node '{}' (Gather): index {} out of range for dimension {}", n.name, idx[size_t(j)], dim);
      if (!copy(Y, m, j, v, 1)) return false;
    }
    ls.out_bytes = Y.bytes();
  } else {
    int64_t off = 0;
    for (auto& o : n.outputs) {
      const Storage& Y = st(o);
      int64_t len = Y.shape[size_t(axis)];
      if (len > 0 && !copy(Y, len, 0, off, len)) return false;
      off += len;
      ls.out_bytes += Y.bytes();
    }
  }
  em_.emit_spread(copies);
  ls.in_bytes = ls.out_bytes;
  ls.tiling = fmt::format("{} strided DRAM->DRAM copies", copies.size());
  return true;
}

// ---------------------------------------------------------------------------------------
// Host operations: operands cross PCIe; non-f32 activations get f32 staging copies.
void Compiler::lower_host(const Layer& L, LayerStats& ls) {
  const ir::Node& n = L.node;
  isa::HostOp h;
  h.op_type = n.op_type;
  h.opset = n.opset;
  ir::Node trimmed = n;  // trailing omitted optional inputs are simply absent
  while (!trimmed.inputs.empty() && trimmed.inputs.back().empty()) trimmed.inputs.pop_back();
  h.node = serialize_node(trimmed);
  std::vector<std::pair<Storage, Storage>> after;  // (final storage, f32 staging)
  for (auto& in : trimmed.inputs) {
    if (in.empty()) {  // omitted optional input in the middle: dtype Undefined
      h.inputs.push_back({DType::Undefined, {}, 0});
      continue;
    }
    const ir::Value& v = g_.value(in);
    Storage s = st(in);
    if (s.dtype != v.dtype) {
      Storage tmp;
      tmp.dtype = v.dtype, tmp.shape = s.shape;
      tmp.addr = act_alloc(tmp.bytes(), cur_layer_);
      copy_flat(tmp, s, false);
      s = tmp;
    }
    h.inputs.push_back({s.dtype, s.shape, s.addr});
    ls.in_bytes += s.bytes();
  }
  for (auto& out : n.outputs) {
    if (out.empty()) {
      h.outputs.push_back({DType::Undefined, {}, 0});
      continue;
    }
    const ir::Value& v = g_.value(out);
    if (!store_.count(out)) store_[out] = make_storage(out);
    Storage s = store_[out];
    if (s.dtype != v.dtype) {
      Storage tmp;
      tmp.dtype = v.dtype, tmp.shape = s.shape;
      tmp.addr = act_alloc(tmp.bytes(), cur_layer_);
      after.push_back({s, tmp});
      s = tmp;
    }
    h.outputs.push_back({s.dtype, s.shape, s.addr});
    ls.out_bytes += s.bytes();
  }
  Instr call;
  call.op = Opcode::HostCall;
  call.id = P_.host_ops.size();
  P_.host_ops.push_back(std::move(h));
  em_.emit(em_.load_queue(), call);
  for (auto& [fin, tmp] : after) copy_flat(fin, tmp, false);
  ls.tiling = "host operation (operands over PCIe)";
}

void Compiler::lower(const Layer& L) {
  const ir::Node& n = L.node;
  LayerStats ls;
  em_.set_layer(int(P_.layers.size()));
  isa::LayerInfo info;
  info.name = n.name;
  info.op = n.op_type;
  if (!L.fused.empty()) {
    for (auto& f : L.fused) {
      for (auto& m : g_.nodes)
        if (m.name == f) info.op += "+" + m.op_type;
    }
  }
  info.macs = layer_macs(n);
  info.placement = "card";
  // Mixed precision shows in the layer tables: "[i16]" = this layer writes int16.
  if (int8_ && L.kind != Kind::Alias && mixed_.is_wide(L.output)) info.op += " [i16]";
  if (L.kind == Kind::Alias) {
    const Storage& X = st(n.inputs[0]);
    Storage y = X;
    y.shape = g_.value(n.outputs[0]).shape;
    store_[n.outputs[0]] = y;
    extend_life(y.addr, last_use(n.outputs[0]));
    ls.tiling = "alias of the input buffer (no data moved)";
    P_.layers.push_back(info);
    if (want_explain_)
      explain_ += fmt::format("[{:3}] {}  ({}, alias)\n      tiling: {}\n", P_.layers.size() - 1, info.name, info.op, ls.tiling);
    return;
  }
  bool done = false;
  if (L.kind != Kind::Host) {
    if (!store_.count(L.output)) {
      store_[L.output] = make_storage(L.output);
      auto a = arena_.find(L.output);
      if (a != arena_.end()) {
        Storage& y = store_[L.output];
        y.in_sram = true, y.sram_addr = a->second.addr;
      }
    }
    if (L.kind == Kind::Split)
      for (auto& o : n.outputs)
        if (!store_.count(o)) store_[o] = make_storage(o);
    switch (L.kind) {
      case Kind::Conv: done = lower_conv(L, ls); break;
      case Kind::MatMul: done = lower_matmul(L, ls); break;
      case Kind::Elementwise: done = lower_elementwise(L, ls); break;
      case Kind::Pool: done = lower_pool(L, ls); break;
      case Kind::GlobalPool:
      case Kind::ReduceLast:
      case Kind::Softmax: done = lower_rows(L, ls); break;
      case Kind::Transpose: done = lower_transpose(L, ls); break;
      case Kind::Concat: done = lower_concat(L, ls); break;
      case Kind::Slice: done = lower_slice(L, ls); break;
      case Kind::Pad: done = lower_pad(L, ls); break;
      case Kind::QuantDequant: done = lower_qdq(L, ls); break;
      case Kind::Gather:
      case Kind::Split: done = lower_gather_split(L, ls); break;
      default: break;
    }
  }
  // Every arena region live during this layer is SRAM it uses (no prefetch lands there).
  for (auto& [v, r] : arena_)
    if (r.first <= size_t(cur_layer_) && size_t(cur_layer_) <= r.last) use_sram_range(r.addr, r.addr + r.bytes, n.name);
  if (!done) {
    // Host fallback: the primary node and then every node fused into it. The host reads and
    // writes DRAM: an on-chip input is copied out first, the output goes to DRAM.
    auto out = store_.find(L.output);
    if (out != store_.end()) out->second.in_sram = false;
    for (auto& in : n.inputs) {
      auto it = store_.find(in);
      if (it == store_.end() || !it->second.in_sram) continue;
      Storage dram = it->second;
      dram.in_sram = false;
      copy_flat(dram, it->second, false);
      it->second = dram;
    }
    info.placement = "host";
    Layer h;
    h.node = n;
    lower_host(h, ls);
    for (auto& f : L.fused)
      for (auto& m : g_.nodes)
        if (m.name == f) {
          Layer hf;
          hf.node = m;
          lower_host(hf, ls);
        }
  }
  // How long the layer runs and how much of that its own DRAM traffic leaves the DRAM idle
  // (compiler estimates): a prefetch stream it hosts fills the idle time first.
  const double own_cycles = double(em_.layer_dram_bytes()) / dram_bytes_per_cycle();
  const double est = std::max(ls.compute_cycles, own_cycles), idle = std::max(0.0, ls.compute_cycles - own_cycles);
  close_layer(done, est, idle);  // a host fallback hosts no prefetch
  P_.layers.push_back(info);
  if (want_explain_) {
    double pcie_bytes_per_cycle = (info.placement == "host") ? 25.0 / cfg_.clock_ghz : 0;
    std::string bound;
    if (info.placement == "host") {
      bound = fmt::format("PCIe, ~{} cycles for {} both ways (+ host compute)",
                          human_count(double(ls.in_bytes + ls.out_bytes) / pcie_bytes_per_cycle),
                          human_bytes(double(ls.in_bytes + ls.out_bytes)));
    } else {
      double dram = ls.dram_cycles > 0 ? ls.dram_cycles : double(ls.in_bytes + ls.w_bytes + ls.out_bytes) / dram_bytes_per_cycle();
      bound = ls.compute_cycles >= dram
                  ? fmt::format("compute, ~{} cycles (DRAM ~{})", human_count(ls.compute_cycles), human_count(dram))
                  : fmt::format("DRAM, ~{} cycles (compute ~{})", human_count(dram), human_count(ls.compute_cycles));
    }
    explain_ += fmt::format("[{:3}] {}  ({}, {})\n      tiling: {}\n      moved:  in {}, weights {}, out {}; {} MACs\n"
                            "      bound:  {}\n",
                            P_.layers.size() - 1, info.name, info.op, info.placement, ls.tiling,
                            human_bytes(double(ls.in_bytes)), human_bytes(double(ls.w_bytes)),
                            human_bytes(double(ls.out_bytes)), human_count(double(info.macs)), bound);
  }
}

void Compiler::plan_on_chip() {
  const uint64_t sram = cfg_.sram.size_bytes / 64 * 64;
  // Each layer keeps at least half of SRAM for its own working set (tile slots, parameter
  // block, the next layer's prefetched block); arena regions live at that layer lie above it.
  const uint64_t floor = (sram / 2) / 64 * 64;
  std::map<std::string, std::set<size_t>> readers;
  std::map<std::string, const ir::Node*> by_name;
  for (auto& m : g_.nodes) by_name[m.name] = &m;
  for (size_t li = 0; li < layers_.size(); ++li) {
    for (auto& in : layers_[li].node.inputs) readers[in].insert(li);
    for (auto& f : layers_[li].fused)
      for (auto& in : by_name.at(f)->inputs) readers[in].insert(li);
  }
  std::set<std::string> outputs(g_.outputs.begin(), g_.outputs.end()), inputs(g_.inputs.begin(), g_.inputs.end());
  std::vector<const ArenaRegion*> placed;  // in placement order (deterministic)
  // Candidates in order: network inputs the card converts (the conversion copies DRAM -> SRAM
  // before layer 0; live from layer 0), then layer outputs in layer order.
  std::vector<std::pair<std::string, size_t>> values;  // value, first layer it is live in
  if (act_ != DType::F32)
    for (auto& in : g_.inputs)
      if (g_.value(in).dtype == DType::F32 && !outputs.count(in)) values.push_back({in, 0});
  for (size_t li = 0; li < layers_.size(); ++li) {
    const Layer& L = layers_[li];
    const bool producer = L.kind == Kind::Conv || L.kind == Kind::MatMul || L.kind == Kind::Elementwise || L.kind == Kind::Pool;
    if (!producer || outputs.count(L.output) || inputs.count(L.output) || g_.value(L.output).dtype != DType::F32) continue;
    values.push_back({L.output, li});
  }
  for (auto& [v, li] : values) {
    if (arena_.count(v)) continue;
    auto r = readers.find(v);
    const bool input = inputs.count(v) > 0;
    if (r == readers.end() || r->second.empty() || (!input && *r->second.begin() <= li)) continue;
    bool card_readers = true;  // the host, aliases and splits read DRAM
    for (size_t k : r->second) {
      const Kind c = layers_[k].kind;
      card_readers = card_readers && c != Kind::Alias && c != Kind::Host && c != Kind::Split;
    }
    if (!card_readers) continue;
    const DType t = int8_ && mixed_.is_wide(v) ? DType::I16 : act_;  // as make_storage
    ArenaRegion cand;
    cand.bytes = align_up(uint64_t(shape_numel(g_.value(v).shape)) * dtype_size(t));
    cand.first = li, cand.last = *r->second.rbegin();
    if (cand.bytes > sram - floor) continue;
    // Top-down first-fit: try ending at the SRAM top, then just below each region whose live
    // range overlaps; the highest address that overlaps none of them wins.
    std::vector<const ArenaRegion*> live;
    for (auto* p : placed)
      if (p->first <= cand.last && cand.first <= p->last) live.push_back(p);
    std::vector<uint64_t> ends{sram};
    for (auto* p : live) ends.push_back(p->addr);
    std::sort(ends.rbegin(), ends.rend());
    bool ok = false;
    for (uint64_t end : ends) {
      if (end < floor + cand.bytes) break;
      const uint64_t a = (end - cand.bytes) / 64 * 64;
      bool clash = false;
      for (auto* p : live) clash = clash || (a < p->addr + p->bytes && p->addr < a + cand.bytes);
      if (!clash) {
        cand.addr = a, ok = true;
        break;
      }
    }
    if (!ok) continue;  // does not fit during its live range: the value goes to DRAM
    placed.push_back(&(arena_[v] = cand));
  }
  layer_top_.assign(layers_.size(), sram);
  for (auto& [v, r] : arena_) {
    for (size_t k = r.first; k <= r.last; ++k) layer_top_[k] = std::min(layer_top_[k], r.addr);
    arena_peak_ = std::max(arena_peak_, sram - r.addr);
  }
}

isa::Program Compiler::run(std::string* explain) {
  const std::string& p = opt_.precision;
  if (p == "fp32") act_ = DType::F32;
  else if (p == "fp16") act_ = DType::F16;
  else if (p == "bf16") act_ = DType::BF16;
  else if (p == "int8") act_ = DType::I8, int8_ = true;
  else fail(ErrorKind::Unsupported, "precision '{}': expected int8, fp16, bf16 or fp32", p);
  std::string dt_name(dtype_name(act_));
  bool allowed = false;
  for (auto& d : cfg_.matrix.dtypes) allowed = allowed || d == dt_name || (act_ == DType::I8 && d == "u8");
  if (!allowed)
    fail(ErrorKind::Unsupported, "precision '{}': card '{}' matrix unit supports only {}", p, cfg_.name,
         fmt::format("{}", fmt::join(cfg_.matrix.dtypes, ", ")));

  layers_ = run_passes(g_);
  if (int8_) {
    std::string warning;
    ranges_ = calibrate(g_, opt_.calibrate_dir, &warning);
    forced_ = qdq_params(g_);
    if (!warning.empty()) {
      fmt::print(stderr, "{}\n", warning);
      explain_ += warning + "\n";
    }
    // Mixed precision needs a matrix unit that lists i16; without it: pure int8, with a warning.
    mixed_ = choose_mixed_precision(g_, layers_, opt_.int8_mixed);
    if (!mixed_.wide.empty() && effective_int8_mixed(cfg_, opt_.int8_mixed) == "off") {
      std::string w = fmt::format("warning: --int8-mixed {}: card '{}' matrix unit has no i16 (matrix.dtypes: {}); "
                                  "compiling pure int8",
                                  opt_.int8_mixed, cfg_.name, fmt::join(cfg_.matrix.dtypes, ", "));
      fmt::print(stderr, "{}\n", w);
      explain_ += w + "\n";
      mixed_ = {};
    }
    if (!mixed_.wide.empty()) explain_ += fmt::format("int8 mixed precision: {} values held as int16\n", mixed_.wide.size());
  }
  plan_storage();
  uint64_t act_start = dram_top_;
  {
    std::map<std::string, const ir::Node*> by_name;
    for (auto& m : g_.nodes) by_name[m.name] = &m;
    for (size_t li = 0; li < layers_.size(); ++li) {
      auto note = [&](const ir::Node& m) {
        for (auto& in : m.inputs)
          if (!in.empty()) last_use_[in] = int(li);
      };
      note(layers_[li].node);
      for (auto& f : layers_[li].fused) note(*by_name.at(f));
    }
    for (auto& o : g_.outputs) last_use_[o] = INT32_MAX;
  }
  plan_on_chip();
  // Network inputs: converted to the activation encoding by a first DMA copy when needed.
  for (auto& name : g_.inputs) {
    const Storage& b = binding_[name];
    const ir::Value& v = g_.value(name);
    if (v.dtype != DType::F32 || act_ == DType::F32) {
      store_[name] = b;
      continue;
    }
    em_.set_layer(int(P_.layers.size()));
    set_layer_top(-1);
    store_[name] = make_storage(name);
    auto a = arena_.find(name);
    if (a != arena_.end()) {
      store_[name].in_sram = true, store_[name].sram_addr = a->second.addr;
      use_sram_range(a->second.addr, a->second.addr + a->second.bytes, "input:" + name);
    }
    copy_flat(store_[name], b);
    // The first matrix layer's weights may stream while the input converts (its SRAM, the
    // arena region if any, is recorded above); a DRAM-bound copy leaves no idle time.
    close_layer(true, double(em_.layer_dram_bytes()) / dram_bytes_per_cycle(), 0);
    P_.layers.push_back({"input:" + name, int8_ ? "QuantizeInput" : "ConvertInput", 0, "card"});
    if (want_explain_)
      explain_ += fmt::format("[{:3}] input:{}  ({}, card)\n      tiling: flat DMA copy f32 -> {}, {}\n", P_.layers.size() - 1,
                              name, P_.layers.back().op, dtype_name(store_[name].dtype), human_bytes(double(b.bytes())));
  }
  for (size_t li = 0; li < layers_.size(); ++li) {
    cur_layer_ = int(li);
    set_layer_top(int(li));
    lower(layers_[li]);
    free_dead(int(li));
  }
  cur_layer_ = INT32_MAX;
  set_layer_top(-1);
  for (auto& name : g_.outputs) {
    const Storage& b = binding_[name];
    const Storage& s = st(name);
    if (s.addr == b.addr && s.dtype == b.dtype) continue;
    em_.set_layer(int(P_.layers.size()));
    static const std::set<DType> dma_types{DType::I8, DType::U8, DType::I32, DType::F32, DType::F16, DType::BF16};
    if (dma_types.count(s.dtype) && dma_types.count(b.dtype)) {
      copy_flat(b, s);
      P_.layers.push_back({"output:" + name, s.dtype == b.dtype ? "CopyOutput" : "ConvertOutput", 0, "card"});
      if (want_explain_)
        explain_ += fmt::format("[{:3}] output:{}  ({}, card)\n      tiling: flat DMA copy {} -> {}, {}\n",
                                P_.layers.size() - 1, name, P_.layers.back().op, dtype_name(s.dtype), dtype_name(b.dtype),
                                human_bytes(double(b.bytes())));
    } else {  // e.g. an i64 constant output: the host copies it
      isa::HostOp h;
      ir::Node id;
      id.name = "output:" + name;
      id.op_type = "Identity";
      id.inputs = {name};
      id.outputs = {name};
      h.op_type = "Identity";
      h.node = serialize_node(id);
      h.inputs.push_back({s.dtype, s.shape, s.addr});
      h.outputs.push_back({b.dtype, b.shape, b.addr});
      Instr call;
      call.op = Opcode::HostCall;
      call.id = P_.host_ops.size();
      P_.host_ops.push_back(std::move(h));
      em_.emit(em_.load_queue(), call);
      P_.layers.push_back({"output:" + name, "CopyOutput", 0, "host"});
      if (want_explain_)
        explain_ += fmt::format("[{:3}] output:{}  (CopyOutput, host)\n      tiling: host copy {} -> {}, {}\n",
                                P_.layers.size() - 1, name, dtype_name(s.dtype), dtype_name(b.dtype), human_bytes(double(b.bytes())));
    }
    close_layer(false);
  }
  em_.finish();

  // Relocate constants after the last activation.
  P_.constants_addr = align_up(dram_top_, 4096);
  auto reloc = [&](int64_t& a) {
    if (uint64_t(a) != isa::kNoAddr && (uint64_t(a) & kConstTag)) a = int64_t(P_.constants_addr + (uint64_t(a) & ~kConstTag));
  };
  for (auto& q : P_.queues)
    for (auto& in : q) {
      if (in.d_space == int64_t(Space::Dram)) reloc(in.d_addr);
      if (in.a_space == int64_t(Space::Dram)) reloc(in.a_addr);
      if (in.b_space == int64_t(Space::Dram)) reloc(in.b_addr);
      if (in.c_space == int64_t(Space::Dram)) reloc(in.c_addr);
    }
  for (auto& h : P_.host_ops) {
    for (auto& r : h.inputs)
      if (r.dram_addr & kConstTag) r.dram_addr = P_.constants_addr + (r.dram_addr & ~kConstTag);
  }
  P_.constants = std::move(consts_);
  for (auto& name : g_.inputs) {
    const Storage& b = binding_[name];
    P_.inputs.push_back({name, b.dtype, b.shape, b.addr, 0, 0});
  }
  for (auto& name : g_.outputs) {
    const Storage& b = binding_[name];
    P_.outputs.push_back({name, b.dtype, b.shape, b.addr, 0, 0});
  }
  if (dram_top_ > act_start) P_.regions.push_back({"activations", Space::Dram, act_start, dram_top_ - act_start, true});
  if (!P_.constants.empty())
    P_.regions.push_back({"constants", Space::Dram, P_.constants_addr, align_up(P_.constants.size()), false});
  if (sram_peak_) P_.regions.push_back({"sram", Space::Sram, 0, sram_peak_, true});
  if (acc_peak_) P_.regions.push_back({"acc", Space::Acc, 0, acc_peak_, true});
  P_.dram_bytes = P_.constants_addr + align_up(P_.constants.size());
  P_.sram_bytes = sram_peak_;
  P_.acc_bytes = acc_peak_;
  P_.metadata["model_sha256"] = g_.source_sha256;
  P_.metadata["model_name"] = g_.name;
  P_.metadata["precision"] = opt_.precision;
  P_.metadata["options"] = fmt::format("precision={} batch={} calibrate={}", opt_.precision, opt_.batch,
                                       opt_.calibrate_dir.empty() ? "random" : opt_.calibrate_dir);
  if (int8_) P_.metadata["int8_mixed"] = fmt::format("{} ({} values int16)", opt_.int8_mixed, mixed_.wide.size());
  P_.metadata["cardsim_version"] = CARDSIM_VERSION;
  P_.metadata["card"] = cfg_.name;
  if (explain) {
    size_t n = 0, host = 0;
    for (auto& q : P_.queues) n += q.size();
    for (auto& l : P_.layers) host += l.placement == "host";
    *explain = fmt::format("{} on {} ({}): {} layers ({} on the host), {} instructions; constants {}, DRAM footprint {}, "
                           "SRAM peak {} of {}, ACC peak {} of {}; {} activations kept on chip (SRAM arena, peak {} below the top)\n"
                           "per layer: tiling and loop order (outermost first), bytes moved to/from DRAM, expected bound\n",
                           g_.name, cfg_.name, opt_.precision, P_.layers.size(), host, n, human_bytes(double(P_.constants.size())),
                           human_bytes(double(P_.dram_bytes)), human_bytes(double(sram_peak_)),
                           human_bytes(double(cfg_.sram.size_bytes)), human_bytes(double(acc_peak_)),
                           human_bytes(double(cfg_.accumulator.size_bytes)), arena_.size(),
                           human_bytes(double(arena_peak_))) +
               explain_;
  }
  return std::move(P_);
}

}  // namespace

std::string effective_int8_mixed(const CardConfig& cfg, const std::string& mode) {
  const auto& d = cfg.matrix.dtypes;
  return std::find(d.begin(), d.end(), "i16") == d.end() ? "off" : mode;
}

isa::Program compile(const ir::Graph& g, const CardConfig& cfg, const CompileOptions& opts, std::string* explain_text) {
  Compiler c(g, cfg, opts);
  c.want_explain_ = explain_text != nullptr;
  return c.run(opts.explain || explain_text ? explain_text : nullptr);
}

}  // namespace cardsim::backend
