#pragma once
// How the CUDA kernels that work slice by slice (instance norm, channel dropout, one-hot)
// cut nc slices of s elements into blocks. A slice may be millions of voxels while nc is a
// handful (batch 2 x 8 channels at full resolution), so one block per slice would leave most
// of the GPU idle: each slice is split into `parts` contiguous ranges of `chunk` elements,
// one block each. The split depends only on (nc, s), so reductions over it are deterministic.
#include <cstdint>

#include "kernels/common/launch.h"

namespace fdl::kernels {

// Enough blocks in all to fill a large GPU several times over...
constexpr int64_t kSliceTargetBlocks = 1024;
// ...but no block with fewer elements than this, so per-block partials stay few.
constexpr int64_t kSliceMinPerBlock = 8192;
// Ranges start on whole 32-element rows (128 bytes of float).
constexpr int64_t kSliceAlign = 32;

struct SlicePartition {
  int64_t parts = 1;  // blocks per slice, >= 1
  int64_t chunk = 1;  // elements per block (the last part of a slice may have fewer), >= 1

  // The range [lo, hi) of part p (0 <= p < parts) of a slice of s elements; never empty
  // when s > 0.
  FDL_HD void range(int64_t s, int64_t p, int64_t& lo, int64_t& hi) const {
    lo = p * chunk;
    hi = lo + chunk < s ? lo + chunk : s;
  }
};

FDL_HD SlicePartition slice_partition(int64_t nc, int64_t s) {
  SlicePartition q;
  if (s <= 0) return q;
  const int64_t want = ceil_div(kSliceTargetBlocks, nc > 0 ? nc : 1);
  const int64_t most = s / kSliceMinPerBlock > 0 ? s / kSliceMinPerBlock : 1;
  const int64_t parts = want < most ? want : most;
  q.chunk = ceil_div(ceil_div(s, parts), kSliceAlign) * kSliceAlign;
  q.parts = ceil_div(s, q.chunk);  // rounding the chunk up may leave fewer parts
  return q;
}

}  // namespace fdl::kernels
