#pragma once
// CUDA twins of kernels/cpu/concat.h, the same contract. The pointer tables live on the host
// (their entries are device pointers); one launch per source, so any number of sources works.
#include <cstdint>

namespace fdl::kernels::cuda {

// out[:, offset_i + c] = srcs[i][:, c]
template <class T>
void concat_channels(const T* const* srcs, const int64_t* chans, int k, T* out, int64_t n,
                     int64_t s);

// The inverse: dsts[i][:, c] = g[:, offset_i + c]. A null dsts[i] is skipped.
template <class T>
void split_channels(const T* g, T* const* dsts, const int64_t* chans, int k, int64_t n, int64_t s);

}  // namespace fdl::kernels::cuda
