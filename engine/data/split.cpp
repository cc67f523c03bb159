#include "engine/data/split.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/random.h"
#include "kernels/common/error.h"

namespace fdl {

Split make_split(int n_cases, uint64_t seed, int fold, double train_percent, double test_fraction,
                 int folds) {
  FDL_CHECK(folds >= 2, "split: folds must be at least 2, got ", folds);
  FDL_CHECK(fold >= 1 && fold <= folds, "split: fold must be in 1..", folds, ", got ", fold);
  FDL_CHECK(train_percent > 0 && train_percent <= 100,
            "split: train percent must be in (0, 100], got ", train_percent);
  FDL_CHECK(test_fraction >= 0 && test_fraction < 1, "split: test fraction must be in [0, 1), got ",
            test_fraction);
  FDL_CHECK(n_cases >= 0, "split: negative case count ", n_cases);

  int n_test = int(std::lround(n_cases * test_fraction));
  if (test_fraction > 0 && n_cases >= 3 && n_test < 1) n_test = 1;
  const int rest = n_cases - n_test;
  FDL_CHECK(rest >= folds, "split: too few cases: ", n_cases, " cases leave ", rest, " after ",
            n_test, " for testing, fewer than the ", folds, " folds need");

  Generator g(seed);
  const std::vector<int> order = random_permutation(n_cases, g);

  Split s;
  s.test.assign(order.begin(), order.begin() + n_test);
  // Fold f (0-based) holds rest / folds cases, one more for the first rest % folds folds.
  const int base = rest / folds, extra = rest % folds;
  int start = n_test;
  for (int f = 0; f < folds; ++f) {
    const int len = base + (f < extra ? 1 : 0);
    std::vector<int>& dst = f == fold - 1 ? s.val : s.train;
    dst.insert(dst.end(), order.begin() + start, order.begin() + start + len);
    start += len;
  }
  // The epsilon keeps ceil from rounding 20 * 15 / 100 = 3.0000000000000004 up to 4.
  const double want = double(s.train.size()) * train_percent / 100.0;
  const size_t keep = std::max<size_t>(1, size_t(std::ceil(want - 1e-9)));
  s.train.resize(std::min(keep, s.train.size()));
  return s;
}

}  // namespace fdl
