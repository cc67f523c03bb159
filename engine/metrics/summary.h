#pragma once
// Summary statistics of a metric over cases.
#include <vector>

namespace fdl {

// Over the finite values only (NaN and +-inf are skipped): n of them, their mean, the sample
// standard deviation (n - 1 denominator) and the 95% confidence interval of the mean with
// Student's t at n - 1 degrees of freedom: mean -+ t(0.975, n - 1) * std / sqrt(n).
// n = 0: everything NaN. n = 1: the mean is the value; std and the CI are undefined (NaN).
struct Stat {
  double mean, std, ci_low, ci_high;
  int n;
};
Stat summarise(const std::vector<double>& values);

// The p-quantile of Student's t distribution with df > 0 degrees of freedom (0 < p < 1).
double student_t_quantile(double p, double df);

}  // namespace fdl
