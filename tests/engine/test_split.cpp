// make_split: deterministic from the seed, disjoint and complete, folds rotate over the
// non-test cases, training-size prefixes with the right counts, and errors for bad arguments.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "engine/data/split.h"
#include "kernels/common/error.h"

using namespace fdl;

namespace {

std::set<int> as_set(const std::vector<int>& v) { return {v.begin(), v.end()}; }

std::string error_of(int n, int fold, double p, double test_fraction = 0.2, int folds = 5) {
  try {
    make_split(n, 7, fold, p, test_fraction, folds);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("split: the same seed gives the same split and another seed another") {
  const Split a = make_split(40, 3, 2, 100), b = make_split(40, 3, 2, 100),
              c = make_split(40, 4, 2, 100);
  CHECK(a.test == b.test);
  CHECK(a.train == b.train);
  CHECK(a.val == b.val);
  CHECK((a.test != c.test || a.train != c.train));
  // Shuffled: the test set is not simply the first indices.
  std::vector<int> sorted = a.test;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted != std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7});
}

TEST_CASE("split: test, validation and training are disjoint and cover every case") {
  for (int n : {3, 7, 12, 20, 41, 260}) {
    for (int fold = 1; fold <= 2; ++fold) {
      const Split s = make_split(n, 11, fold, 100, 0.2, 2);
      std::vector<int> all = s.test;
      all.insert(all.end(), s.train.begin(), s.train.end());
      all.insert(all.end(), s.val.begin(), s.val.end());
      std::sort(all.begin(), all.end());
      std::vector<int> want(static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) want[size_t(i)] = i;
      CHECK_MESSAGE(all == want, "n = ", n, ", fold ", fold);
      const int n_test = std::max(1, int(std::lround(n * 0.2)));
      CHECK(int(s.test.size()) == n_test);
    }
  }
}

TEST_CASE("split: folds rotate over the non-test cases and keep the test set") {
  const int n = 23;
  const Split first = make_split(n, 5, 1, 100);
  std::set<int> vals;
  for (int fold = 1; fold <= 5; ++fold) {
    const Split s = make_split(n, 5, fold, 100);
    CHECK(s.test == first.test);
    for (int v : s.val) CHECK_MESSAGE(vals.insert(v).second, "case ", v, " validates in two folds");
    // Fold sizes differ by at most one: 18 non-test cases in 5 folds are 4, 4, 4, 3, 3.
    CHECK(s.val.size() == (fold <= 3 ? 4u : 3u));
    CHECK(s.train.size() + s.val.size() == 18u);
  }
  std::set<int> rest;
  for (int i = 0; i < n; ++i)
    if (!as_set(first.test).count(i)) rest.insert(i);
  CHECK(vals == rest);
}

TEST_CASE("split: train percent keeps the first ceil(n * P / 100) cases, nested") {
  // 31 cases: 6 test, 25 in five folds of 5, so 20 training cases per fold.
  const Split full = make_split(31, 9, 3, 100);
  REQUIRE(full.train.size() == 20u);
  const std::pair<double, size_t> cases[] = {{100, 20}, {50, 10}, {30, 6},  {15, 3}, {10, 2},
                                             {7.5, 2},  {5, 1},   {2.5, 1}, {0.1, 1}};
  for (const auto& [p, want] : cases) {
    const Split s = make_split(31, 9, 3, p);
    CHECK_MESSAGE(s.train.size() == want, "P = ", p);
    CHECK(std::equal(s.train.begin(), s.train.end(), full.train.begin()));
    CHECK(s.val == full.val);
    CHECK(s.test == full.test);
  }
}

TEST_CASE("split: bad arguments give errors naming them") {
  CHECK(error_of(20, 0, 100).find("fold must be in 1..5") != std::string::npos);
  CHECK(error_of(20, 6, 100).find("fold must be in 1..5") != std::string::npos);
  CHECK(error_of(20, 1, 0).find("train percent") != std::string::npos);
  CHECK(error_of(20, 1, 100.5).find("train percent") != std::string::npos);
  CHECK(error_of(20, 1, 100, 1.0).find("test fraction") != std::string::npos);
  CHECK(error_of(5, 1, 100).find("too few cases") != std::string::npos);
  CHECK(error_of(6, 1, 100) == "no error");  // 1 test + 5 folds of 1
  CHECK(error_of(20, 1, 100, 0.2, 1).find("folds must be at least 2") != std::string::npos);
}
