// Helpers shared by the isa tests: seeded random instructions, an independent CRC32 and
// little-endian accessors for poking at loadables.
#pragma once
#include <bit>
#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "isa/isa.h"

namespace isa_test {

using namespace cardsim::isa;

// A random valid value for every field `op` carries; NaN excluded so operator== works.
inline Instr random_instr(std::mt19937_64& rng, Opcode op) {
  Instr in;
  in.op = op;
  auto fill = [&](FieldId f) {
    const FieldInfo& fi = field_info(f);
    // Mostly small values, sometimes the extremes: both matter for bit packing.
    uint64_t r = rng();
    int mode = int(r % 4);
    r = rng();
    switch (fi.kind) {
      case FieldKind::U: {
        uint64_t max = fi.bits >= 64 ? ~0ull : (1ull << fi.bits) - 1;
        uint64_t v = mode == 0 ? max : mode == 1 ? 0 : r & max;
        set_field(in, f, double(v));
        break;
      }
      case FieldKind::S: {
        int64_t lo = -(int64_t(1) << (fi.bits - 1)), hi = (int64_t(1) << (fi.bits - 1)) - 1;
        int64_t v = mode == 0 ? lo : mode == 1 ? hi : lo + int64_t(r % uint64_t(hi - lo + 1));
        set_field(in, f, double(v));
        break;
      }
      case FieldKind::F: {
        float v;
        do v = std::bit_cast<float>(uint32_t(r)), r = rng();
        while (v != v);
        set_field(in, f, double(v));
        break;
      }
      case FieldKind::E: {
        auto vals = enum_values(enum_set_of(f));
        set_field(in, f, double(vals[r % vals.size()].first));
        break;
      }
    }
  };
  fill(FieldId::wait);
  fill(FieldId::signal);
  fill(FieldId::layer);
  for (FieldId f : opcode_info(op).fields) fill(f);
  return in;
}

// Bitwise CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320): independent of the library's.
inline uint32_t crc32_reference(const uint8_t* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
  }
  return ~c;
}

inline uint32_t get32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t(b[at]) | uint32_t(b[at + 1]) << 8 | uint32_t(b[at + 2]) << 16 | uint32_t(b[at + 3]) << 24;
}
inline uint64_t get64(const std::vector<uint8_t>& b, size_t at) {
  return uint64_t(get32(b, at)) | uint64_t(get32(b, at + 4)) << 32;
}
inline void put32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = uint8_t(v >> (8 * i));
}

inline std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline std::string programs_dir() { return CARDSIM_SOURCE_DIR "/tests/isa/programs"; }

}  // namespace isa_test
