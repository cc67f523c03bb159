#pragma once
// CUDA twins of kernels/cpu/upsample.h, the same contract on device memory; the index map
// is kernels/common/upsample.h.
#include <cstdint>

namespace fdl::kernels::cuda {

// y[2x+a, 2y+b, 2z+c] = x[x, y, z] for a, b, c in {0, 1}.
template <class T>
void upsample_nearest2x_forward(const T* x, T* y, int64_t nc, int64_t X, int64_t Y, int64_t Z);

// gx[x, y, z] = the sum of gy over the 2x2x2 block that x[x, y, z] was copied to, added in
// the same order as the CPU kernel.
template <class T>
void upsample_nearest2x_backward(const T* gy, T* gx, int64_t nc, int64_t X, int64_t Y, int64_t Z);

}  // namespace fdl::kernels::cuda
