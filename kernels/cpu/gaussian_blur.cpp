#include "kernels/cpu/gaussian_blur.h"

#include <cmath>

namespace fdl::kernels::cpu {

namespace {

// Below this many voxels per volume, a parallel region costs more than it saves.
constexpr int64_t kParallelMin = 1 << 14;

// Index i of an axis of n voxels reflected about its borders (d c b a | a b c d), for any i.
int64_t reflect(int64_t i, int64_t n) {
  const int64_t m = ((i % (2 * n)) + 2 * n) % (2 * n);
  return m < n ? m : 2 * n - 1 - m;
}

}  // namespace

std::vector<float> gaussian_kernel(double sigma) {
  const int64_t r = int64_t(4 * sigma + 0.5);
  std::vector<double> w(size_t(2 * r + 1));
  double sum = 0;
  for (int64_t i = -r; i <= r; ++i)
    sum += w[size_t(i + r)] = std::exp(-double(i * i) / (2 * sigma * sigma));
  std::vector<float> k(w.size());
  for (size_t i = 0; i < w.size(); ++i) k[i] = float(w[i] / sum);
  return k;
}

void gaussian_blur(float* x, int64_t nc, int64_t X, int64_t Y, int64_t Z, double sigma) {
  const std::vector<float> k = gaussian_kernel(sigma);
  const int64_t r = int64_t(k.size() / 2), taps = int64_t(k.size()), plane = Y * Z;
  const bool par = X * plane > kParallelMin;
  std::vector<float> tmp(size_t(X * plane));
  for (int64_t c = 0; c < nc; ++c) {
    float* v = x + c * X * plane;
    // Along x into tmp, whole (y, z) planes at a time.
#pragma omp parallel for schedule(static) if (par)
    for (int64_t i = 0; i < X; ++i) {
      float* o = tmp.data() + i * plane;
      for (int64_t j = 0; j < plane; ++j) o[j] = 0;
      for (int64_t t = 0; t < taps; ++t) {
        const float w = k[size_t(t)];
        const float* src = v + reflect(i + t - r, X) * plane;
#pragma omp simd
        for (int64_t j = 0; j < plane; ++j) o[j] += w * src[j];
      }
    }
    // Along y back into v, whole z rows at a time.
#pragma omp parallel for collapse(2) schedule(static) if (par)
    for (int64_t i = 0; i < X; ++i) {
      for (int64_t j = 0; j < Y; ++j) {
        float* o = v + i * plane + j * Z;
        for (int64_t l = 0; l < Z; ++l) o[l] = 0;
        for (int64_t t = 0; t < taps; ++t) {
          const float w = k[size_t(t)];
          const float* src = tmp.data() + i * plane + reflect(j + t - r, Y) * Z;
#pragma omp simd
          for (int64_t l = 0; l < Z; ++l) o[l] += w * src[l];
        }
      }
    }
    // Along z in place, each row through a reflected copy of itself.
#pragma omp parallel if (par)
    {
      std::vector<float> pad(size_t(Z + 2 * r));
#pragma omp for schedule(static)
      for (int64_t row = 0; row < X * Y; ++row) {
        float* o = v + row * Z;
        for (int64_t l = 0; l < Z + 2 * r; ++l) pad[size_t(l)] = o[reflect(l - r, Z)];
        for (int64_t l = 0; l < Z; ++l) {
          float s = 0;
          for (int64_t t = 0; t < taps; ++t) s += k[size_t(t)] * pad[size_t(l + t)];
          o[l] = s;
        }
      }
    }
  }
}

}  // namespace fdl::kernels::cpu
