#pragma once
// The block map of the multi-tensor Adam kernel, tested on the host: each launch covers up to
// kAdamMaxTensors tensors, each cut into chunks of kAdamChunk elements, one chunk per block.
// starts[i] is the first block of tensor i (a prefix sum of chunk counts; starts[count] is
// the launch's block total), so block b belongs to the last tensor i with starts[i] <= b.
#include <cstdint>

#include "kernels/common/launch.h"

namespace fdl::kernels {

constexpr int kAdamMaxTensors = 48;   // keeps the kernel's parameter struct under 4 KB
constexpr int64_t kAdamChunk = 4096;  // elements per block

FDL_HD int64_t adam_chunks(int64_t numel) { return ceil_div(numel, kAdamChunk); }

// starts[0..count] from the tensors' element counts.
FDL_HD void adam_chunk_starts(const int64_t* numel, int count, int64_t* starts) {
  starts[0] = 0;
  for (int i = 0; i < count; ++i) starts[i + 1] = starts[i] + adam_chunks(numel[i]);
}

struct AdamChunk {
  int tensor;
  int64_t begin;  // the chunk's first element in the tensor; it ends at
                  // min(begin + kAdamChunk, numel)
};

// The chunk of block b, 0 <= b < starts[count]: a binary search for the last i with
// starts[i] <= b (empty tensors have starts[i] == starts[i + 1] and are passed over).
FDL_HD AdamChunk adam_chunk_of(const int64_t* starts, int count, int64_t b) {
  int lo = 0, hi = count;  // invariant: starts[lo] <= b < starts[hi]
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (starts[mid] <= b) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return {lo, (b - starts[lo]) * kAdamChunk};
}

}  // namespace fdl::kernels
