#include "kernels/cuda/spectral.h"

#include "kernels/cuda/launch.cuh"

namespace fdl::kernels::cuda {

namespace {

template <class T>
__global__ void crop_kernel(const T* full, T* small, Block3 b, int64_t total, T scale) {
  FDL_CUDA_LOOP(e, total) {
    const int64_t m1 = b.a[1].m, h2 = b.a[2].m / 2 + 1, per = b.a[0].m * m1 * h2;
    const int64_t full_half = b.a[0].n * b.a[1].n * (b.a[2].n / 2 + 1);
    const int64_t v = e / per, rest = e % per;
    const Cx<T> c = crop_element(full + 2 * v * full_half, b, rest / (m1 * h2), rest / h2 % m1,
                                 rest % h2, scale);
    small[2 * e] = c.re;
    small[2 * e + 1] = c.im;
  }
}

template <class T>
__global__ void zero_block_kernel(T* full, Block3 b, int64_t total, T scale) {
  FDL_CUDA_LOOP(e, total) {
    const int64_t n1 = b.a[1].n, h2 = b.a[2].n / 2 + 1, per = b.a[0].n * n1 * h2;
    const int64_t rest = e % per;
    const T w = mask_weight(b, rest / (n1 * h2), rest / h2 % n1, rest % h2, scale);
    full[2 * e] *= w;
    full[2 * e + 1] *= w;
  }
}

template <class T>
__global__ void embed_kernel(T* full, const T* small, Block3 b, int64_t total, T scale) {
  FDL_CUDA_LOOP(e, total) {
    const int64_t n1 = b.a[1].n, h2 = b.a[2].n / 2 + 1, per = b.a[0].n * n1 * h2;
    const int64_t small_half = b.a[0].m * b.a[1].m * (b.a[2].m / 2 + 1);
    const int64_t v = e / per, rest = e % per;
    const Cx<T> c = embed_element(Cx<T>{full[2 * e], full[2 * e + 1]}, small + 2 * v * small_half,
                                  b, rest / (n1 * h2), rest / h2 % n1, rest % h2, scale);
    full[2 * e] = c.re;
    full[2 * e + 1] = c.im;
  }
}

}  // namespace

template <class T>
void spectral_crop(const T* full, T* small, const Block3& b, int64_t batch, T scale) {
  const int64_t total = batch * b.a[0].m * b.a[1].m * (b.a[2].m / 2 + 1);
  if (total == 0) return;
  launch("spectral (cuda): crop", crop_kernel<T>, blocks_for(total), kThreads, 0, full, small, b,
         total, scale);
}

template <class T>
void spectral_zero_block(T* full, const Block3& b, int64_t batch, T scale) {
  const int64_t total = batch * b.a[0].n * b.a[1].n * (b.a[2].n / 2 + 1);
  if (total == 0) return;
  launch("spectral (cuda): zero_block", zero_block_kernel<T>, blocks_for(total), kThreads, 0, full,
         b, total, scale);
}

template <class T>
void spectral_embed(T* full, const T* small, const Block3& b, int64_t batch, T scale) {
  const int64_t total = batch * b.a[0].n * b.a[1].n * (b.a[2].n / 2 + 1);
  if (total == 0) return;
  launch("spectral (cuda): embed", embed_kernel<T>, blocks_for(total), kThreads, 0, full, small, b,
         total, scale);
}

#define FDL_INSTANTIATE(T)                                                 \
  template void spectral_crop<T>(const T*, T*, const Block3&, int64_t, T); \
  template void spectral_zero_block<T>(T*, const Block3&, int64_t, T);     \
  template void spectral_embed<T>(T*, const T*, const Block3&, int64_t, T);
FDL_INSTANTIATE(float)
FDL_INSTANTIATE(double)
#undef FDL_INSTANTIATE

}  // namespace fdl::kernels::cuda
