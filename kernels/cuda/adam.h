#pragma once
// The CUDA twin of kernels/cpu/adam.h: one Adam step over many parameters in as few launches
// as kernels/common/adam_chunks.h allows (kAdamMaxTensors tensors per launch), with the same
// per-element code (kernels/common/adam.h) and the same scalar rounding as the CPU kernel.
#include <cstdint>

namespace fdl::kernels::cuda {

// One parameter's share of the step; the pointers are device memory of numel elements.
template <class T>
struct AdamTensor {
  T* param;
  const T* grad;
  T* exp_avg;
  T* exp_avg_sq;
  int64_t numel;
  double step_size;              // lr / (1 - beta1^step), the parameter's own step
  double bias_correction2_sqrt;  // sqrt(1 - beta2^step)
};

// Updates all `count` tensors in place; the hyperparameters are shared by all of them.
template <class T>
void adam_step(const AdamTensor<T>* tensors, int64_t count, double beta1, double beta2, double eps,
               double weight_decay);

}  // namespace fdl::kernels::cuda
