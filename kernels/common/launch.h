#pragma once
// Launch geometry shared by the CUDA kernels and tested on the host: how many blocks of
// `threads` cover n elements, capped so grid-stride loops take the rest.
#include <cstdint>

#include "kernels/common/elementwise.h"

namespace fdl::kernels {

// Enough blocks for n elements, at most `cap` (a grid-stride loop covers the remainder);
// at least 1 so a launch over an empty range is still well formed.
FDL_HD unsigned grid_blocks(int64_t n, int threads, unsigned cap = 65535u * 8u) {
  const int64_t b = (n + threads - 1) / threads;
  return b < 1 ? 1u : b > int64_t(cap) ? cap : unsigned(b);
}

// Ceiling division for tile counts.
FDL_HD int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace fdl::kernels
