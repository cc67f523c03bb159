#pragma once
// What every CUDA kernel file shares: the one stream all device work goes to (so the
// caching allocator can reuse a freed block at once: later work on the same stream runs
// after earlier work), error checks that throw fdl::Error, and launch sizing.
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/common/error.h"
#include "kernels/common/launch.h"

namespace fdl::kernels::cuda {

constexpr int kThreads = 256;

// The stream of the current device, created on first use (non-blocking, so it never
// serialises against the legacy default stream).
cudaStream_t stream();

// Throws fdl::Error "<what>: <cuda error string>" when e is not cudaSuccess.
void check(cudaError_t e, const char* what);
// After a launch: checks cudaGetLastError (bad configuration, missing kernel image).
void check_launch(const char* what);

// Blocks for a grid-stride loop over n elements with kThreads threads each.
inline unsigned blocks_for(int64_t n) { return grid_blocks(n, kThreads); }

// Waits for all work on stream(); for timing and for the rare host read.
void synchronize();

}  // namespace fdl::kernels::cuda

// Grid-stride loop over [0, n) with a 64-bit index.
#define FDL_CUDA_LOOP(i, n)                                                 \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += int64_t(blockDim.x) * gridDim.x)
