// Helpers for the kernel tests: memories backed by vectors and instruction builders.
#pragma once
#include <cstring>
#include <vector>

#include "core/dtype.h"
#include "isa/isa.h"
#include "models/kernels/kernels.h"

namespace cardsim::test {

struct TestMem {
  std::vector<uint8_t> bytes[4];
  kernels::Memories mem;
  explicit TestMem(uint64_t each = 1 << 16) {
    for (int s = 0; s < 4; ++s) {
      bytes[s].assign(each, 0);
      mem.base[s] = bytes[s].data();
      mem.size[s] = each;
    }
  }
  template <typename T>
  void put(isa::Space sp, uint64_t addr, const std::vector<T>& v) {
    std::memcpy(bytes[int(sp)].data() + addr, v.data(), v.size() * sizeof(T));
  }
  template <typename T>
  std::vector<T> get(isa::Space sp, uint64_t addr, size_t n) const {
    std::vector<T> v(n);
    std::memcpy(v.data(), bytes[int(sp)].data() + addr, n * sizeof(T));
    return v;
  }
};

inline int64_t t(DType d) { return int64_t(d); }

// A 1-D elementwise instruction over n contiguous elements.
inline isa::Instr elementwise(isa::Opcode op, int64_t n, isa::Space ds, uint64_t da, DType dt, isa::Space as,
                              uint64_t aa, DType at) {
  isa::Instr in;
  in.op = op;
  in.n0 = n;
  in.n1 = in.n2 = in.n3 = 1;
  in.d_space = int64_t(ds);
  in.d_addr = int64_t(da);
  in.d_type = t(dt);
  in.d_s0 = 1;
  in.a_space = int64_t(as);
  in.a_addr = int64_t(aa);
  in.a_type = t(at);
  in.a_s0 = 1;
  in.b_type = t(DType::F32);
  in.c_addr = int64_t(isa::kNoAddr);
  in.b_addr = 0;
  return in;
}

}  // namespace cardsim::test
