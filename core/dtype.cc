#include "core/dtype.h"

#include <cmath>
#include <limits>

#include "core/error.h"

namespace cardsim {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: case DType::I32: case DType::U32: return 4;
    case DType::U8: case DType::I8: case DType::Bool: return 1;
    case DType::U16: case DType::I16: case DType::F16: case DType::BF16: return 2;
    case DType::I64: case DType::F64: case DType::U64: return 8;
    default: fail(ErrorKind::Unsupported, "data type {} has no fixed element size", int(t));
  }
}

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";   case DType::U8: return "u8";    case DType::I8: return "i8";
    case DType::U16: return "u16";   case DType::I16: return "i16";  case DType::I32: return "i32";
    case DType::I64: return "i64";   case DType::String: return "string"; case DType::Bool: return "bool";
    case DType::F16: return "f16";   case DType::F64: return "f64";  case DType::U32: return "u32";
    case DType::U64: return "u64";   case DType::BF16: return "bf16";
    default: return "undefined";
  }
}

DType dtype_from_name(std::string_view n) {
  for (int i = 0; i <= 16; ++i) {
    auto t = DType(i);
    if (dtype_name(t) == n && n != "undefined") return t;
  }
  fail(ErrorKind::Format, "unknown data type '{}' (expected one of f32 f16 bf16 f64 i8 u8 i16 u16 i32 u32 i64 u64 bool)", n);
}

bool dtype_is_float(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::F64;
}
bool dtype_is_integer(DType t) { return !dtype_is_float(t) && t != DType::String && t != DType::Undefined; }

uint16_t f32_to_f16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  uint32_t exp = (x >> 23) & 0xff;
  uint32_t mant = x & 0x7fffff;
  if (exp == 0xff) return uint16_t(sign | 0x7c00 | (mant ? 0x200 : 0));  // inf / nan
  int e = int(exp) - 127 + 15;
  if (e >= 31) return uint16_t(sign | 0x7c00);  // overflow -> inf
  if (e <= 0) {                                  // subnormal or zero
    if (e < -10) return uint16_t(sign);
    mant |= 0x800000;
    int shift = 14 - e;
    uint32_t half = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) ++half;
    return uint16_t(sign | half);
  }
  uint32_t half = sign | (uint32_t(e) << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) ++half;  // may carry into exponent: correct
  return uint16_t(half);
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t x;
  if (exp == 0) {
    if (mant == 0) {
      x = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do { ++e; mant <<= 1; } while (!(mant & 0x400));
      x = sign | (uint32_t(127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    x = sign | 0x7f800000 | (mant << 13);
  } else {
    x = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

uint16_t f32_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000) return uint16_t((x >> 16) | 0x40);  // quiet nan
  uint32_t lsb = (x >> 16) & 1;
  x += 0x7fff + lsb;
  return uint16_t(x >> 16);
}

template <typename T>
static T saturate_round(double v) {
  if (std::isnan(v)) return T(0);
  double r = std::nearbyint(v);  // default rounding mode: half to even
  if (r <= double(std::numeric_limits<T>::min())) return std::numeric_limits<T>::min();
  if (r >= double(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  return T(r);
}

double load_as_double(const uint8_t* b, DType t, size_t i) {
  switch (t) {
    case DType::F32: { float v; std::memcpy(&v, b + 4 * i, 4); return v; }
    case DType::F64: { double v; std::memcpy(&v, b + 8 * i, 8); return v; }
    case DType::F16: { uint16_t v; std::memcpy(&v, b + 2 * i, 2); return f16_to_f32(v); }
    case DType::BF16: { uint16_t v; std::memcpy(&v, b + 2 * i, 2); return bf16_to_f32(v); }
    case DType::I8: return double(int8_t(b[i]));
    case DType::U8: case DType::Bool: return double(b[i]);
    case DType::I16: { int16_t v; std::memcpy(&v, b + 2 * i, 2); return v; }
    case DType::U16: { uint16_t v; std::memcpy(&v, b + 2 * i, 2); return v; }
    case DType::I32: { int32_t v; std::memcpy(&v, b + 4 * i, 4); return v; }
    case DType::U32: { uint32_t v; std::memcpy(&v, b + 4 * i, 4); return v; }
    case DType::I64: { int64_t v; std::memcpy(&v, b + 8 * i, 8); return double(v); }
    case DType::U64: { uint64_t v; std::memcpy(&v, b + 8 * i, 8); return double(v); }
    default: fail(ErrorKind::Unsupported, "cannot read elements of type {}", dtype_name(t));
  }
}

void store_from_double(uint8_t* b, DType t, size_t i, double v) {
  switch (t) {
    case DType::F32: { float f = float(v); std::memcpy(b + 4 * i, &f, 4); return; }
    case DType::F64: std::memcpy(b + 8 * i, &v, 8); return;
    case DType::F16: { uint16_t h = f32_to_f16(float(v)); std::memcpy(b + 2 * i, &h, 2); return; }
    case DType::BF16: { uint16_t h = f32_to_bf16(float(v)); std::memcpy(b + 2 * i, &h, 2); return; }
    case DType::I8: b[i] = uint8_t(saturate_round<int8_t>(v)); return;
    case DType::U8: b[i] = saturate_round<uint8_t>(v); return;
    case DType::Bool: b[i] = v != 0.0; return;
    case DType::I16: { auto x = saturate_round<int16_t>(v); std::memcpy(b + 2 * i, &x, 2); return; }
    case DType::U16: { auto x = saturate_round<uint16_t>(v); std::memcpy(b + 2 * i, &x, 2); return; }
    case DType::I32: { auto x = saturate_round<int32_t>(v); std::memcpy(b + 4 * i, &x, 4); return; }
    case DType::U32: { auto x = saturate_round<uint32_t>(v); std::memcpy(b + 4 * i, &x, 4); return; }
    case DType::I64: { auto x = saturate_round<int64_t>(v); std::memcpy(b + 8 * i, &x, 8); return; }
    case DType::U64: { auto x = saturate_round<uint64_t>(v); std::memcpy(b + 8 * i, &x, 8); return; }
    default: fail(ErrorKind::Unsupported, "cannot write elements of type {}", dtype_name(t));
  }
}

}  // namespace cardsim
