#include <cuda_runtime.h>

#include "engine/error.h"
#include "kernels/cuda/spectral.h"

namespace fdl::kernels::cuda {

namespace {

constexpr int kThreads = 256;

inline unsigned blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  FDL_CHECK(b <= int64_t(0x7fffffff), "spectral (cuda): ", n, " elements exceed one launch");
  return unsigned(b);
}

inline void check_launch(const char* what) {
  const cudaError_t e = cudaGetLastError();
  FDL_CHECK(e == cudaSuccess, "spectral (cuda): ", what, " launch failed: ", cudaGetErrorString(e));
}

template <class T>
__global__ void crop_kernel(const T* full, T* small, Block3 b, int64_t total, T scale) {
  const int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= total) return;
  const int64_t m1 = b.a[1].m, h2 = b.a[2].m / 2 + 1, per = b.a[0].m * m1 * h2;
  const int64_t full_half = b.a[0].n * b.a[1].n * (b.a[2].n / 2 + 1);
  const int64_t v = e / per, rest = e % per;
  const Cx<T> c = crop_element(full + 2 * v * full_half, b, rest / (m1 * h2), rest / h2 % m1,
                               rest % h2, scale);
  small[2 * e] = c.re;
  small[2 * e + 1] = c.im;
}

template <class T>
__global__ void zero_block_kernel(T* full, Block3 b, int64_t total, T scale) {
  const int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= total) return;
  const int64_t n1 = b.a[1].n, h2 = b.a[2].n / 2 + 1, per = b.a[0].n * n1 * h2;
  const int64_t rest = e % per;
  const T w = mask_weight(b, rest / (n1 * h2), rest / h2 % n1, rest % h2, scale);
  full[2 * e] *= w;
  full[2 * e + 1] *= w;
}

template <class T>
__global__ void embed_kernel(T* full, const T* small, Block3 b, int64_t total, T scale) {
  const int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= total) return;
  const int64_t n1 = b.a[1].n, h2 = b.a[2].n / 2 + 1, per = b.a[0].n * n1 * h2;
  const int64_t small_half = b.a[0].m * b.a[1].m * (b.a[2].m / 2 + 1);
  const int64_t v = e / per, rest = e % per;
  const Cx<T> c = embed_element(Cx<T>{full[2 * e], full[2 * e + 1]}, small + 2 * v * small_half, b,
                                rest / (n1 * h2), rest / h2 % n1, rest % h2, scale);
  full[2 * e] = c.re;
  full[2 * e + 1] = c.im;
}

}  // namespace

template <class T>
void spectral_crop(const T* full, T* small, const Block3& b, int64_t batch, T scale) {
  const int64_t total = batch * b.a[0].m * b.a[1].m * (b.a[2].m / 2 + 1);
  if (total == 0) return;
  crop_kernel<T><<<blocks_for(total), kThreads>>>(full, small, b, total, scale);
  check_launch("crop");
}

template <class T>
void spectral_zero_block(T* full, const Block3& b, int64_t batch, T scale) {
  const int64_t total = batch * b.a[0].n * b.a[1].n * (b.a[2].n / 2 + 1);
  if (total == 0) return;
  zero_block_kernel<T><<<blocks_for(total), kThreads>>>(full, b, total, scale);
  check_launch("zero_block");
}

template <class T>
void spectral_embed(T* full, const T* small, const Block3& b, int64_t batch, T scale) {
  const int64_t total = batch * b.a[0].n * b.a[1].n * (b.a[2].n / 2 + 1);
  if (total == 0) return;
  embed_kernel<T><<<blocks_for(total), kThreads>>>(full, small, b, total, scale);
  check_launch("embed");
}

#define FDL_INSTANTIATE(T)                                                              \
  template void spectral_crop<T>(const T*, T*, const Block3&, int64_t, T);              \
  template void spectral_zero_block<T>(T*, const Block3&, int64_t, T);                  \
  template void spectral_embed<T>(T*, const T*, const Block3&, int64_t, T);
FDL_INSTANTIATE(float)
FDL_INSTANTIATE(double)
#undef FDL_INSTANTIATE

}  // namespace fdl::kernels::cuda
