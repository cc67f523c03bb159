#pragma once
// CPU kernel of one SGD update over a flat parameter.
#include <cstdint>

namespace fdl::kernels::cpu {

// torch.optim.SGD (dampening 0, L2 weight decay, classical or Nesterov momentum): the
// per-element update of kernels/common/sgd.h over p, its gradient g and its momentum buffer.
template <class T>
void sgd_step(T* p, const T* g, T* buf, int64_t n, double lr, double momentum, double weight_decay,
              bool nesterov);

}  // namespace fdl::kernels::cpu
