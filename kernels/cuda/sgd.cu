#include "kernels/cuda/sgd.h"

#include "kernels/common/adam_chunks.h"
#include "kernels/common/sgd.h"
#include "kernels/cuda/launch.cuh"

namespace fdl::kernels::cuda {

namespace {

// Everything one launch needs, passed by value as the kernel's parameter.
template <class T>
struct Launch {
  SgdTensor<T> e[kAdamMaxTensors];
  int64_t starts[kAdamMaxTensors + 1];
  SgdCoeffs<T> c;
  int count;
};
static_assert(sizeof(Launch<double>) <= 4096 && sizeof(Launch<float>) <= 4096,
              "kernel parameters must stay within 4 KB");

// __grid_constant__ keeps the table in the parameter bank (see kernels/cuda/adam.cu).
template <class T>
__global__ void __launch_bounds__(kThreads) sgd_kernel(const __grid_constant__ Launch<T> L) {
  const int64_t total = L.starts[L.count];
  for (int64_t b = blockIdx.x; b < total; b += gridDim.x) {
    const AdamChunk ch = adam_chunk_of(L.starts, L.count, b);
    const SgdTensor<T>& e = L.e[ch.tensor];
    const int64_t end = ch.begin + kAdamChunk < e.numel ? ch.begin + kAdamChunk : e.numel;
    for (int64_t i = ch.begin + threadIdx.x; i < end; i += kThreads) {
      T p = e.param[i], buf = e.momentum_buffer[i];
      sgd_update(p, e.grad[i], buf, L.c);
      e.param[i] = p;
      e.momentum_buffer[i] = buf;
    }
  }
}

constexpr int64_t kMaxGrid = int64_t(1) << 20;

}  // namespace

template <class T>
void sgd_step(const SgdTensor<T>* tensors, int64_t count, double lr, double momentum,
              double weight_decay, bool nesterov) {
  Launch<T> L{};
  L.c = sgd_coeffs<T>(lr, momentum, weight_decay, nesterov);
  for (int64_t first = 0; first < count; first += kAdamMaxTensors) {
    L.count = int(count - first < kAdamMaxTensors ? count - first : kAdamMaxTensors);
    int64_t numel[kAdamMaxTensors];
    for (int i = 0; i < L.count; ++i) {
      L.e[i] = tensors[first + i];
      numel[i] = tensors[first + i].numel;
    }
    adam_chunk_starts(numel, L.count, L.starts);
    const int64_t blocks = L.starts[L.count];
    if (blocks == 0) continue;
    launch("Sgd::step (cuda): multi-tensor update", sgd_kernel<T>,
           unsigned(blocks < kMaxGrid ? blocks : kMaxGrid), kThreads, 0, L);
  }
}

template void sgd_step<float>(const SgdTensor<float>*, int64_t, double, double, double, bool);
template void sgd_step<double>(const SgdTensor<double>*, int64_t, double, double, double, bool);

}  // namespace fdl::kernels::cuda
