#include "kernels/cuda/fill.h"

#include "kernels/cuda/launch.cuh"

namespace fdl::kernels::cuda {

namespace {
template <class T>
__global__ void fill_kernel(T* p, T value, int64_t n) {
  FDL_CUDA_LOOP(i, n) p[i] = value;
}
}  // namespace

template <class T>
void fill(T* p, T value, int64_t n) {
  if (n == 0) return;
  launch("fill (cuda)", fill_kernel<T>, blocks_for(n), kThreads, 0, p, value, n);
}

template void fill<float>(float*, float, int64_t);
template void fill<double>(double*, double, int64_t);
template void fill<int32_t>(int32_t*, int32_t, int64_t);

}  // namespace fdl::kernels::cuda
