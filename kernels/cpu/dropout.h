#pragma once
// CPU channel-dropout kernel (Dropout3d). The data is nc channels of s contiguous elements.
#include <cstdint>

namespace fdl::kernels::cpu {

// out = x * scale for the channels kept by kernels::dropout_keep(seed, offset, i, p),
// and exactly 0 for the others. The forward passes x and scale 1/(1-p); the backward
// passes the gradient with the same arguments.
template <class T>
void dropout3d_apply(const T* x, T* out, int64_t nc, int64_t s, uint64_t seed, uint64_t offset,
                     double p, T scale);

}  // namespace fdl::kernels::cpu
