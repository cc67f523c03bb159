#include "kernels/cpu/bspline.h"

#include <array>
#include <cmath>
#include <vector>

namespace fdl::kernels::cpu {

namespace {

// Below this many output values per pass, a parallel region costs more than it saves.
constexpr int64_t kParallelMin = 1 << 14;

// One axis: the first of the four control points of each voxel, and their weights.
struct Axis {
  std::vector<int64_t> first;
  std::vector<std::array<float, 4>> w;
  Axis(int64_t n, double s) : first(size_t(n)), w(size_t(n)) {
    for (int64_t p = 0; p < n; ++p) {
      const double t = double(p) / s, i = std::floor(t), f = t - i, g = 1 - f;
      first[size_t(p)] = int64_t(i);
      w[size_t(p)] = {float(g * g * g / 6), float((3 * f * f * f - 6 * f * f + 4) / 6),
                      float((-3 * f * f * f + 3 * f * f + 3 * f + 1) / 6), float(f * f * f / 6)};
    }
  }
};

// out[r][p][k] = sum over m of w[p][m] * in[r][first[p] + m][k]: one axis of the tensor
// product, with `rows` outer rows, `inner` contiguous values per point.
void pass(const float* in, float* out, int64_t rows, int64_t points, int64_t inner,
          const Axis& ax) {
  const int64_t n = int64_t(ax.first.size());
#pragma omp parallel for collapse(2) schedule(static) if (rows * n * inner > kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t p = 0; p < n; ++p) {
      const std::array<float, 4>& w = ax.w[size_t(p)];
      const float* src = in + (r * points + ax.first[size_t(p)]) * inner;
      float* dst = out + (r * n + p) * inner;
#pragma omp simd
      for (int64_t k = 0; k < inner; ++k)
        dst[k] = w[0] * src[k] + w[1] * src[inner + k] + w[2] * src[2 * inner + k] +
                 w[3] * src[3 * inner + k];
    }
  }
}

}  // namespace

int64_t bspline_points(int64_t n, double spacing) {
  return int64_t(std::floor(double(n - 1) / spacing)) + 4;
}

void bspline_field(const float* ctrl, int64_t nc, double spacing, float* out, int64_t X, int64_t Y,
                   int64_t Z) {
  const int64_t KX = bspline_points(X, spacing), KY = bspline_points(Y, spacing),
                KZ = bspline_points(Z, spacing);
  const Axis ax(X, spacing), ay(Y, spacing), az(Z, spacing);
  std::vector<float> t1(size_t(nc * KX * KY * Z)), t2(size_t(nc * KX * Y * Z));
  pass(ctrl, t1.data(), nc * KX * KY, KZ, 1, az);
  pass(t1.data(), t2.data(), nc * KX, KY, Z, ay);
  pass(t2.data(), out, nc, KX, Y * Z, ax);
}

}  // namespace fdl::kernels::cpu
