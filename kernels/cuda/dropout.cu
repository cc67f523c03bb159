#include "kernels/cuda/dropout.h"

#include "kernels/common/dropout.h"
#include "kernels/common/slice_partition.h"
#include "kernels/cuda/launch.cuh"

namespace fdl::kernels::cuda {

namespace {

// One block per (channel, part): the channel's Philox draw is made once per thread, not once
// per element.
template <class T>
__global__ void dropout_kernel(const T* x, T* out, int64_t nc, int64_t s, SlicePartition q,
                               uint64_t seed, uint64_t offset, double p, T scale) {
  for (int64_t b = blockIdx.x; b < nc * q.parts; b += gridDim.x) {
    const int64_t c = b / q.parts;
    int64_t lo, hi;
    q.range(s, b - c * q.parts, lo, hi);
    const T* xc = x + c * s;
    T* oc = out + c * s;
    if (kernels::dropout_keep(seed, offset, uint64_t(c), p)) {
      for (int64_t i = lo + threadIdx.x; i < hi; i += blockDim.x) oc[i] = xc[i] * scale;
    } else {
      for (int64_t i = lo + threadIdx.x; i < hi; i += blockDim.x) oc[i] = T(0);
    }
  }
}

}  // namespace

template <class T>
void dropout3d_apply(const T* x, T* out, int64_t nc, int64_t s, uint64_t seed, uint64_t offset,
                     double p, T scale) {
  if (nc <= 0 || s <= 0) return;
  const SlicePartition q = slice_partition(nc, s);
  launch("dropout3d (cuda)", dropout_kernel<T>, grid_blocks(nc * q.parts, 1), kThreads, 0, x, out,
         nc, s, q, seed, offset, p, scale);
}

#define FDL_INSTANTIATE(T) \
  template void dropout3d_apply<T>(const T*, T*, int64_t, int64_t, uint64_t, uint64_t, double, T);
FDL_INSTANTIATE(float)
FDL_INSTANTIATE(double)
#undef FDL_INSTANTIATE

}  // namespace fdl::kernels::cuda
