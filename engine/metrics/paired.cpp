#include "engine/metrics/paired.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels/common/error.h"
#include "kernels/common/philox.h"

namespace fdl {
namespace {

std::vector<double> finite_differences(const std::vector<double>& x, const std::vector<double>& y,
                                       const char* op) {
  FDL_CHECK(x.size() == y.size(), op, ": x has ", x.size(), " values but y has ", y.size());
  std::vector<double> d;
  for (size_t i = 0; i < x.size(); ++i)
    if (std::isfinite(x[i]) && std::isfinite(y[i])) d.push_back(x[i] - y[i]);
  return d;
}

// P(W+ <= w) under the null for ranks 1..n without ties: the number of subsets of {1..n}
// with sum <= w over 2^n.
double exact_cdf(int n, double w) {
  const int total = n * (n + 1) / 2;
  std::vector<double> count(size_t(total) + 1, 0.0);
  count[0] = 1;
  for (int r = 1; r <= n; ++r)
    for (int s = total; s >= r; --s) count[size_t(s)] += count[size_t(s - r)];
  double below = 0;
  for (int s = 0; s <= total && s <= w; ++s) below += count[size_t(s)];
  return below / std::ldexp(1.0, n);
}

}  // namespace

WilcoxonResult wilcoxon_signed_rank(const std::vector<double>& x, const std::vector<double>& y,
                                    bool continuity) {
  std::vector<double> d;
  for (double v : finite_differences(x, y, "wilcoxon_signed_rank"))
    if (v != 0) d.push_back(v);
  const int n = int(d.size());
  if (n == 0) return {NAN, NAN, NAN, 0, false};
  std::vector<int> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](int a, int b) { return std::fabs(d[a]) < std::fabs(d[b]); });
  double w_plus = 0, tie_term = 0;
  bool ties = false;
  for (int i = 0; i < n;) {
    int j = i;
    while (j + 1 < n && std::fabs(d[order[j + 1]]) == std::fabs(d[order[i]])) ++j;
    const double rank = 0.5 * (i + j) + 1, t = j - i + 1;  // the average of ranks i+1..j+1
    if (t > 1) ties = true;
    tie_term += t * t * t - t;
    for (int k = i; k <= j; ++k)
      if (d[order[k]] > 0) w_plus += rank;
    i = j + 1;
  }
  const double total = n * (n + 1) / 2.0, mean = total / 2;
  WilcoxonResult r{std::min(w_plus, total - w_plus), w_plus, NAN, n, n <= 25 && !ties};
  if (r.exact) {
    r.p = std::min(1.0, 2 * exact_cdf(n, r.statistic));
  } else {
    const double se = std::sqrt(n * (n + 1) * (2 * n + 1) / 24.0 - tie_term / 48);
    double diff = w_plus - mean;
    if (continuity && diff != 0) diff -= diff > 0 ? 0.5 : -0.5;
    r.p = std::erfc(std::fabs(diff / se) / std::sqrt(2.0));
  }
  return r;
}

BootstrapCI bootstrap_mean_diff(const std::vector<double>& x, const std::vector<double>& y,
                                int resamples, uint64_t seed) {
  FDL_CHECK(resamples >= 2, "bootstrap_mean_diff: resamples must be >= 2, got ", resamples);
  const std::vector<double> d = finite_differences(x, y, "bootstrap_mean_diff");
  const int n = int(d.size());
  if (n == 0) return {NAN, NAN, NAN, 0};
  std::vector<double> means(static_cast<size_t>(resamples));
  for (int b = 0; b < resamples; ++b) {
    double s = 0;
    for (int i = 0; i < n; ++i) {
      const uint64_t k = uint64_t(b) * uint64_t(n) + uint64_t(i);
      const int pick = std::min(n - 1, int(kernels::philox_uniform(seed, 0, k) * float(n)));
      s += d[size_t(pick)];
    }
    means[size_t(b)] = s / n;
  }
  std::sort(means.begin(), means.end());
  auto percentile = [&](double q) {  // numpy's linear interpolation between order statistics
    const double pos = q * (resamples - 1);
    const size_t lo = size_t(std::floor(pos));
    const size_t hi = std::min(lo + 1, means.size() - 1);
    return means[lo] + (pos - double(lo)) * (means[hi] - means[lo]);
  };
  return {std::accumulate(d.begin(), d.end(), 0.0) / n, percentile(0.025), percentile(0.975), n};
}

}  // namespace fdl
