#include "kernels/cpu/intensity.h"

#include <algorithm>
#include <cmath>

#include "kernels/common/moments.h"
#include "kernels/common/philox.h"

namespace fdl::kernels::cpu {

namespace {

// Below this many voxels, a parallel region costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;

struct Stats {
  double mean, std;
  float min, max;
};

// Population mean and standard deviation (as numpy's defaults), minimum and maximum of
// sign * x, in one fixed order.
Stats stats(const float* x, int64_t n, float sign) {
  Moments m;
  float lo = sign * x[0], hi = lo;
  for (int64_t b = 0; b < n; b += 4096) {
    const int64_t e = std::min(n, b + 4096);
    Moments part = strided_moments(x, b, e, 1);
    if (sign < 0) part.mean = -part.mean;
    m = moments_merge(m, part);
    for (int64_t i = b; i < e; ++i) lo = std::min(lo, sign * x[i]), hi = std::max(hi, sign * x[i]);
  }
  return {m.mean, std::sqrt(m.m2 / m.n), lo, hi};
}

}  // namespace

void add_gaussian_noise(float* x, int64_t n, float std, uint64_t key, uint64_t counter) {
  const int64_t blocks = (n + 3) / 4;
  const float two_pi = 6.283185307179586f;
#pragma omp parallel for schedule(static) if (n > kParallelMin)
  for (int64_t b = 0; b < blocks; ++b) {
    const Philox4 r = philox(key, counter + uint64_t(b));
    float g[4];
    for (int h = 0; h < 2; ++h) {
      // 1 - u lies in (0, 1], so the logarithm is finite.
      const float rad = std::sqrt(-2.0f * std::log(1.0f - uniform01(r.v[2 * h])));
      const float ang = two_pi * uniform01(r.v[2 * h + 1]);
      g[2 * h] = rad * std::cos(ang);
      g[2 * h + 1] = rad * std::sin(ang);
    }
    const int64_t i0 = 4 * b, cnt = std::min<int64_t>(4, n - i0);
    for (int64_t j = 0; j < cnt; ++j) x[i0 + j] += std * g[j];
  }
}

void contrast(float* x, int64_t n, double factor) {
  const Stats s = stats(x, n, 1.0f);
  const float m = float(s.mean), f = float(factor);
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) x[i] = std::clamp((x[i] - m) * f + m, s.min, s.max);
}

void gamma(float* x, int64_t n, double gamma, bool invert, bool retain_stats) {
  const float sign = invert ? -1.0f : 1.0f;
  const Stats s = stats(x, n, sign);
  const float lo = s.min, range = s.max - s.min, scale = 1.0f / (range + 1e-7f), g = float(gamma);
#pragma omp parallel for if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) x[i] = std::pow((sign * x[i] - lo) * scale, g) * range + lo;
  // x now holds the transformed sign * x.
  float shift = 0, mul = 1;
  if (retain_stats) {
    const Stats t = stats(x, n, 1.0f);
    mul = float(s.std / (t.std + 1e-8));
    shift = float(s.mean - t.mean * double(mul));
  }
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) x[i] = sign * (x[i] * mul + shift);
}

}  // namespace fdl::kernels::cpu
