#pragma once
// One-pass, numerically stable mean and variance, shared by the CUDA instance norm and its
// host-side tests: partials (count, mean, M2) merged with Chan's parallel update, in double.
// Merging in a fixed order gives the same bits on every run.
#include <cstdint>

#include "kernels/common/launch.h"

namespace fdl::kernels {

struct Moments {
  double n = 0;  // count
  double mean = 0;
  double m2 = 0;  // sum of squared deviations from the mean
};

// Chan et al.'s pairwise update; an empty side returns the other unchanged.
FDL_HD Moments moments_merge(const Moments& a, const Moments& b) {
  if (b.n == 0) return a;
  if (a.n == 0) return b;
  const double n = a.n + b.n, d = b.mean - a.mean;
  return {n, a.mean + d * (b.n / n), a.m2 + b.m2 + d * d * (a.n * b.n / n)};
}

// Values per chunk of strided_moments: enough independent loads in flight per thread.
constexpr int kMomentChunk = 8;

// The moments of x[first], x[first + stride], ... below `end`. Each chunk of kMomentChunk
// values gets its exact mean and M2 (two passes over registers), then is merged into the
// running partial, so memory is read once and no sum of squares ever cancels.
template <class T>
FDL_HD Moments strided_moments(const T* x, int64_t first, int64_t end, int64_t stride) {
  Moments m;
  for (int64_t base = first; base < end; base += kMomentChunk * stride) {
    const int64_t left = ceil_div(end - base, stride);
    const int cnt = left < kMomentChunk ? int(left) : kMomentChunk;
    double v[kMomentChunk];
    double sum = 0;
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (int j = 0; j < kMomentChunk; ++j) {
      v[j] = j < cnt ? double(x[base + j * stride]) : 0.0;
      sum += v[j];
    }
    const double mean = sum / double(cnt);
    double m2 = 0;
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (int j = 0; j < kMomentChunk; ++j) {
      const double d = j < cnt ? v[j] - mean : 0.0;
      m2 += d * d;
    }
    m = moments_merge(m, Moments{double(cnt), mean, m2});
  }
  return m;
}

}  // namespace fdl::kernels
