// Private helpers of cardsim_kernels: operand descriptors (ISA.md "Operand descriptors"),
// bounds checks and row-wise element conversion. Not part of the public interface.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>

#include "core/dtype.h"
#include "core/error.h"
#include "isa/isa.h"
#include "models/kernels/kernels.h"

namespace cardsim::kernels::detail {

std::string_view mnemonic(isa::Opcode op);
std::string_view space_label(isa::Space s);
std::string_view function_name(isa::Fn f);

// Extents of the 4-D iteration space; an extent of 0 reads as 1 (ISA.md).
struct Extents {
  int64_t n[4];
  int64_t total() const { return n[0] * n[1] * n[2] * n[3]; }
};
inline Extents extents_of(const isa::Instr& in) {
  auto one = [](int64_t v) { return v <= 0 ? int64_t(1) : v; };
  return Extents{{one(in.n0), one(in.n1), one(in.n2), one(in.n3)}};
}

// One operand (d, a or b) of an instruction, resolved against the memories.
struct Operand {
  char name = 'a';
  isa::Space space = isa::Space::Sram;
  uint64_t addr = 0;
  DType type = DType::F32;
  int64_t s[4] = {0, 0, 0, 0};
  float scale = 0;
  int32_t zp = 0;
  size_t esize = 4;
  uint8_t* base = nullptr;  // memory base + addr (valid after check)
};

Operand operand_d(const isa::Instr& in);
Operand operand_a(const isa::Instr& in);
Operand operand_b(const isa::Instr& in);

// Byte interval [lo, hi) an operand touches over extents n (strides may be negative or 0).
struct ByteRange {
  int64_t lo = 0, hi = 0;
};
ByteRange byte_range(const Operand& o, const int64_t n[4]);

// Resolves o.base and checks the whole access lies within the memory; throws Error(Fault)
// naming the opcode, the operand, the space and the offending addresses.
void check_and_bind(Operand& o, const int64_t n[4], const isa::Instr& in, Memories& mem);

bool supported_type(DType t);
DType type_field(int64_t v, const isa::Instr& in, char operand);

// Element load / store with the operand read / write rules, one element.
inline float load_raw(const uint8_t* p, DType t) {
  switch (t) {
    case DType::I8: return float(int8_t(*p));
    case DType::U8: return float(*p);
    case DType::I16: { int16_t v; std::memcpy(&v, p, 2); return float(v); }
    case DType::I32: { int32_t v; std::memcpy(&v, p, 4); return float(v); }
    case DType::I64: { int64_t v; std::memcpy(&v, p, 8); return float(v); }
    case DType::F32: { float v; std::memcpy(&v, p, 4); return v; }
    case DType::F16: { uint16_t v; std::memcpy(&v, p, 2); return f16_to_f32(v); }
    case DType::BF16: { uint16_t v; std::memcpy(&v, p, 2); return bf16_to_f32(v); }
    default: return 0;
  }
}

template <typename T>
inline T saturate_round_to(double v) {
  if (std::isnan(v)) return T(0);
  double r = std::nearbyint(v);  // current rounding mode: half to even
  if (r <= double(std::numeric_limits<T>::min())) return std::numeric_limits<T>::min();
  if (r >= double(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  return T(r);
}

// Stores an already-final value (no scale): floats round to nearest even, integers
// saturate and round half to even.
inline void store_raw(uint8_t* p, DType t, float v) {
  switch (t) {
    case DType::I8: *p = uint8_t(saturate_round_to<int8_t>(v)); return;
    case DType::U8: *p = saturate_round_to<uint8_t>(v); return;
    case DType::I16: { int16_t x = saturate_round_to<int16_t>(v); std::memcpy(p, &x, 2); return; }
    case DType::I32: { int32_t x = saturate_round_to<int32_t>(v); std::memcpy(p, &x, 4); return; }
    case DType::I64: { int64_t x = saturate_round_to<int64_t>(v); std::memcpy(p, &x, 8); return; }
    case DType::F32: std::memcpy(p, &v, 4); return;
    case DType::F16: { uint16_t h = f32_to_f16(v); std::memcpy(p, &h, 2); return; }
    case DType::BF16: { uint16_t h = f32_to_bf16(v); std::memcpy(p, &h, 2); return; }
    default: return;
  }
}

// Integer store of an exact value (saturating).
inline void store_int(uint8_t* p, DType t, int64_t v) {
  switch (t) {
    case DType::I8: *p = uint8_t(int8_t(std::clamp<int64_t>(v, -128, 127))); return;
    case DType::U8: *p = uint8_t(std::clamp<int64_t>(v, 0, 255)); return;
    case DType::I16: {
      int16_t x = int16_t(std::clamp<int64_t>(v, INT16_MIN, INT16_MAX));
      std::memcpy(p, &x, 2);
      return;
    }
    case DType::I64: std::memcpy(p, &v, 8); return;
    case DType::I32: {
      int32_t x = int32_t(std::clamp<int64_t>(v, INT32_MIN, INT32_MAX));
      std::memcpy(p, &x, 4);
      return;
    }
    default: store_raw(p, t, float(v)); return;
  }
}
inline int64_t load_int(const uint8_t* p, DType t) {
  switch (t) {
    case DType::I8: return int8_t(*p);
    case DType::U8: return *p;
    case DType::I16: { int16_t v; std::memcpy(&v, p, 2); return v; }
    case DType::I32: { int32_t v; std::memcpy(&v, p, 4); return v; }
    case DType::I64: { int64_t v; std::memcpy(&v, p, 8); return v; }
    default: return int64_t(load_raw(p, t));
  }
}

// Reads n elements at stride (elements) into out[] as real values (read rule).
void load_row(const Operand& o, const uint8_t* p, int64_t stride, int64_t n, float* out);
// Writes n real values to the operand with the write rule.
void store_row(const Operand& o, uint8_t* p, int64_t stride, int64_t n, const float* in);

}  // namespace cardsim::kernels::detail
