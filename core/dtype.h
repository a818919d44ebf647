// Element types shared by the compiler, the ISA and the card model.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace cardsim {

// Values match ONNX TensorProto::DataType so conversion is a cast.
enum class DType : uint8_t {
  Undefined = 0, F32 = 1, U8 = 2, I8 = 3, U16 = 4, I16 = 5, I32 = 6, I64 = 7,
  String = 8, Bool = 9, F16 = 10, F64 = 11, U32 = 12, U64 = 13, BF16 = 16,
};

size_t dtype_size(DType t);            // bytes per element; throws for String/Undefined
std::string_view dtype_name(DType t);  // "f32", "i8", ...
DType dtype_from_name(std::string_view name);  // inverse of dtype_name; throws Error
bool dtype_is_float(DType t);
bool dtype_is_integer(DType t);

// IEEE binary16 and bfloat16 conversions, round-to-nearest-even (what the card's
// vector unit does when it stores a reduced-precision result).
uint16_t f32_to_f16(float f);
float f16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);
inline float bf16_to_f32(uint16_t b) {
  uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Read element i of a raw buffer of type t as double / write a double into it
// (integers saturate and round half to even; floats round to nearest even).
double load_as_double(const uint8_t* base, DType t, size_t i);
void store_from_double(uint8_t* base, DType t, size_t i, double v);

}  // namespace cardsim
