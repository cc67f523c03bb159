#pragma once
// CPU kernel of one Adam update over a flat parameter.
#include <cstdint>

namespace fdl::kernels::cpu {

// The scalars of one step, computed in double by the caller as torch does.
struct AdamScalars {
  double beta1, beta2, eps, weight_decay;
  double step_size;              // lr / (1 - beta1^step)
  double bias_correction2_sqrt;  // sqrt(1 - beta2^step)
};

// torch.optim.Adam (amsgrad off, L2 weight decay), in the order of operations of torch 1.13's
// _single_tensor_adam, each scalar rounded to T as torch does: kernels/common/adam.h's
// adam_update over every element.
template <class T>
void adam_step(T* p, const T* g, T* m, T* v, int64_t n, const AdamScalars& s);

}  // namespace fdl::kernels::cpu
