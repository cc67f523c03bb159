#include "kernels/cuda/adam.h"

#include "kernels/common/adam.h"
#include "kernels/common/adam_chunks.h"
#include "kernels/cuda/launch.cuh"

namespace fdl::kernels::cuda {

namespace {

template <class T>
struct Entry {
  T* p;
  const T* g;
  T* m;
  T* v;
  int64_t n;
  T neg_step, bc2;  // rounded to T on the host, as the CPU kernel rounds them
};

// Everything one launch needs, passed by value as the kernel's parameter.
template <class T>
struct Launch {
  Entry<T> e[kAdamMaxTensors];
  int64_t starts[kAdamMaxTensors + 1];
  AdamCoeffs<T> c;
  int count;
};
static_assert(sizeof(Launch<double>) <= 4096 && sizeof(Launch<float>) <= 4096,
              "kernel parameters must stay within 4 KB");

// __grid_constant__ keeps the table in the parameter bank: indexing it with a block's
// tensor would otherwise copy the whole struct to local memory in every thread.
template <class T>
__global__ void __launch_bounds__(kThreads) adam_kernel(const __grid_constant__ Launch<T> L) {
  const int64_t total = L.starts[L.count];
  for (int64_t b = blockIdx.x; b < total; b += gridDim.x) {
    const AdamChunk ch = adam_chunk_of(L.starts, L.count, b);
    const Entry<T>& e = L.e[ch.tensor];
    const int64_t end = ch.begin + kAdamChunk < e.n ? ch.begin + kAdamChunk : e.n;
    for (int64_t i = ch.begin + threadIdx.x; i < end; i += kThreads) {
      T p = e.p[i], m = e.m[i], v = e.v[i];
      adam_update(p, e.g[i], m, v, L.c, e.neg_step, e.bc2);
      e.p[i] = p;
      e.m[i] = m;
      e.v[i] = v;
    }
  }
}

constexpr int64_t kMaxGrid = int64_t(1) << 20;

}  // namespace

template <class T>
void adam_step(const AdamTensor<T>* tensors, int64_t count, double beta1, double beta2, double eps,
               double weight_decay) {
  Launch<T> L{};
  L.c = adam_coeffs<T>(beta1, beta2, eps, weight_decay);
  for (int64_t first = 0; first < count; first += kAdamMaxTensors) {
    L.count = int(count - first < kAdamMaxTensors ? count - first : kAdamMaxTensors);
    int64_t numel[kAdamMaxTensors];
    for (int i = 0; i < L.count; ++i) {
      const AdamTensor<T>& t = tensors[first + i];
      L.e[i] = {t.param,
                t.grad,
                t.exp_avg,
                t.exp_avg_sq,
                t.numel,
                T(-t.step_size),
                T(t.bias_correction2_sqrt)};
      numel[i] = t.numel;
    }
    adam_chunk_starts(numel, L.count, L.starts);
    const int64_t blocks = L.starts[L.count];
    if (blocks == 0) continue;
    launch("Adam::step (cuda): multi-tensor update", adam_kernel<T>,
           unsigned(blocks < kMaxGrid ? blocks : kMaxGrid), kThreads, 0, L);
  }
}

template void adam_step<float>(const AdamTensor<float>*, int64_t, double, double, double, double);
template void adam_step<double>(const AdamTensor<double>*, int64_t, double, double, double, double);

}  // namespace fdl::kernels::cuda
