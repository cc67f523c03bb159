#pragma once
// Deterministic data splits (docs/method.md §6.3): a held-out test set, k folds on the rest, and a
// training-size study that keeps the first ceil(n * P / 100) of the fold's training cases.
#include <cstdint>
#include <vector>

namespace fdl {

struct Split {
  std::vector<int> test, train, val;  // indices into Dataset::cases, in shuffled order
};

// Shuffles 0..n-1 with Philox from `seed`; the first round(n * test_fraction) indices (at least
// 1 when n >= 3 and test_fraction > 0) are the test set; the rest form `folds` contiguous folds
// (the first n % folds get one more); fold `fold` (1-based) is validation and the others, in
// order, are training, of which the first ceil(n_train * train_percent / 100) (at least 1)
// are kept. A smaller train_percent keeps a prefix of a larger one's list.
Split make_split(int n_cases, uint64_t seed, int fold, double train_percent,
                 double test_fraction = 0.2, int folds = 5);

}  // namespace fdl
