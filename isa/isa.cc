// The one definition of the instruction set: field table (from CARDSIM_ISA_FIELDS) and
// opcode table. Everything else (encoder, assembler, spec tables) reads these.
#include "isa/isa.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "core/dtype.h"
#include "core/error.h"

namespace cardsim::isa {

namespace {

constexpr FieldInfo kFields[] = {
#define CARDSIM_FIELD_INFO(name, kind, bits, doc) {#name, FieldKind::kind, bits, doc},
    CARDSIM_ISA_FIELDS(CARDSIM_FIELD_INFO)
#undef CARDSIM_FIELD_INFO
};
static_assert(sizeof(kFields) / sizeof(kFields[0]) == kNumFields);

using F = FieldId;

// Operand descriptors, spelled once.
#define CARDSIM_OPERAND(X) \
  F::X##_space, F::X##_addr, F::X##_type, F::X##_s0, F::X##_s1, F::X##_s2, F::X##_s3, F::X##_scale, F::X##_zp
#define CARDSIM_EXTENTS F::n0, F::n1, F::n2, F::n3

const std::vector<OpcodeInfo>& opcode_table() {
  static const std::vector<OpcodeInfo> table = {
      {Opcode::Nop, "nop", Engine::Any, {}, "do nothing (still honours wait/signal)"},
      {Opcode::End, "end", Engine::Any, {}, "end of this queue's stream"},
      {Opcode::SemWait, "sem.wait", Engine::Any, {F::sem, F::count},
       "wait until semaphore `sem` >= count, then subtract count"},
      {Opcode::SemSignal, "sem.signal", Engine::Any, {F::sem, F::count}, "add count to semaphore `sem`"},
      {Opcode::Barrier, "barrier", Engine::Any, {F::id}, "all unfinished queues meet at barrier `id`"},
      {Opcode::Irq, "irq", Engine::Any, {F::id}, "raise host interrupt `id`"},
      {Opcode::HostCall, "host.call", Engine::Any, {F::id},
       "run host operation `id` on the host model; the queue waits for completion"},
      {Opcode::DmaCopy, "dma.copy", Engine::Dma, {CARDSIM_EXTENTS, CARDSIM_OPERAND(d), CARDSIM_OPERAND(a), F::cbytes},
       "strided 4-D copy with cast / (de)quantization"},
      {Opcode::DmaFill, "dma.fill", Engine::Dma, {CARDSIM_EXTENTS, CARDSIM_OPERAND(d), F::alpha},
       "fill a strided 4-D region with alpha"},
      {Opcode::MxuConv, "mxu.conv", Engine::Mxu,
       {F::df, F::acc, F::dtype, F::in_c, F::in_h, F::in_w, F::out_h, F::out_w, F::out_c, F::k_h, F::k_w, F::st_h,
        F::st_w, F::dl_h, F::dl_w, F::pad_t, F::pad_l, CARDSIM_OPERAND(a), CARDSIM_OPERAND(b), F::d_space,
        F::d_addr, F::d_s0, F::d_s1, F::d_type},
       "tiled convolution / matmul into the accumulator"},
      {Opcode::VpuUnary, "vpu.unary", Engine::Vpu,
       {F::fn, F::alpha, F::beta, CARDSIM_EXTENTS, CARDSIM_OPERAND(d), CARDSIM_OPERAND(a)},
       "elementwise unary function"},
      {Opcode::VpuBinary, "vpu.binary", Engine::Vpu,
       {F::fn, CARDSIM_EXTENTS, CARDSIM_OPERAND(d), CARDSIM_OPERAND(a), CARDSIM_OPERAND(b)},
       "elementwise binary function, broadcasting by zero strides"},
      {Opcode::VpuRequant, "vpu.requant", Engine::Vpu,
       {F::fn, F::alpha, F::beta, CARDSIM_EXTENTS, CARDSIM_OPERAND(d), CARDSIM_OPERAND(a), F::b_space, F::b_addr,
        F::c_space, F::c_addr, F::c_dim, F::mult, F::shift},
       "accumulator -> activation: + per-channel bias, scale, zero point, clamp"},
      {Opcode::VpuReduce, "vpu.reduce", Engine::Vpu, {F::fn, CARDSIM_EXTENTS, CARDSIM_OPERAND(d), CARDSIM_OPERAND(a)},
       "reduce dimension 0"},
      {Opcode::VpuPool, "vpu.pool", Engine::Vpu,
       {F::fn, F::beta, CARDSIM_EXTENTS, F::in_h, F::in_w, F::k_h, F::k_w, F::st_h, F::st_w, F::dl_h, F::dl_w,
        F::pad_t, F::pad_l, F::pad_b, F::pad_r, CARDSIM_OPERAND(d), CARDSIM_OPERAND(a)},
       "2-D max / average pooling"},
  };
  return table;
}
#undef CARDSIM_OPERAND
#undef CARDSIM_EXTENTS

// Per opcode, a bit set of the fields it carries (for fast membership tests).
struct FieldMasks {
  uint64_t mask[kNumOpcodes][2] = {};
  FieldMasks() {
    for (const OpcodeInfo& oi : opcode_table()) {
      for (FieldId f : {F::wait, F::signal, F::layer}) set(oi.op, f);
      for (FieldId f : oi.fields) set(oi.op, f);
    }
  }
  void set(Opcode op, FieldId f) { mask[int(op)][int(f) / 64] |= uint64_t(1) << (int(f) % 64); }
  bool has(Opcode op, FieldId f) const { return (mask[int(op)][int(f) / 64] >> (int(f) % 64)) & 1; }
};
static_assert(kNumFields <= 128);

struct FnName {
  Fn fn;
  std::string_view name;
};
constexpr FnName kFnNames[] = {
    {Fn::Copy, "copy"}, {Fn::Relu, "relu"}, {Fn::LeakyRelu, "leaky_relu"}, {Fn::Clip, "clip"},
    {Fn::Sigmoid, "sigmoid"}, {Fn::HardSigmoid, "hard_sigmoid"}, {Fn::HardSwish, "hard_swish"},
    {Fn::Tanh, "tanh"}, {Fn::Erf, "erf"}, {Fn::Exp, "exp"}, {Fn::Log, "log"}, {Fn::Sqrt, "sqrt"},
    {Fn::Recip, "recip"}, {Fn::Neg, "neg"}, {Fn::Abs, "abs"}, {Fn::Gelu, "gelu"}, {Fn::Floor, "floor"},
    {Fn::Ceil, "ceil"}, {Fn::Round, "round"},
    {Fn::Add, "add"}, {Fn::Sub, "sub"}, {Fn::Mul, "mul"}, {Fn::Div, "div"}, {Fn::Max, "max"},
    {Fn::Min, "min"}, {Fn::Pow, "pow"}, {Fn::Equal, "equal"}, {Fn::Less, "less"}, {Fn::Greater, "greater"},
    {Fn::PRelu, "prelu"},
    {Fn::Sum, "sum"}, {Fn::Mean, "mean"}, {Fn::RMax, "rmax"}, {Fn::RMin, "rmin"}, {Fn::SumSq, "sumsq"},
    {Fn::MaxPool, "maxpool"}, {Fn::AvgPool, "avgpool"},
};

constexpr std::string_view kSpaceNames[] = {"host", "dram", "sram", "acc"};
constexpr std::string_view kDataflowNames[] = {"ws", "os", "is"};

}  // namespace

const FieldInfo& field_info(FieldId f) {
  if (int(f) >= kNumFields) fail(ErrorKind::Internal, "field id {} out of range", int(f));
  return kFields[int(f)];
}

const OpcodeInfo& opcode_info(Opcode op) {
  if (int(op) >= kNumOpcodes) fail(ErrorKind::Internal, "opcode {} out of range", int(op));
  const OpcodeInfo& oi = opcode_table()[int(op)];
  return oi;
}

const OpcodeInfo* opcode_by_mnemonic(std::string_view m) {
  for (const OpcodeInfo& oi : opcode_table())
    if (oi.mnemonic == m) return &oi;
  return nullptr;
}

bool opcode_has_field(Opcode op, FieldId f) {
  static const FieldMasks masks;
  if (int(op) >= kNumOpcodes || int(f) >= kNumFields) return false;
  return masks.has(op, f);
}

std::optional<FieldId> field_by_name(std::string_view n) {
  for (int i = 0; i < kNumFields; ++i)
    if (kFields[i].name == n) return FieldId(i);
  return std::nullopt;
}

std::string queue_name(int queue) {
  if (queue == kQueueMxu) return "mxu";
  if (queue == kQueueVpu) return "vpu";
  if (queue >= kQueueDma0) return fmt::format("dma{}", queue - kQueueDma0);
  return fmt::format("queue{}", queue);
}

std::optional<int> queue_from_name(std::string_view n) {
  if (n == "mxu") return kQueueMxu;
  if (n == "vpu") return kQueueVpu;
  if (n.size() > 3 && n.substr(0, 3) == "dma" && n.size() <= 6) {
    int c = 0;
    for (char ch : n.substr(3)) {
      if (ch < '0' || ch > '9') return std::nullopt;
      c = c * 10 + (ch - '0');
    }
    if (n.size() > 4 && n[3] == '0') return std::nullopt;  // one spelling per queue: dma0, not dma00
    return kQueueDma0 + c;
  }
  return std::nullopt;
}

std::string_view engine_name(Engine e) {
  switch (e) {
    case Engine::Mxu: return "mxu";
    case Engine::Vpu: return "vpu";
    case Engine::Dma: return "dma";
    case Engine::Any: return "any";
  }
  return "?";
}

bool engine_runs_on_queue(Engine e, int queue) {
  switch (e) {
    case Engine::Mxu: return queue == kQueueMxu;
    case Engine::Vpu: return queue == kQueueVpu;
    case Engine::Dma: return queue >= kQueueDma0;
    case Engine::Any: return queue >= 0;
  }
  return false;
}

std::string_view fn_name(Fn f) {
  for (const FnName& fnn : kFnNames)
    if (fnn.fn == f) return fnn.name;
  return "";
}

std::optional<Fn> fn_from_name(std::string_view n) {
  for (const FnName& fnn : kFnNames)
    if (fnn.name == n) return fnn.fn;
  return std::nullopt;
}

std::string_view space_name(Space s) { return int(s) < 4 ? kSpaceNames[int(s)] : ""; }
std::optional<Space> space_from_name(std::string_view n) {
  for (int i = 0; i < 4; ++i)
    if (kSpaceNames[i] == n) return Space(i);
  return std::nullopt;
}

std::string_view dataflow_name(Dataflow d) { return int(d) < 3 ? kDataflowNames[int(d)] : ""; }
std::optional<Dataflow> dataflow_from_name(std::string_view n) {
  for (int i = 0; i < 3; ++i)
    if (kDataflowNames[i] == n) return Dataflow(i);
  return std::nullopt;
}

EnumSet enum_set_of(FieldId f) {
  const FieldInfo& fi = field_info(f);
  if (fi.kind != FieldKind::E) return EnumSet::None;
  if (fi.name == "fn") return EnumSet::Fn;
  if (fi.name == "df") return EnumSet::Dataflow;
  if (fi.name.ends_with("type")) return EnumSet::DType;
  if (fi.name.ends_with("space")) return EnumSet::Space;
  fail(ErrorKind::Internal, "enumeration field '{}' has no value set", fi.name);
}

namespace {
std::vector<std::pair<int64_t, std::string_view>> make_enum_values(EnumSet s) {
  std::vector<std::pair<int64_t, std::string_view>> out;
  switch (s) {
    case EnumSet::None: break;
    case EnumSet::Space:
      for (int i = 0; i < 4; ++i) out.emplace_back(i, kSpaceNames[i]);
      break;
    case EnumSet::Dataflow:
      for (int i = 0; i < 3; ++i) out.emplace_back(i, kDataflowNames[i]);
      break;
    case EnumSet::Fn:
      for (const FnName& fnn : kFnNames) out.emplace_back(int64_t(fnn.fn), fnn.name);
      break;
    case EnumSet::DType:
      // Every type with a name, including 0 = undefined (an operand an instruction ignores).
      for (int i = 0; i < 32; ++i) {
        std::string_view n = dtype_name(DType(i));
        if (n != "undefined" || i == 0) out.emplace_back(i, n);
      }
      break;
  }
  return out;
}

const std::vector<std::pair<int64_t, std::string_view>>& cached_enum_values(EnumSet s) {
  static const std::vector<std::pair<int64_t, std::string_view>> tables[] = {
      {}, make_enum_values(EnumSet::Space), make_enum_values(EnumSet::DType), make_enum_values(EnumSet::Fn),
      make_enum_values(EnumSet::Dataflow)};
  return tables[int(s)];
}
}  // namespace

std::vector<std::pair<int64_t, std::string_view>> enum_values(EnumSet s) { return cached_enum_values(s); }

std::string_view enum_value_name(FieldId f, int64_t v) {
  EnumSet s = enum_set_of(f);
  if (v < 0 || v > 255) return "";
  switch (s) {
    case EnumSet::None: return "";
    case EnumSet::Space: return space_name(Space(v));
    case EnumSet::Dataflow: return dataflow_name(Dataflow(v));
    case EnumSet::Fn: return fn_name(Fn(v));
    case EnumSet::DType: {
      if (v >= 32) return "";
      std::string_view n = dtype_name(DType(v));
      return (n == "undefined" && v != 0) ? "" : n;
    }
  }
  return "";
}

std::optional<int64_t> enum_value_from_name(FieldId f, std::string_view n) {
  for (const auto& [v, name] : cached_enum_values(enum_set_of(f)))
    if (name == n) return v;
  return std::nullopt;
}

std::string field_value_problem(FieldId f, double v) {
  const FieldInfo& fi = field_info(f);
  if (fi.kind == FieldKind::F) return "";  // every float is representable in binary32 bits
  if (std::isnan(v) || v != std::floor(v))
    return fmt::format("field {} = {} is not an integer", fi.name, v);
  if (fi.kind == FieldKind::S) {
    double lo = -std::ldexp(1.0, fi.bits - 1), hi = std::ldexp(1.0, fi.bits - 1) - 1;
    if (v < lo || v > hi)
      return fmt::format("field {} = {:.0f} does not fit {} signed bits (allowed {:.0f}..{:.0f})", fi.name, v,
                         fi.bits, lo, hi);
    return "";
  }
  double hi = std::ldexp(1.0, fi.bits) - 1;
  if (v < 0 || v > hi)
    return fmt::format("field {} = {:.0f} does not fit {} unsigned bits (allowed 0..{:.0f})", fi.name, v, fi.bits, hi);
  if (fi.kind == FieldKind::E && enum_value_name(f, int64_t(v)).empty()) {
    std::string names;
    for (const auto& [val, name] : enum_values(enum_set_of(f))) names += fmt::format("{}{}={}", names.empty() ? "" : " ", name, val);
    return fmt::format("field {} = {:.0f} is not a valid value (allowed: {})", fi.name, v, names);
  }
  return "";
}

namespace {
int64_t* int_member(int64_t& x) { return &x; }
int64_t* int_member(float&) { return nullptr; }
float* float_member(float& x) { return &x; }
float* float_member(int64_t&) { return nullptr; }
}  // namespace

double get_field(const Instr& in, FieldId f) {
  switch (f) {
#define CARDSIM_GET(name, kind, bits, doc) \
  case FieldId::name:                      \
    return double(in.name);
    CARDSIM_ISA_FIELDS(CARDSIM_GET)
#undef CARDSIM_GET
    default: fail(ErrorKind::Internal, "get_field: field id {} out of range", int(f));
  }
}

void set_field(Instr& in, FieldId f, double v) {
  switch (f) {
#define CARDSIM_SET(name, kind, bits, doc)                      \
  case FieldId::name:                                           \
    if (auto* p = int_member(in.name)) *p = int64_t(v);         \
    if (auto* q = float_member(in.name)) *q = float(v);         \
    return;
    CARDSIM_ISA_FIELDS(CARDSIM_SET)
#undef CARDSIM_SET
    default: fail(ErrorKind::Internal, "set_field: field id {} out of range", int(f));
  }
}

}  // namespace cardsim::isa
