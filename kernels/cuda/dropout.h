#pragma once
// CUDA twin of kernels/cpu/dropout.h, the same contract on device memory. The keep decision
// is kernels::dropout_keep, so the CPU and GPU drop the same channels for the same
// generator state.
#include <cstdint>

namespace fdl::kernels::cuda {

// out = x * scale for the channels kept by kernels::dropout_keep(seed, offset, i, p), and
// exactly 0 for the others (x is not read there).
template <class T>
void dropout3d_apply(const T* x, T* out, int64_t nc, int64_t s, uint64_t seed, uint64_t offset,
                     double p, T scale);

}  // namespace fdl::kernels::cuda
