#include "models/kernels/operand.h"

namespace cardsim::kernels::detail {

// The ISA library (isa/isa.cc) owns the names; the fallback table only keeps this library
// buildable while the ISA library is not there yet.
std::string_view mnemonic(isa::Opcode op) {
#ifdef CARDSIM_HAVE_ISA_LIB
  if (int(op) < isa::kNumOpcodes) return isa::opcode_info(op).mnemonic;
#endif
  static const char* names[] = {"nop",      "end",      "sem.wait",  "sem.signal", "barrier",
                                "irq",      "host.call", "dma.copy", "dma.fill",   "mxu.conv",
                                "vpu.unary", "vpu.binary", "vpu.requant", "vpu.reduce", "vpu.pool"};
  return int(op) < isa::kNumOpcodes ? names[int(op)] : "invalid";
}

std::string_view space_label(isa::Space s) {
  switch (s) {
    case isa::Space::Host: return "host";
    case isa::Space::Dram: return "dram";
    case isa::Space::Sram: return "sram";
    case isa::Space::Acc: return "acc";
  }
  return "invalid";
}

std::string_view function_name(isa::Fn f) {
#ifdef CARDSIM_HAVE_ISA_LIB
  return isa::fn_name(f);
#else
  using isa::Fn;
  switch (f) {
    case Fn::Copy: return "copy"; case Fn::Relu: return "relu"; case Fn::LeakyRelu: return "leaky_relu";
    case Fn::Clip: return "clip"; case Fn::Sigmoid: return "sigmoid"; case Fn::HardSigmoid: return "hard_sigmoid";
    case Fn::HardSwish: return "hard_swish"; case Fn::Tanh: return "tanh"; case Fn::Erf: return "erf";
    case Fn::Exp: return "exp"; case Fn::Log: return "log"; case Fn::Sqrt: return "sqrt";
    case Fn::Recip: return "recip"; case Fn::Neg: return "neg"; case Fn::Abs: return "abs";
    case Fn::Gelu: return "gelu"; case Fn::Floor: return "floor"; case Fn::Ceil: return "ceil";
    case Fn::Round: return "round"; case Fn::Add: return "add"; case Fn::Sub: return "sub";
    case Fn::Mul: return "mul"; case Fn::Div: return "div"; case Fn::Max: return "max";
    case Fn::Min: return "min"; case Fn::Pow: return "pow"; case Fn::Equal: return "equal";
    case Fn::Less: return "less"; case Fn::Greater: return "greater"; case Fn::PRelu: return "prelu";
    case Fn::Sum: return "sum"; case Fn::Mean: return "mean"; case Fn::RMax: return "rmax";
    case Fn::RMin: return "rmin"; case Fn::SumSq: return "sumsq"; case Fn::MaxPool: return "maxpool";
    case Fn::AvgPool: return "avgpool";
  }
  return "invalid";
#endif
}

bool supported_type(DType t) {
  switch (t) {
    case DType::I8: case DType::U8: case DType::I16: case DType::I32: case DType::I64: case DType::F32:
    case DType::F16: case DType::BF16:
      return true;
    default: return false;
  }
}

DType type_field(int64_t v, const isa::Instr& in, char operand) {
  DType t = DType(uint8_t(v));
  if (v < 0 || v > 31 || !supported_type(t))
    fail(ErrorKind::Unsupported, "{}: operand {} has element type {} ({}); the card supports i8 u8 i16 i32 i64 f32 f16 bf16",
         mnemonic(in.op), operand, v, dtype_name(t));
  return t;
}

Operand operand_d(const isa::Instr& in) {
  Operand o;
  o.name = 'd';
  o.space = isa::Space(in.d_space & 3);
  o.addr = uint64_t(in.d_addr);
  o.type = type_field(in.d_type, in, 'd');
  o.s[0] = in.d_s0; o.s[1] = in.d_s1; o.s[2] = in.d_s2; o.s[3] = in.d_s3;
  o.scale = in.d_scale;
  o.zp = int32_t(in.d_zp);
  o.esize = dtype_size(o.type);
  return o;
}
Operand operand_a(const isa::Instr& in) {
  Operand o;
  o.name = 'a';
  o.space = isa::Space(in.a_space & 3);
  o.addr = uint64_t(in.a_addr);
  o.type = type_field(in.a_type, in, 'a');
  o.s[0] = in.a_s0; o.s[1] = in.a_s1; o.s[2] = in.a_s2; o.s[3] = in.a_s3;
  o.scale = in.a_scale;
  o.zp = int32_t(in.a_zp);
  o.esize = dtype_size(o.type);
  return o;
}
Operand operand_b(const isa::Instr& in) {
  Operand o;
  o.name = 'b';
  o.space = isa::Space(in.b_space & 3);
  o.addr = uint64_t(in.b_addr);
  o.type = type_field(in.b_type, in, 'b');
  o.s[0] = in.b_s0; o.s[1] = in.b_s1; o.s[2] = in.b_s2; o.s[3] = in.b_s3;
  o.scale = in.b_scale;
  o.zp = int32_t(in.b_zp);
  o.esize = dtype_size(o.type);
  return o;
}

ByteRange byte_range(const Operand& o, const int64_t n[4]) {
  int64_t lo = 0, hi = 0;
  for (int k = 0; k < 4; ++k) {
    int64_t span = (n[k] - 1) * o.s[k];
    if (span < 0) lo += span; else hi += span;
  }
  return ByteRange{lo * int64_t(o.esize), (hi + 1) * int64_t(o.esize)};
}

void check_and_bind(Operand& o, const int64_t n[4], const isa::Instr& in, Memories& mem) {
  ByteRange r = byte_range(o, n);
  int sp = int(o.space);
  int64_t first = int64_t(o.addr) + r.lo, last = int64_t(o.addr) + r.hi;
  if (mem.base[sp] == nullptr || first < 0 || uint64_t(last) > mem.size[sp])
    fail(ErrorKind::Fault,
         "access fault: {} (layer {}) operand {} touches {} bytes [0x{:x}, 0x{:x}) but {} holds 0x{:x} bytes",
         mnemonic(in.op), in.layer, o.name, space_label(o.space), first, last, space_label(o.space),
         mem.size[sp]);
  o.base = mem.base[sp] + o.addr;
}

void load_row(const Operand& o, const uint8_t* p, int64_t stride, int64_t n, float* out) {
  const int64_t step = stride * int64_t(o.esize);
  switch (o.type) {
    case DType::I8:
      for (int64_t i = 0; i < n; ++i) out[i] = float(int8_t(p[i * step]));
      break;
    case DType::U8:
      for (int64_t i = 0; i < n; ++i) out[i] = float(p[i * step]);
      break;
    case DType::F32:
      if (stride == 1) std::memcpy(out, p, size_t(n) * 4);
      else for (int64_t i = 0; i < n; ++i) std::memcpy(&out[i], p + i * step, 4);
      break;
    default:
      for (int64_t i = 0; i < n; ++i) out[i] = load_raw(p + i * step, o.type);
      break;
  }
  if (o.scale != 0) {
    const float zp = float(o.zp), sc = o.scale;
    if (o.type == DType::I32) {
      // Exact integer subtraction before the conversion to f32.
      for (int64_t i = 0; i < n; ++i) {
        int32_t v;
        std::memcpy(&v, p + i * step, 4);
        out[i] = float(int64_t(v) - o.zp) * sc;
      }
    } else {
      for (int64_t i = 0; i < n; ++i) out[i] = (out[i] - zp) * sc;
    }
  }
}

void store_row(const Operand& o, uint8_t* p, int64_t stride, int64_t n, const float* in) {
  const int64_t step = stride * int64_t(o.esize);
  if (o.scale != 0) {
    const float sc = o.scale;
    for (int64_t i = 0; i < n; ++i) {
      float q = std::nearbyint(in[i] / sc);
      if (dtype_is_integer(o.type)) {
        double v = std::isnan(q) ? double(o.zp) : double(q) + double(o.zp);
        store_int(p + i * step, o.type, int64_t(std::clamp(v, -9.3e18, 9.3e18)));
      } else {
        store_raw(p + i * step, o.type, q + float(o.zp));
      }
    }
    return;
  }
  switch (o.type) {
    case DType::F32:
      if (stride == 1) std::memcpy(p, in, size_t(n) * 4);
      else for (int64_t i = 0; i < n; ++i) std::memcpy(p + i * step, &in[i], 4);
      break;
    default:
      for (int64_t i = 0; i < n; ++i) store_raw(p + i * step, o.type, in[i]);
      break;
  }
}

}  // namespace cardsim::kernels::detail
