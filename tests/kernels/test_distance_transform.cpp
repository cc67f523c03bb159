// The exact EDT against brute force (the minimum over all feature voxels) on small random
// masks with anisotropic spacing, including empty, full and single-line grids.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu/distance_transform.h"

using namespace fdl::kernels::cpu;

namespace {

std::vector<double> brute_force(const std::vector<uint8_t>& f, int64_t nx, int64_t ny, int64_t nz,
                                double sx, double sy, double sz) {
  std::vector<double> d(f.size(), std::numeric_limits<double>::infinity());
  for (int64_t i = 0; i < nx; ++i)
    for (int64_t j = 0; j < ny; ++j)
      for (int64_t k = 0; k < nz; ++k) {
        double& best = d[size_t((i * ny + j) * nz + k)];
        for (int64_t a = 0; a < nx; ++a)
          for (int64_t b = 0; b < ny; ++b)
            for (int64_t c = 0; c < nz; ++c)
              if (f[size_t((a * ny + b) * nz + c)]) {
                const double dx = double(i - a) * sx, dy = double(j - b) * sy,
                             dz = double(k - c) * sz;
                best = std::min(best, dx * dx + dy * dy + dz * dz);
              }
      }
  return d;
}

}  // namespace

TEST_CASE("squared_edt: equals brute force on random anisotropic masks") {
  std::mt19937 rng(7);
  struct Case {
    int64_t nx, ny, nz;
    double density;
  };
  const Case cases[] = {{9, 8, 7, 0.05}, {9, 8, 7, 0.3},   {6, 11, 5, 0.01}, {5, 4, 13, 0.9},
                        {1, 1, 17, 0.1}, {17, 1, 1, 0.1},  {1, 13, 1, 0.2},  {7, 7, 7, 0.0},
                        {4, 5, 6, 1.0},  {10, 9, 8, 0.002}};
  const double spacings[][3] = {{1, 1, 1}, {0.7, 1.3, 2.9}, {3.1, 0.45, 1.05}};
  for (const Case& c : cases)
    for (const auto& s : spacings) {
      std::bernoulli_distribution on(c.density);
      std::vector<uint8_t> f(size_t(c.nx * c.ny * c.nz));
      for (auto& v : f) v = on(rng);
      const std::vector<double> want = brute_force(f, c.nx, c.ny, c.nz, s[0], s[1], s[2]);
      std::vector<double> got(f.size());
      std::vector<float> got_f(f.size());
      squared_edt(f.data(), got.data(), c.nx, c.ny, c.nz, s[0], s[1], s[2]);
      squared_edt(f.data(), got_f.data(), c.nx, c.ny, c.nz, s[0], s[1], s[2]);
      int bad = 0;
      for (size_t i = 0; i < f.size(); ++i) {
        if (std::isinf(want[i])) {
          bad += !(std::isinf(got[i]) && std::isinf(got_f[i]));
          continue;
        }
        bad += std::abs(got[i] - want[i]) > 1e-9 ||
               std::abs(double(got_f[i]) - want[i]) > 1e-6 * (1 + want[i]);
      }
      CHECK_MESSAGE(bad == 0, c.nx, "x", c.ny, "x", c.nz, " density ", c.density, " spacing ", s[0],
                    ",", s[1], ",", s[2], ": ", bad, " voxels differ");
    }
}

TEST_CASE("squared_edt: a single feature voxel gives the weighted squared distance everywhere") {
  const int64_t nx = 40, ny = 30, nz = 50;  // large enough for the parallel passes
  std::vector<uint8_t> f(size_t(nx * ny * nz), 0);
  f[size_t((3 * ny + 29) * nz + 17)] = 1;
  std::vector<double> d(f.size());
  squared_edt(f.data(), d.data(), nx, ny, nz, 0.5, 2.0, 1.25);
  double worst = 0;
  for (int64_t i = 0; i < nx; ++i)
    for (int64_t j = 0; j < ny; ++j)
      for (int64_t k = 0; k < nz; ++k) {
        const double dx = 0.5 * double(i - 3), dy = 2.0 * double(j - 29),
                     dz = 1.25 * double(k - 17);
        worst = std::max(
            worst, std::abs(d[size_t((i * ny + j) * nz + k)] - (dx * dx + dy * dy + dz * dz)));
      }
  CHECK(worst <= 1e-9);
}
