#pragma once
// Batched 3-D real FFTs on the GPU (cuFFT), the twin of kernels/cpu/fft.h: same layouts,
// unnormalised both ways. Plans are cached per (dims, batch, direction, precision) and made
// without their own work area: the caller passes `work` of fft_workspace_bytes(...) bytes
// (from the caching allocator), so cuFFT never calls cudaMalloc per op.
#include <array>
#include <cstddef>
#include <cstdint>

namespace fdl::kernels::cuda {

template <class T>
size_t fft_workspace_bytes(const std::array<int64_t, 3>& dims, int64_t batch, bool forward);
template <class T>
void rfft3(const T* in, T* out, const std::array<int64_t, 3>& dims, int64_t batch, void* work);
// Overwrites `in`.
template <class T>
void irfft3(T* in, T* out, const std::array<int64_t, 3>& dims, int64_t batch, void* work);

}  // namespace fdl::kernels::cuda
