// Cubic B-spline fields (kernels/cpu/bspline.h): the weights sum to 1, linear control values
// give the same linear field, and random control points give the displacement size that
// engine/data/augment.h documents (about a third of their standard deviation).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "engine/random.h"
#include "kernels/cpu/bspline.h"

using namespace fdl;
namespace kc = fdl::kernels::cpu;

TEST_CASE("bspline_field: constants and linear functions are reproduced") {
  const int64_t X = 23, Y = 17, Z = 30;
  const double s = 5.5;
  const int64_t KX = kc::bspline_points(X, s), KY = kc::bspline_points(Y, s),
                KZ = kc::bspline_points(Z, s);
  CHECK(KX == 8);  // floor(22 / 5.5) + 4
  // Channel 0 constant; channel 1 the linear function 0.5 x - 0.25 y + 0.125 z + 1 sampled at
  // the control points' positions ((j - 1) s per axis).
  std::vector<float> ctrl(size_t(2 * KX * KY * KZ));
  for (int64_t i = 0; i < KX; ++i)
    for (int64_t j = 0; j < KY; ++j)
      for (int64_t k = 0; k < KZ; ++k) {
        const int64_t o = (i * KY + j) * KZ + k;
        ctrl[size_t(o)] = 3.0f;
        ctrl[size_t(KX * KY * KZ + o)] =
            float(0.5 * (i - 1) * s - 0.25 * (j - 1) * s + 0.125 * (k - 1) * s + 1);
      }
  std::vector<float> f(size_t(2 * X * Y * Z));
  kc::bspline_field(ctrl.data(), 2, s, f.data(), X, Y, Z);
  double err_const = 0, err_linear = 0;
  for (int64_t x = 0; x < X; ++x)
    for (int64_t y = 0; y < Y; ++y)
      for (int64_t z = 0; z < Z; ++z) {
        const int64_t o = (x * Y + y) * Z + z;
        err_const = std::max(err_const, std::abs(f[size_t(o)] - 3.0));
        err_linear = std::max(
            err_linear, std::abs(f[size_t(X * Y * Z + o)] - (0.5 * x - 0.25 * y + 0.125 * z + 1)));
      }
  CHECK(err_const <= 1e-5);
  CHECK(err_linear <= 1e-4);
}

TEST_CASE("bspline_field: N(0, 1) control points give a field of standard deviation about 1/3") {
  // The variance is prod over axes of sum_k B_k(f)^2, whose mean over f is 151/315 (the
  // degree-7 B-spline at its centre): (151/315)^3 = 0.110, a standard deviation of 0.332.
  // About 19^3 control points make the estimate good to a few percent.
  const int64_t n = 64;
  const double s = 3.5;
  const int64_t K = kc::bspline_points(n, s);
  Generator g(3);
  const Tensor ctrl = rand_normal({K, K, K}, g);
  std::vector<float> f(size_t(n * n * n));
  kc::bspline_field(ctrl.data<float>(), 1, s, f.data(), n, n, n);
  double s1 = 0, s2 = 0;
  for (float v : f) s1 += v, s2 += double(v) * v;
  const double mean = s1 / double(f.size()), sd = std::sqrt(s2 / double(f.size()) - mean * mean);
  CHECK(sd == doctest::Approx(0.332).epsilon(0.08));
}
