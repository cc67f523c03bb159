// The Wilcoxon signed-rank test against textbook values, hand-computed ties, and an
// exhaustive enumeration of the sign patterns; the bootstrap CI of the mean difference.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "engine/metrics/paired.h"
#include "kernels/common/error.h"

using namespace fdl;

namespace {

// Darwin's Zea mays data as differences (cross- minus self-fertilised heights, in eighths of
// an inch; Fisher, The Design of Experiments), the example of scipy's wilcoxon documentation.
const std::vector<double> kDarwin{6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75};

std::vector<double> zeros(size_t n) { return std::vector<double>(n, 0.0); }

}  // namespace

TEST_CASE("wilcoxon: Darwin's data, exact and normal approximation") {
  const WilcoxonResult r = wilcoxon_signed_rank(kDarwin, zeros(kDarwin.size()));
  CHECK(r.n == 15);
  CHECK(r.exact);
  CHECK(r.statistic == 24);  // the ranks of -48 and -67 are 10 and 14
  CHECK(r.w_plus == 96);
  CHECK(r.p == doctest::Approx(0.041259765625).epsilon(1e-12));  // 2 * 676 / 2^15
  // A tie forces the normal approximation; without the continuity correction its p is
  // erfc(|w+ - n(n+1)/4| / se / sqrt 2) with the tie-corrected variance.
  std::vector<double> big = kDarwin;
  big.push_back(6);  // ties with the 6: no exact p
  const WilcoxonResult a = wilcoxon_signed_rank(big, zeros(big.size()), false);
  CHECK_FALSE(a.exact);
  // ranks: 6,6 -> 1.5 each; the rest shift by one; negatives 48 (11) and 67 (15): w- = 26.
  CHECK(a.statistic == 26);
  const double var = 16 * 17 * 33 / 24.0 - (8 - 2) / 48.0, mean = 16 * 17 / 4.0;
  CHECK(a.p ==
        doctest::Approx(std::erfc(std::fabs(a.w_plus - mean) / std::sqrt(var) / std::sqrt(2.0))));
}

TEST_CASE("wilcoxon: zeros dropped, ties averaged, continuity correction by hand") {
  // d = 0, 1, -1, 2, 2, 2, 3: the zero goes; |d| ranks 1.5 1.5 4 4 4 6; w+ = 19.5, w- = 1.5.
  const std::vector<double> x{5, 6, 4, 7, 7, 7, 8}, y{5, 5, 5, 5, 5, 5, 5};
  const WilcoxonResult r = wilcoxon_signed_rank(x, y);
  CHECK(r.n == 6);
  CHECK_FALSE(r.exact);
  CHECK(r.w_plus == 19.5);
  CHECK(r.statistic == 1.5);
  // mean 10.5, variance 6*7*13/24 - ((2^3-2) + (3^3-3))/48 = 22.125, corrected |diff| 8.5.
  CHECK(r.p == doctest::Approx(std::erfc(8.5 / std::sqrt(22.125) / std::sqrt(2.0))).epsilon(1e-12));
  CHECK(r.p == doctest::Approx(0.0707).epsilon(2e-3));
  // Non-finite pairs are dropped before anything else.
  const WilcoxonResult f = wilcoxon_signed_rank({1, NAN, 3}, {0, 1, INFINITY});
  CHECK(f.n == 1);
  CHECK(std::isnan(wilcoxon_signed_rank({1, 2}, {1, 2}).p));
  CHECK_THROWS_AS(wilcoxon_signed_rank({1, 2}, {1}), Error);
}

