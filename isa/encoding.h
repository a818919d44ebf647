// Binary encoding of one instruction (ISA.md "Encoding"): byte 0 = opcode, then wait, signal,
// layer and the opcode's fields (opcode_info(op).fields) packed LSB-first in their bit
// widths, zero-padded to a multiple of 8 bytes. Table-driven: no per-opcode code.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "isa/isa.h"

namespace cardsim::isa {

// Where a field sits in an opcode's encoding (bit 0 = LSB of byte 0, the opcode byte).
struct FieldSlot {
  FieldId field;
  int bit_offset;
};
// wait, signal, layer, then the opcode's fields, in encoding order.
const std::vector<FieldSlot>& encoding_layout(Opcode op);
size_t encoded_size(Opcode op);  // bytes, a multiple of 8

// A field's value as the raw bits of its encoding (two's complement truncated to the field
// width for S, binary32 bits for F) and back. Unlike get_field/set_field these keep
// signalling-NaN payloads (a float -> double -> float trip quiets them).
uint64_t get_field_bits(const Instr& in, FieldId f);
void set_field_bits(Instr& in, FieldId f, uint64_t bits);

// Append the encoding of `in` to `out`. Throws Error(Format) naming the mnemonic, field,
// value and allowed range if a field does not fit, and for a non-zero field the opcode
// does not carry (it would be lost silently otherwise).
void encode_into(const Instr& in, std::vector<uint8_t>& out);
std::vector<uint8_t> encode(const Instr& in);

// Decode the instruction at p[offset] and advance offset past it. Throws Error(Format)
// naming the byte offset for an unknown opcode, truncation, an invalid enumeration value
// or non-zero padding bits.
Instr decode(const uint8_t* p, size_t n, size_t& offset);

}  // namespace cardsim::isa
