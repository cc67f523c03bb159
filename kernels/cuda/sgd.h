#pragma once
// The CUDA twin of kernels/cpu/sgd.h: one SGD step over many parameters in as few launches as
// the multi-tensor chunk map of kernels/common/adam_chunks.h allows (kAdamMaxTensors tensors
// per launch), with the same per-element code (kernels/common/sgd.h) and scalar rounding as
// the CPU kernel.
#include <cstdint>

namespace fdl::kernels::cuda {

// One parameter's share of the step; the pointers are device memory of numel elements.
template <class T>
struct SgdTensor {
  T* param;
  const T* grad;
  T* momentum_buffer;
  int64_t numel;
};

// Updates all `count` tensors in place; the hyperparameters are shared by all of them.
template <class T>
void sgd_step(const SgdTensor<T>* tensors, int64_t count, double lr, double momentum,
              double weight_decay, bool nesterov);

}  // namespace fdl::kernels::cuda
