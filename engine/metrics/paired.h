#pragma once
// Paired comparisons of two methods over the same cases: the Wilcoxon signed-rank test and a
// bootstrap confidence interval of the mean difference.
#include <cstdint>
#include <vector>

namespace fdl {

// Two-sided Wilcoxon signed-rank test of the differences d = x - y (pairs with a non-finite
// value are dropped first). Zero differences are dropped ("wilcox" zero handling, scipy's
// default), leaving n; the |d| are ranked with average ranks for ties; w_plus is the rank sum
// of the positive differences and statistic = min(w_plus, n(n+1)/2 - w_plus).
// p: exact (the null distribution of w_plus by counting the 2^n sign patterns) when n <= 25
// and there are no ties; otherwise the normal approximation with the tie-corrected variance
// n(n+1)(2n+1)/24 - sum(t^3 - t)/48 and, when `continuity`, the continuity correction
// (|w_plus - n(n+1)/4| shrunk by 0.5). n = 0: p and the statistic are NaN.
struct WilcoxonResult {
  double statistic, w_plus, p;
  int n;       // non-zero differences used
  bool exact;  // p from the exact distribution
};
WilcoxonResult wilcoxon_signed_rank(const std::vector<double>& x, const std::vector<double>& y,
                                    bool continuity = true);

// Percentile bootstrap of the mean of x - y over the finite pairs: `resamples` draws of n pairs
// with replacement (Philox from `seed`, so the interval is reproducible), and the 2.5% and
// 97.5% percentiles (linear interpolation) of the resampled means. n = 0: NaN.
struct BootstrapCI {
  double mean_diff, ci_low, ci_high;
  int n;
};
BootstrapCI bootstrap_mean_diff(const std::vector<double>& x, const std::vector<double>& y,
                                int resamples = 10000, uint64_t seed = 1);

}  // namespace fdl
