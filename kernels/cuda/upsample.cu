#include "kernels/cuda/upsample.h"

#include "kernels/common/upsample.h"
#include "kernels/cuda/launch.cuh"

namespace fdl::kernels::cuda {

namespace {

// One thread per input element: neighbouring threads write neighbouring pairs of each of
// the four output rows, and read one coalesced input row.
template <class T>
__global__ void upsample_forward_kernel(const T* x, T* y, Upsample2x u, int64_t n) {
  FDL_CUDA_LOOP(i, n) {
    const T v = x[i];
    const int64_t base = u.block_base(i);
#pragma unroll
    for (int q = 0; q < 8; ++q) y[base + u.offset(q)] = v;
  }
}

template <class T>
__global__ void upsample_backward_kernel(const T* gy, T* gx, Upsample2x u, int64_t n) {
  FDL_CUDA_LOOP(i, n) gx[i] = u.block_sum(gy, u.block_base(i));
}

}  // namespace

template <class T>
void upsample_nearest2x_forward(const T* x, T* y, int64_t nc, int64_t X, int64_t Y, int64_t Z) {
  const int64_t n = nc * X * Y * Z;
  if (n <= 0) return;
  launch("upsample_nearest2x (cuda): forward", upsample_forward_kernel<T>, blocks_for(n), kThreads,
         0, x, y, Upsample2x{Y, Z}, n);
}

template <class T>
void upsample_nearest2x_backward(const T* gy, T* gx, int64_t nc, int64_t X, int64_t Y, int64_t Z) {
  const int64_t n = nc * X * Y * Z;
  if (n <= 0) return;
  launch("upsample_nearest2x (cuda): backward", upsample_backward_kernel<T>, blocks_for(n),
         kThreads, 0, gy, gx, Upsample2x{Y, Z}, n);
}

#define FDL_INSTANTIATE(T)                                                                       \
  template void upsample_nearest2x_forward<T>(const T*, T*, int64_t, int64_t, int64_t, int64_t); \
  template void upsample_nearest2x_backward<T>(const T*, T*, int64_t, int64_t, int64_t, int64_t);
FDL_INSTANTIATE(float)
FDL_INSTANTIATE(double)
#undef FDL_INSTANTIATE

}  // namespace fdl::kernels::cuda
