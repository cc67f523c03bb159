// The emulated cuFFT: plan-many real transforms with cuFFT's layout and its unnormalised
// convention, a forward transform with a negative exponent.
#include <cufft.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "tests/emu/emu_test.h"

namespace fdl::emu_test {
namespace {

// A plan of `batch` contiguous real transforms of shape n (rank n.size()).
cufftHandle make_plan(std::vector<long long> n, long long batch, cufftType type) {
  long long real = 1, half = 1;
  for (size_t i = 0; i < n.size(); ++i) {
    real *= n[i];
    half *= i + 1 == n.size() ? n[i] / 2 + 1 : n[i];
  }
  const bool forward = type == CUFFT_R2C || type == CUFFT_D2Z;
  cufftHandle h = 0;
  REQUIRE(cufftCreate(&h) == CUFFT_SUCCESS);
  size_t work = 0;
  REQUIRE(cufftMakePlanMany64(h, int(n.size()), n.data(), nullptr, 1, forward ? real : half,
                              nullptr, 1, forward ? half : real, type, batch,
                              &work) == CUFFT_SUCCESS);
  return h;
}

TEST_CASE("emu cufft: R2C then C2R returns N times the input for 1-d and 2-d batches") {
  struct Shape {
    std::vector<long long> n;
    long long batch;
  };
  for (const Shape& s : {Shape{{16}, 3}, Shape{{15}, 2}, Shape{{4, 6}, 2}}) {
    long long N = 1, half = 1;
    for (size_t i = 0; i < s.n.size(); ++i) {
      N *= s.n[i];
      half *= i + 1 == s.n.size() ? s.n[i] / 2 + 1 : s.n[i];
    }
    INFO("N = ", N, ", batch ", s.batch);
    std::mt19937 gen(5);
    std::normal_distribution<float> normal;
    std::vector<float> x(size_t(N * s.batch));
    for (float& v : x) v = normal(gen);
    DeviceBuffer<float> d_x(x), d_y(x.size(), 0.0f);
    DeviceBuffer<cufftComplex> spectrum(size_t(half * s.batch), cufftComplex{0, 0});
    const cufftHandle fwd = make_plan(s.n, s.batch, CUFFT_R2C);
    const cufftHandle inv = make_plan(s.n, s.batch, CUFFT_C2R);
    REQUIRE(cufftExecR2C(fwd, d_x.get(), spectrum.get()) == CUFFT_SUCCESS);
    REQUIRE(cufftExecC2R(inv, spectrum.get(), d_y.get()) == CUFFT_SUCCESS);
    const std::vector<float> y = d_y.host();
    double err = 0, norm = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      err = std::max(err, std::fabs(double(y[i]) - double(N) * x[i]));
      norm = std::max(norm, std::fabs(double(N) * x[i]));
    }
    CHECK(err <= 1e-5 * norm);
    CHECK(cufftDestroy(fwd) == CUFFT_SUCCESS);
    CHECK(cufftDestroy(inv) == CUFFT_SUCCESS);
  }
}

TEST_CASE("emu cufft: the R2C spectrum of a constant plus cosine and sine has the expected bins") {
  // x[j] = 1 + cos(2 pi 3 j / N) + 2 sin(2 pi 5 j / N): with X[k] = sum_j x[j] e^(-2 pi i jk/N),
  // X[0] = N, X[3] = N / 2 and X[5] = -i N; every other bin is 0.
  constexpr int N = 32;
  std::vector<float> x(N);
  for (int j = 0; j < N; ++j)
    x[size_t(j)] = float(1 + std::cos(2 * M_PI * 3 * j / N) + 2 * std::sin(2 * M_PI * 5 * j / N));
  DeviceBuffer<float> d_x(x);
  DeviceBuffer<cufftComplex> d_X(N / 2 + 1, cufftComplex{7, 7});
  const cufftHandle h = make_plan({N}, 1, CUFFT_R2C);
  REQUIRE(cufftExecR2C(h, d_x.get(), d_X.get()) == CUFFT_SUCCESS);
  const std::vector<cufftComplex> X = d_X.host();
  for (int k = 0; k <= N / 2; ++k) {
    INFO("bin ", k);
    const double re = k == 0 ? N : k == 3 ? N / 2.0 : 0, im = k == 5 ? -N : 0;
    CHECK(std::fabs(X[size_t(k)].x - re) < 1e-4);
    CHECK(std::fabs(X[size_t(k)].y - im) < 1e-4);
  }
  CHECK(cufftDestroy(h) == CUFFT_SUCCESS);
}

TEST_CASE("emu cufft: a double D2Z then Z2D round trip and the plan errors") {
  constexpr long long N = 12;
  std::vector<double> x(N);
  for (long long j = 0; j < N; ++j) x[size_t(j)] = double(j * j % 7) - 3;
  DeviceBuffer<double> d_x(x), d_y(N, 0.0);
  DeviceBuffer<cufftDoubleComplex> d_X(N / 2 + 1, cufftDoubleComplex{0, 0});
  const cufftHandle fwd = make_plan({N}, 1, CUFFT_D2Z), inv = make_plan({N}, 1, CUFFT_Z2D);
  REQUIRE(cufftExecD2Z(fwd, d_x.get(), d_X.get()) == CUFFT_SUCCESS);
  REQUIRE(cufftExecZ2D(inv, d_X.get(), d_y.get()) == CUFFT_SUCCESS);
  const std::vector<double> y = d_y.host();
  for (long long j = 0; j < N; ++j)
    CHECK(std::fabs(y[size_t(j)] - double(N) * x[size_t(j)]) < 1e-12);

  CHECK(cufftExecZ2D(fwd, d_X.get(), d_y.get()) == CUFFT_INVALID_TYPE);
  cufftHandle unmade = 0;
  REQUIRE(cufftCreate(&unmade) == CUFFT_SUCCESS);
  CHECK(cufftExecD2Z(unmade, d_x.get(), d_X.get()) == CUFFT_INVALID_PLAN);
  for (cufftHandle h : {fwd, inv, unmade}) CHECK(cufftDestroy(h) == CUFFT_SUCCESS);
  CHECK(cufftDestroy(fwd) == CUFFT_INVALID_PLAN);
}

}  // namespace
}  // namespace fdl::emu_test
