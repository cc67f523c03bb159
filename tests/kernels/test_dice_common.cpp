// The per-class Dice maths shared by the CPU and CUDA paths (kernels/common/dice.h) against
// hand values and finite differences, and the CUDA kernels' span map emulated on the host
// against the CPU kernels.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "kernels/common/dice.h"
#include "kernels/cpu/dice.h"

using namespace fdl::kernels;

TEST_CASE("dice (common): coefficients and loss against hand values") {
  // pg = 3, pp = 4, gg = 6: D = 10, dice = 0.6; w = 0.5: a = -2 w / D, b = 4 w pg / D^2.
  CHECK(dice_denominator(4, 6) == 10);
  CHECK(dice_score(3, 4, 6) == doctest::Approx(0.6).epsilon(1e-15));
  DiceCoefficients co = dice_coefficients(3, 4, 6, 0.5);
  CHECK(co.a == doctest::Approx(-0.1).epsilon(1e-15));
  CHECK(co.b == doctest::Approx(0.06).epsilon(1e-15));
  // Below the floor the denominator is the constant 1e-6: no b term.
  co = dice_coefficients(1e-8, 2e-7, 3e-7, 2.0);
  CHECK(dice_denominator(2e-7, 3e-7) == kDiceEps);
  CHECK(co.a == doctest::Approx(-4e6).epsilon(1e-15));
  CHECK(co.b == 0.0);
  CHECK(dice_score(1e-8, 2e-7, 3e-7) == doctest::Approx(2e-2).epsilon(1e-12));
  // On the floor the sum itself is the denominator, so b is live.
  co = dice_coefficients(5e-7, 5e-7, 5e-7, 1.0);
  CHECK(co.b == doctest::Approx(4 * 5e-7 / 1e-12).epsilon(1e-12));
  CHECK(dice_weight(1.0, 3) == 0.5);
  CHECK(dice_weight(0.6, 4) == doctest::Approx(0.2).epsilon(1e-15));
  // Class 0 is ignored.
  const double sums[9] = {1, 2, 3, 3, 4, 6, 0, 1e-9, 0};
  co = dice_class_coefficients(sums, 0, 1.0);
  CHECK(co.a == 0.0);
  CHECK(co.b == 0.0);
  CHECK(dice_class_coefficients(sums, 1, 0.5).a == doctest::Approx(-0.1).epsilon(1e-15));
  // loss = 1 - (0.6 + 0) / 2: class 2 is absent and predicted near zero.
  CHECK(dice_loss_from_sums(sums, 3) == doctest::Approx(0.7).epsilon(1e-15));
  // NaN sums give a NaN loss, as std::max would.
  const double nan_sums[6] = {0, 0, 0, 1, NAN, 1};
  CHECK(std::isnan(dice_loss_from_sums(nan_sums, 2)));
}

TEST_CASE("dice (common): a g + b p is the gradient of w * (-dice) in p") {
  // One class of 7 voxels; dice(p) = 2 sum(p g) / max(sum p^2 + sum g^2, eps).
  const std::vector<double> g{1, 0, 1, 0.5, 0, 1, 0};
  std::vector<double> p{0.9, 0.2, 0.6, 0.4, 0.05, 0.7, 0.3};
  const double w = 0.37;
  auto loss = [&](const std::vector<double>& q) {
    double pg = 0, pp = 0, gg = 0;
    for (size_t i = 0; i < q.size(); ++i) pg += q[i] * g[i], pp += q[i] * q[i], gg += g[i] * g[i];
    return -w * dice_score(pg, pp, gg);
  };
  double pg = 0, pp = 0, gg = 0;
  for (size_t i = 0; i < p.size(); ++i) pg += p[i] * g[i], pp += p[i] * p[i], gg += g[i] * g[i];
  const DiceCoefficients co = dice_coefficients(pg, pp, gg, w);
  for (size_t i = 0; i < p.size(); ++i) {
    CAPTURE(i);
    const double h = 1e-6, keep = p[i];
    p[i] = keep + h;
    const double up = loss(p);
    p[i] = keep - h;
    const double down = loss(p);
    p[i] = keep;
    CHECK(co.a * g[i] + co.b * p[i] == doctest::Approx((up - down) / (2 * h)).epsilon(1e-7));
  }
  // The fused element: chain rule through the sigmoid, p (1 - p) with 1 - p = e p.
  const double x = 0.3, e = std::exp(-x), s = 1 / (1 + e);
  CHECK(dice_grad_element(e, 1.0, co.a, co.b) ==
        doctest::Approx((co.a + co.b * s) * s * (1 - s)).epsilon(1e-14));
}

