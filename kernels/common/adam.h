#pragma once
// One Adam update of one element, shared by the CPU and CUDA kernels: torch.optim.Adam
// (amsgrad off, L2 weight decay) in the order of operations of torch 1.13's
// _single_tensor_adam, each scalar rounded to T once, as torch does.
#include <cmath>

#include "kernels/common/elementwise.h"

namespace fdl::kernels {

// The step's scalars in T. The caller computes step_size = lr / (1 - beta1^step) and
// bias_correction2_sqrt = sqrt(1 - beta2^step) in double per parameter.
template <class T>
struct AdamCoeffs {
  T b1, b2, one_b1, one_b2, wd, eps;
};

template <class T>
FDL_HD AdamCoeffs<T> adam_coeffs(double beta1, double beta2, double eps, double weight_decay) {
  return {T(beta1), T(beta2), T(1 - beta1), T(1 - beta2), T(weight_decay), T(eps)};
}

// d = g + wd p;  m = m b1 + (1 - b1) d;  v = v b2 + (1 - b2) d d;
// p = p + (-step_size m) / (sqrt(v) / bias_correction2_sqrt + eps), with neg_step =
// T(-step_size) and bc2 = T(bias_correction2_sqrt).
template <class T>
FDL_HD void adam_update(T& p, T g, T& m, T& v, const AdamCoeffs<T>& c, T neg_step, T bc2) {
  const T d = g + c.wd * p;
  const T mi = m * c.b1 + c.one_b1 * d;
  const T vi = v * c.b2 + c.one_b2 * d * d;
  m = mi;
  v = vi;
  p = p + neg_step * mi / (std::sqrt(vi) / bc2 + c.eps);  // nvcc: sqrt.rn, correctly rounded
}

}  // namespace fdl::kernels
