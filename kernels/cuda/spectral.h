#pragma once
// CUDA twins of kernels/cpu/spectral.h (same contract, same per-element code from
// spectral_block.h). Pointers are device memory; launches go to stream() (runtime.h) and
// are checked.
#include <cstdint>

#include "kernels/common/spectral_block.h"

namespace fdl::kernels::cuda {

template <class T>
void spectral_crop(const T* full, T* small, const Block3& b, int64_t batch, T scale);
template <class T>
void spectral_zero_block(T* full, const Block3& b, int64_t batch, T scale);
template <class T>
void spectral_embed(T* full, const T* small, const Block3& b, int64_t batch, T scale);

}  // namespace fdl::kernels::cuda
