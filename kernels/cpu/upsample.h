#pragma once
// CPU nearest-neighbour x2 upsampling over the three spatial axes. The data is nc volumes
// of (X, Y, Z) in, (2X, 2Y, 2Z) out, contiguous.
#include <cstdint>

namespace fdl::kernels::cpu {

// y[2x+a, 2y+b, 2z+c] = x[x, y, z] for a, b, c in {0, 1}.
template <class T>
void upsample_nearest2x_forward(const T* x, T* y, int64_t nc, int64_t X, int64_t Y, int64_t Z);

// gx[x, y, z] = the sum of gy over the 2x2x2 block that x[x, y, z] was copied to.
template <class T>
void upsample_nearest2x_backward(const T* gy, T* gx, int64_t nc, int64_t X, int64_t Y, int64_t Z);

}  // namespace fdl::kernels::cpu
