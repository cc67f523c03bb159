#pragma once
// Philox-4x32-10 counter-based generator (Salmon et al., SC'11). A stream is (seed, counter):
// the same numbers come out on the CPU and the GPU, in any order, and a generator's whole
// state is two integers, so checkpoints can store it exactly.
#include <cstdint>

#include "kernels/common/elementwise.h"

namespace fdl::kernels {

struct Philox4 {
  uint32_t v[4];
};

FDL_HD void philox_mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t p = uint64_t(a) * uint64_t(b);
  hi = uint32_t(p >> 32);
  lo = uint32_t(p);
}

// Four 32-bit random words for block `counter` of stream `seed`.
FDL_HD Philox4 philox(uint64_t seed, uint64_t counter) {
  uint32_t c0 = uint32_t(counter), c1 = uint32_t(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(0xD2511F53u, c0, hi0, lo0);
    philox_mulhilo(0xCD9E8D57u, c2, hi1, lo1);
    const uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

// Uniform in [0, 1) with 24 bits, exact in float.
FDL_HD float uniform01(uint32_t w) { return float(w >> 8) * (1.0f / 16777216.0f); }

// The i-th uniform of stream (seed, offset): word i%4 of block offset + i/4.
FDL_HD float philox_uniform(uint64_t seed, uint64_t offset, uint64_t i) {
  return uniform01(philox(seed, offset + i / 4).v[i % 4]);
}

}  // namespace fdl::kernels
