#pragma once
// Batched 3-D real FFTs on the CPU (FFTW: single precision for float, double precision for
// double). `batch` volumes of shape dims (row-major, last axis fastest) lie one after
// another; their half spectra are (d0, d1, d2/2+1) interleaved complex values. Both
// directions are unnormalised. Pointers must be 64-byte aligned (the allocator's blocks are).
#include <array>
#include <cstdint>
#include <mutex>

namespace fdl::kernels::cpu {

template <class T>
void rfft3(const T* in, T* out, const std::array<int64_t, 3>& dims, int64_t batch);
// Destroys `in` (FFTW's multi-dimensional C2R always may).
template <class T>
void irfft3(T* in, T* out, const std::array<int64_t, 3>& dims, int64_t batch);

// FFTW's planner (making and destroying plans) is not thread-safe, execution is: every user
// of FFTW in the process (this file, the emulated cuFFT) plans under this one mutex. It is
// never destroyed, so plans may still be destroyed during static destruction.
std::mutex& fftw_planner_mutex();

}  // namespace fdl::kernels::cpu