TEST_CASE("wilcoxon: exact p equals the enumeration of all sign patterns") {
  const std::vector<double> mags{0.3, 1.1, 2.5, 0.7, 4.0, 3.3, 1.9, 5.2, 0.05};
  const int n = int(mags.size());
  // Every sign pattern as an observed sample, against the full enumeration of the null.
  std::vector<double> wplus(size_t(1) << n);
  std::vector<double> ranks{2, 4, 6, 3, 8, 7, 5, 9, 1};  // the ranks of mags
  for (size_t m = 0; m < wplus.size(); ++m) {
    double w = 0;
    for (int i = 0; i < n; ++i)
      if (m >> i & 1) w += ranks[size_t(i)];
    wplus[m] = w;
  }
  const double mean = n * (n + 1) / 4.0;
  for (size_t m = 0; m < wplus.size(); m += 7) {
    std::vector<double> d(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) d[size_t(i)] = (m >> i & 1) ? mags[size_t(i)] : -mags[size_t(i)];
    const WilcoxonResult r = wilcoxon_signed_rank(d, zeros(d.size()));
    REQUIRE(r.exact);
    CHECK(r.w_plus == wplus[m]);
    double extreme = 0;
    for (double w : wplus)
      if (std::fabs(w - mean) >= std::fabs(wplus[m] - mean) - 1e-9) extreme += 1;
    CHECK(r.p == doctest::Approx(extreme / double(wplus.size())).epsilon(1e-12));
  }
}

TEST_CASE("bootstrap: CI of the mean difference") {
  // A constant difference: every resample has the same mean.
  const BootstrapCI c = bootstrap_mean_diff({3, 4, 5}, {1, 2, 3});
  CHECK(c.n == 3);
  CHECK(c.mean_diff == doctest::Approx(2));
  CHECK(c.ci_low == doctest::Approx(2));
  CHECK(c.ci_high == doctest::Approx(2));
  // 400 differences 0, 1, ..., 399 mod 10 (mean 4.5, sd ~2.876): the CI is near mean -+ 1.96
  // sd/sqrt(n).
  std::vector<double> x, y;
  for (int i = 0; i < 400; ++i) {
    x.push_back(i % 10);
    y.push_back(0);
  }
  const BootstrapCI b = bootstrap_mean_diff(x, y, 10000, 7);
  CHECK(b.mean_diff == doctest::Approx(4.5));
  CHECK(b.ci_low < 4.5);
  CHECK(b.ci_high > 4.5);
  const double half = 1.96 * std::sqrt(8.25 * 400 / 399.0) / 20;
  CHECK((b.ci_high - b.ci_low) / 2 == doctest::Approx(half).epsilon(0.1));
  CHECK((b.ci_high + b.ci_low) / 2 == doctest::Approx(4.5).epsilon(0.02));
  // Reproducible from the seed, different with another seed.
  const BootstrapCI b2 = bootstrap_mean_diff(x, y, 10000, 7),
                    b3 = bootstrap_mean_diff(x, y, 10000, 8);
  CHECK(b2.ci_low == b.ci_low);
  CHECK(b2.ci_high == b.ci_high);
  CHECK((b3.ci_low != b.ci_low || b3.ci_high != b.ci_high));
  CHECK(std::isnan(bootstrap_mean_diff({NAN}, {1}).mean_diff));
}

TEST_CASE("wilcoxon: more than 25 differences use the normal approximation") {
  // 30 distinct positive differences: w+ = 465, mean 232.5, variance 30*31*61/24 = 2363.75.
  std::vector<double> x;
  for (int i = 1; i <= 30; ++i) x.push_back(0.1 * i);
  const WilcoxonResult r = wilcoxon_signed_rank(x, zeros(x.size()));
  CHECK_FALSE(r.exact);
  CHECK(r.w_plus == 465);
  CHECK(r.statistic == 0);
  CHECK(r.p == doctest::Approx(std::erfc((232.5 - 0.5) / std::sqrt(2363.75) / std::sqrt(2.0)))
                   .epsilon(1e-12));
  CHECK(r.p < 2e-6);
  // Without the correction the p is smaller.
  CHECK(wilcoxon_signed_rank(x, zeros(x.size()), false).p < r.p);
}
