#pragma once
// CPU kernels of the spectral split and fusion, on half spectra (see spectral_block.h):
// `batch` volumes one after another, complex values as interleaved (re, im) pairs.
#include <cstdint>

#include "kernels/common/spectral_block.h"

namespace fdl::kernels::cpu {

// small <- scale * Herm(full[B]); full is (n0, n1, n2/2+1), small is (m0, m1, m2/2+1).
template <class T>
void spectral_crop(const T* full, T* small, const Block3& b, int64_t batch, T scale);
// full <- scale * Herm(full with B zeroed), in place.
template <class T>
void spectral_zero_block(T* full, const Block3& b, int64_t batch, T scale);
// full <- scale * Herm(full with full[B] <- small), in place.
template <class T>
void spectral_embed(T* full, const T* small, const Block3& b, int64_t batch, T scale);

}  // namespace fdl::kernels::cpu
