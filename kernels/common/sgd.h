#pragma once
// One SGD update of one element, shared by the CPU and CUDA kernels: torch.optim.SGD (dampening
// 0, L2 weight decay, classical or Nesterov momentum) in the order of operations of torch 1.13's
// _single_tensor_sgd, each scalar rounded to T once, as torch does.
#include "kernels/common/hd.h"

namespace fdl::kernels {

template <class T>
struct SgdCoeffs {
  T wd, momentum, neg_lr;
  bool nesterov;
};

template <class T>
FDL_HD SgdCoeffs<T> sgd_coeffs(double lr, double momentum, double weight_decay, bool nesterov) {
  return {T(weight_decay), T(momentum), T(-lr), nesterov};
}

// d = g + wd p;  buf = buf momentum + d;  p = p - lr (d + momentum buf) with Nesterov, else
// p = p - lr buf. torch starts the buffer as a copy of the first d; a buffer of zeros gives the
// same values, since 0 momentum + d = d.
template <class T>
FDL_HD void sgd_update(T& p, T g, T& buf, const SgdCoeffs<T>& c) {
  const T d = g + c.wd * p;
  const T b = buf * c.momentum + d;
  buf = b;
  p = p + c.neg_lr * (c.nesterov ? d + c.momentum * b : b);
}

}  // namespace fdl::kernels
