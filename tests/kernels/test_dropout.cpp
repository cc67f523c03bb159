#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

#include "engine/autograd.h"
#include "engine/ops/dropout.h"
#include "kernels/common/philox.h"
#include "tests/support.h"

using namespace fdl;

namespace {
// Per channel of y (nc channels of s values): the common value, or NaN if they differ.
std::vector<double> channel_values(const Tensor& y) {
  const std::vector<double> v = y.to_vector();
  const int64_t s = y.shape().numel_from(2), nc = y.numel() / s;
  std::vector<double> out(size_t(nc), 0);
  for (int64_t c = 0; c < nc; ++c) {
    out[c] = v[c * s];
    for (int64_t i = 1; i < s; ++i)
      if (v[c * s + i] != out[c]) out[c] = NAN;
  }
  return out;
}

// Checks that every channel is 0 or `scale` and that the keep fraction is within 5 sigma of
// 1 - p; returns the fraction.
double check_mask_structure(const Tensor& y, double p, double scale) {
  const std::vector<double> ch = channel_values(y);
  int64_t kept = 0, bad = 0;
  for (double v : ch) {
    if (v == scale)
      ++kept;
    else if (v != 0)
      ++bad;
  }
  CHECK(bad == 0);
  const double n = double(ch.size()), frac = double(kept) / n;
  CHECK(std::abs(frac - (1 - p)) <= 5 * std::sqrt(p * (1 - p) / n));
  return frac;
}
}  // namespace

TEST_CASE("dropout3d: whole channels, exact scale, keep fraction, and the Philox contract") {
  for (double p : {0.25, 0.6, 0.9}) {
    CAPTURE(p);
    Generator g(2024);
    g.offset = 5;
    const Tensor x = Tensor::full({4, 1000, 1, 2, 3}, 1.0);
    const Tensor y = dropout3d(x, p, true, g);
    const double scale = double(float(1.0 / (1.0 - p)));
    check_mask_structure(y, p, scale);
    CHECK(g.offset == 5 + 1000);  // 4000 numbers, 4 per Philox block
    // Channel i is kept iff its uniform from (seed, offset 5) is >= p.
    const std::vector<double> ch = channel_values(y);
    int64_t mismatched = 0;
    for (size_t i = 0; i < ch.size(); ++i)
      mismatched += (ch[i] != 0) != (double(kernels::philox_uniform(2024, 5, i)) >= p);
    CHECK(mismatched == 0);
  }
}

TEST_CASE("dropout3d: the same seed and offset give the same mask, the next call another") {
  const Tensor x = test::randn({2, 64, 2, 2, 3}, 42, DType::F32);
  Generator a(99), b(99);
  const Tensor ya = dropout3d(x, 0.5, true, a), yb = dropout3d(x, 0.5, true, b);
  CHECK(ya.to_vector() == yb.to_vector());
  CHECK(a.offset == 32);
  const Tensor next = dropout3d(x, 0.5, true, a);
  CHECK(a.offset == 64);
  CHECK(next.to_vector() != ya.to_vector());
  Generator other(100);
  CHECK(dropout3d(x, 0.5, true, other).to_vector() != ya.to_vector());
}

TEST_CASE("dropout3d: backward applies the forward's mask and scale") {
  Tensor x = Tensor::full({2, 50, 1, 2, 2}, 1.0).set_requires_grad(true);
  Generator g(5);
  Tensor y = dropout3d(x, 0.6, true, g);
  const Tensor gy = test::randn(y.shape(), 43, DType::F32);
  y.backward(gy);
  const std::vector<double> yv = y.to_vector(), gv = gy.to_vector(), gx = x.grad().to_vector();
  int64_t wrong = 0;
  for (size_t i = 0; i < yv.size(); ++i) wrong += gx[i] != float(gv[i] * yv[i]);
  CHECK(wrong == 0);
}

TEST_CASE("dropout3d: dropped channels are zero even where x is NaN") {
  Tensor x = Tensor::full({1, 200, 1, 1, 2}, std::numeric_limits<double>::quiet_NaN());
  Generator g(6);
  const std::vector<double> y = dropout3d(x, 0.5, true, g).to_vector();
  int64_t zeros = 0;
  for (double v : y) zeros += v == 0;
  CHECK(zeros > 0);
}

TEST_CASE("dropout3d: identity in eval or with p = 0, and the generator is untouched") {
  const Tensor x = test::randn({1, 3, 2, 2, 2}, 44);
  Generator g(1);
  CHECK(dropout3d(x, 0.6, false, g).same(x));
  CHECK(dropout3d(x, 0.0, true, g).same(x));
  CHECK(g.offset == 0);
}

TEST_CASE("dropout3d: PyTorch's Dropout3d has the same structure and keep fraction") {
  for (const std::string name : {"dropout_p06", "dropout_p025"}) {
    CAPTURE(name);
    const auto f = test::fixture(name);
    const double p = test::at(f, "p").item();
    const Tensor& ty = test::at(f, "y");
    const double scale = double(float(1.0 / (1.0 - p)));
    const double torch_frac = check_mask_structure(ty, p, scale);
    Generator g(123);
    const double ours =
        check_mask_structure(dropout3d(Tensor::full(ty.shape(), 1.0), p, true, g), p, scale);
    const double n = double(ty.numel() / ty.shape().numel_from(2));
    CHECK(std::abs(ours - torch_frac) <= 5 * std::sqrt(2 * p * (1 - p) / n));
  }
}

TEST_CASE("dropout3d: bad p or shape names the op") {
  Generator g(0);
  const Tensor x = Tensor::zeros({1, 2, 2, 2, 2});
  for (double p : {1.0, -0.1, 1.5, std::nan("")}) {
    CAPTURE(p);
    try {
      dropout3d(x, p, true, g);
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("dropout3d: p must be in [0, 1)") != std::string::npos);
    }
  }
  CHECK_THROWS_WITH_AS(dropout3d(Tensor::zeros({2, 2}), 0.5, true, g),
                       doctest::Contains("dropout3d: 'x' must have 5 dimensions"), Error);
}
