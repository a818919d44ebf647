#include "isa/encoding.h"

#include <bit>
#include <cstring>
#include <type_traits>

#include <fmt/format.h>

#include "core/error.h"

namespace cardsim::isa {

namespace {

uint64_t low_mask(int bits) { return bits >= 64 ? ~uint64_t(0) : (uint64_t(1) << bits) - 1; }

// Field value <-> raw bits of its encoding (two's complement for S, binary32 for F).
uint64_t to_raw(int64_t v, int bits) { return uint64_t(v) & low_mask(bits); }
uint64_t to_raw(float v, int) { return std::bit_cast<uint32_t>(v); }
void from_raw(int64_t& dst, uint64_t raw, int bits, FieldKind kind) {
  if (kind == FieldKind::S && bits < 64 && (raw >> (bits - 1)) & 1) raw |= ~low_mask(bits);  // sign-extend
  dst = int64_t(raw);
}
void from_raw(float& dst, uint64_t raw, int, FieldKind) { dst = std::bit_cast<float>(uint32_t(raw)); }

uint64_t field_bits_impl(const Instr& in, FieldId f) {
  switch (f) {
#define CARDSIM_RAW(name, kind, bits, doc) \
  case FieldId::name:                      \
    return to_raw(in.name, bits);
    CARDSIM_ISA_FIELDS(CARDSIM_RAW)
#undef CARDSIM_RAW
    default: fail(ErrorKind::Internal, "field id {} out of range", int(f));
  }
}

void set_field_bits_impl(Instr& in, FieldId f, uint64_t raw) {
  switch (f) {
#define CARDSIM_SETRAW(name, kind, bits, doc)          \
  case FieldId::name:                                  \
    from_raw(in.name, raw, bits, FieldKind::kind);     \
    return;
    CARDSIM_ISA_FIELDS(CARDSIM_SETRAW)
#undef CARDSIM_SETRAW
    default: fail(ErrorKind::Internal, "field id {} out of range", int(f));
  }
}

// The field value as int64 for integer kinds; false for floats.
bool int_value(const Instr& in, FieldId f, int64_t& out) {
  switch (f) {
#define CARDSIM_INTV(name, kind, bits, doc)                 \
  case FieldId::name:                                       \
    if constexpr (std::is_same_v<decltype(Instr::name), int64_t>) { \
      out = int64_t(in.name);                               \
      return true;                                          \
    } else {                                                \
      return false;                                         \
    }
    CARDSIM_ISA_FIELDS(CARDSIM_INTV)
#undef CARDSIM_INTV
    default: return false;
  }
}

struct Layouts {
  std::vector<FieldSlot> slots[kNumOpcodes];
  std::vector<FieldId> absent[kNumOpcodes];  // fields the opcode does not carry
  size_t bytes[kNumOpcodes] = {};
  Layouts() {
    for (int o = 0; o < kNumOpcodes; ++o) {
      const OpcodeInfo& oi = opcode_info(Opcode(o));
      int bit = 8;  // after the opcode byte
      auto add = [&](FieldId f) {
        slots[o].push_back({f, bit});
        bit += field_info(f).bits;
      };
      add(FieldId::wait);
      add(FieldId::signal);
      add(FieldId::layer);
      for (FieldId f : oi.fields) add(f);
      bytes[o] = size_t((bit + 63) / 64 * 8);
      for (int f = 0; f < kNumFields; ++f)
        if (!opcode_has_field(Opcode(o), FieldId(f))) absent[o].push_back(FieldId(f));
    }
  }
};
const Layouts& layouts() {
  static const Layouts l;
  return l;
}

void put_bits(uint8_t* out, int bitpos, uint64_t v, int bits) {
  for (int done = 0; done < bits;) {
    int byte = bitpos >> 3, off = bitpos & 7;
    int take = std::min(8 - off, bits - done);
    out[byte] |= uint8_t(((v >> done) & low_mask(take)) << off);
    bitpos += take;
    done += take;
  }
}

uint64_t get_bits(const uint8_t* in, int bitpos, int bits) {
  uint64_t v = 0;
  for (int done = 0; done < bits;) {
    int byte = bitpos >> 3, off = bitpos & 7;
    int take = std::min(8 - off, bits - done);
    v |= uint64_t((in[byte] >> off) & low_mask(take)) << done;
    bitpos += take;
    done += take;
  }
  return v;
}

}  // namespace

uint64_t get_field_bits(const Instr& in, FieldId f) { return field_bits_impl(in, f); }
void set_field_bits(Instr& in, FieldId f, uint64_t bits) {
  set_field_bits_impl(in, f, bits & low_mask(field_info(f).bits));
}

const std::vector<FieldSlot>& encoding_layout(Opcode op) {
  if (int(op) >= kNumOpcodes) fail(ErrorKind::Internal, "opcode {} out of range", int(op));
  return layouts().slots[int(op)];
}

size_t encoded_size(Opcode op) {
  if (int(op) >= kNumOpcodes) fail(ErrorKind::Internal, "opcode {} out of range", int(op));
  return layouts().bytes[int(op)];
}

void encode_into(const Instr& in, std::vector<uint8_t>& out) {
  if (int(in.op) >= kNumOpcodes) fail(ErrorKind::Format, "encode: unknown opcode {}", int(in.op));
  const OpcodeInfo& oi = opcode_info(in.op);
  // A field the opcode does not carry would vanish in the encoding: refuse it.
  for (FieldId fid : layouts().absent[int(in.op)]) {
    if (get_field(in, fid) != 0)
      fail(ErrorKind::Format, "encode {}: field {} = {} is set but {} has no such field (fields: {})", oi.mnemonic,
           field_info(fid).name, get_field(in, fid), oi.mnemonic,
           [&] {
             std::string s = "wait signal layer";
             for (FieldId g : oi.fields) s += fmt::format(" {}", field_info(g).name);
             return s;
           }());
  }
  size_t start = out.size();
  out.resize(start + encoded_size(in.op), 0);
  uint8_t* p = out.data() + start;
  p[0] = uint8_t(in.op);
  for (const FieldSlot& s : encoding_layout(in.op)) {
    const FieldInfo& fi = field_info(s.field);
    int64_t iv;
    if (int_value(in, s.field, iv)) {
      bool ok;
      if (fi.kind == FieldKind::S)
        ok = iv >= -(int64_t(1) << (fi.bits - 1)) && iv < (int64_t(1) << (fi.bits - 1));
      else
        ok = iv >= 0 && uint64_t(iv) <= low_mask(fi.bits);
      if (ok && fi.kind == FieldKind::E) ok = !enum_value_name(s.field, iv).empty();
      if (!ok) {
        out.resize(start);
        fail(ErrorKind::Format, "encode {}: {}", oi.mnemonic, field_value_problem(s.field, double(iv)));
      }
    }
    put_bits(p, s.bit_offset, get_field_bits(in, s.field), fi.bits);
  }
}

std::vector<uint8_t> encode(const Instr& in) {
  std::vector<uint8_t> out;
  encode_into(in, out);
  return out;
}

Instr decode(const uint8_t* p, size_t n, size_t& offset) {
  if (offset >= n) fail(ErrorKind::Format, "byte offset {}: truncated, expected an instruction", offset);
  uint8_t code = p[offset];
  if (code >= kNumOpcodes)
    fail(ErrorKind::Format, "byte offset {}: unknown opcode 0x{:02x} (valid opcodes are 0x00..0x{:02x})", offset, code,
         kNumOpcodes - 1);
  Opcode op = Opcode(code);
  const OpcodeInfo& oi = opcode_info(op);
  size_t size = encoded_size(op);
  if (n - offset < size)
    fail(ErrorKind::Format, "byte offset {}: truncated {} instruction: needs {} bytes, only {} left", offset,
         oi.mnemonic, size, n - offset);
  const uint8_t* q = p + offset;
  Instr in;
  in.op = op;
  int end_bit = 8;
  for (const FieldSlot& s : encoding_layout(op)) {
    const FieldInfo& fi = field_info(s.field);
    uint64_t raw = get_bits(q, s.bit_offset, fi.bits);
    if (fi.kind == FieldKind::E && enum_value_name(s.field, int64_t(raw)).empty())
      fail(ErrorKind::Format, "byte offset {}: {}: {}", offset, oi.mnemonic, field_value_problem(s.field, double(raw)));
    set_field_bits(in, s.field, raw);
    end_bit = s.bit_offset + fi.bits;
  }
  // Padding must be zero so that every instruction has exactly one encoding.
  for (int bit = end_bit; bit < int(size * 8);) {
    int take = std::min(64, int(size * 8) - bit);
    if (get_bits(q, bit, take) != 0)
      fail(ErrorKind::Format, "byte offset {}: {} instruction has non-zero padding bits after bit {}", offset,
           oi.mnemonic, end_bit);
    bit += take;
  }
  offset += size;
  return in;
}

}  // namespace cardsim::isa