TEST_CASE("dice (common): the CUDA span map covers every element once and matches the CPU") {
  constexpr int64_t kEmuThreads = 256;  // kernels/cuda/runtime.h's kThreads
  struct Case {
    int64_t n, k, s;
  };
  for (const Case cs : {Case{1, 2, 1}, Case{2, 3, kDiceSpan - 1}, Case{1, 2, kDiceSpan},
                        Case{2, 3, kDiceSpan + 1}, Case{2, 4, 3 * kDiceSpan + 517}}) {
    const int64_t n = cs.n, k = cs.k, s = cs.s, total = n * k * s;
    const size_t len = static_cast<size_t>(total);
    CAPTURE(n);
    CAPTURE(k);
    CAPTURE(s);
    std::vector<double> x(len), g(len, 0.0);
    for (int64_t i = 0; i < total; ++i) x[size_t(i)] = 4 * std::sin(double(i) * 0.37);
    for (int64_t b = 0; b < n; ++b)
      for (int64_t v = 0; v < s; ++v) g[size_t((b * k + (v * 5 + b) % k) * s + v)] = 1;

    // The sums kernel: one partial triple per block, each element visited once.
    const int64_t per_row = dice_spans_per_row(s), blocks = n * k * per_row;
    std::vector<double> work(size_t(3 * blocks), 0.0);
    std::vector<int> seen(len, 0);
    for (int64_t t = 0; t < blocks; ++t) {
      const DiceSpan sp = dice_span(t, s);
      REQUIRE(sp.row < n * k);
      REQUIRE(sp.lo < sp.hi);
      REQUIRE(sp.hi <= s);
      for (int64_t tid = 0; tid < kEmuThreads; ++tid)
        for (int64_t i = sp.lo + tid; i < sp.hi; i += kEmuThreads) {
          const size_t e = size_t(sp.row * s + i);
          ++seen[e];
          const double p = 1 / (1 + std::exp(-x[e]));
          work[size_t(3 * t)] += p * g[e];
          work[size_t(3 * t + 1)] += p * p;
          work[size_t(3 * t + 2)] += g[e] * g[e];
        }
    }
    int64_t wrong = 0;
    for (int c : seen) wrong += c != 1;
    CHECK(wrong == 0);

    // The finalize kernel: each class's partials, each block exactly once and of that class.
    std::vector<double> sums(size_t(3 * k), 0.0);
    std::vector<int> used(size_t(blocks), 0);
    for (int64_t c = 0; c < k; ++c)
      for (int64_t j = 0; j < n * per_row; ++j) {
        const int64_t t = dice_partial_block(j, c, k, per_row);
        REQUIRE(t < blocks);
        CHECK(dice_span(t, s).row % k == c);
        ++used[size_t(t)];
        for (int q = 0; q < 3; ++q) sums[size_t(3 * c + q)] += work[size_t(3 * t + q)];
      }
    wrong = 0;
    for (int u : used) wrong += u != 1;
    CHECK(wrong == 0);
    std::vector<double> want(size_t(3 * k)), scratch(size_t(cpu::dice_workspace(n, k, s)));
    cpu::dice_sums(x.data(), g.data(), n, k, s, scratch.data(), want.data());
    for (size_t i = 0; i < want.size(); ++i)
      CHECK(sums[i] == doctest::Approx(want[i]).epsilon(1e-13));
    CHECK(dice_loss_from_sums(sums.data(), k) ==
          doctest::Approx(dice_loss_from_sums(want.data(), k)).epsilon(1e-13));

    // The backward kernel: coefficients per block from the sums and gout, one element each.
    const double w = dice_weight(0.8, k);
    std::vector<double> gx(len, NAN), a, b;
    for (int64_t c = 0; c < k; ++c) {
      const DiceCoefficients co = dice_class_coefficients(want.data(), c, w);
      a.push_back(co.a);
      b.push_back(co.b);
    }
    for (int64_t t = 0; t < blocks; ++t) {
      const DiceSpan sp = dice_span(t, s);
      const DiceCoefficients co = dice_class_coefficients(want.data(), sp.row % k, w);
      for (int64_t i = sp.lo; i < sp.hi; ++i) {
        const size_t e = size_t(sp.row * s + i);
        gx[e] = co.a == 0 && co.b == 0 ? 0.0 : dice_grad_element(std::exp(-x[e]), g[e], co.a, co.b);
      }
    }
    std::vector<double> cpu_gx(len);
    cpu::dice_backward(x.data(), g.data(), a.data(), b.data(), n, k, s, cpu_gx.data());
    double worst = 0;
    for (size_t i = 0; i < gx.size(); ++i)
      worst = std::max(worst, std::abs(gx[i] - cpu_gx[i]) / (std::abs(cpu_gx[i]) + 1e-300));
    CHECK(worst < 1e-13);
  }
}
