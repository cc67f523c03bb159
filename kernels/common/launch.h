#pragma once
// Launch geometry shared by the CUDA kernels and tested on the host: how many blocks of
// `threads` cover n elements, capped so grid-stride loops take the rest.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "kernels/common/elementwise.h"

namespace fdl::kernels {

// Enough blocks for n elements, at most `cap` (a grid-stride loop covers the remainder);
// at least 1 so a launch over an empty range is still well formed.
FDL_HD unsigned grid_blocks(int64_t n, int threads, unsigned cap = 65535u * 8u) {
  const int64_t b = (n + threads - 1) / threads;
  return b < 1 ? 1u : b > int64_t(cap) ? cap : unsigned(b);
}

// Why a launch of grid x block threads with `smem` bytes of dynamic shared memory breaks
// the device's limits (every architecture since sm_30; `max_smem` is the kernel's
// dynamic shared memory limit), or "" when it does not.
inline std::string launch_limit_error(const unsigned (&grid)[3], const unsigned (&block)[3],
                                      size_t smem, size_t max_smem) {
  auto dims = [](const unsigned(&d)[3]) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "(%u,%u,%u)", d[0], d[1], d[2]);
    return std::string(buf);
  };
  const uint64_t threads = uint64_t(block[0]) * block[1] * block[2];
  if (threads == 0 || uint64_t(grid[0]) * grid[1] * grid[2] == 0)
    return "grid " + dims(grid) + " or block " + dims(block) + " has a zero extent";
  if (block[0] > 1024 || block[1] > 1024 || block[2] > 64 || threads > 1024)
    return "block " + dims(block) + " exceeds (1024,1024,64) or 1024 threads";
  if (grid[0] > 2147483647u || grid[1] > 65535 || grid[2] > 65535)
    return "grid " + dims(grid) + " exceeds (2147483647,65535,65535)";
  if (smem > max_smem)
    return std::to_string(smem) + " bytes of dynamic shared memory exceed the kernel's limit of " +
           std::to_string(max_smem);
  return {};
}

// Ceiling division for tile counts.
FDL_HD int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace fdl::kernels
