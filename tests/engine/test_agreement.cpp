// The host side of the GPU-vs-CPU judgement (tests/support: agreement, fresh_seed), which
// the gpu suite relies on and which can only be tested here.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "tests/support.h"

using namespace fdl;

TEST_CASE("agreement: normwise relative error") {
  const Tensor want = Tensor::from_vector(std::vector<double>{3, 0, -4}, {3});  // norm 5
  const test::Agreement same = test::agreement(want, want);
  CHECK(same.rel_error == 0);
  CHECK(same.bad_elements == 0);
  CHECK(same.first_bad == -1);
  // The error vector (0, 0.3, 0.4) has norm 0.5: 0.1 of the reference's, wherever it sits.
  const Tensor got = Tensor::from_vector(std::vector<double>{3, 0.3, -3.6}, {3});
  CHECK(test::agreement(got, want).rel_error == doctest::Approx(0.1).epsilon(1e-12));
  // Float32 against float64 compares values, not types.
  CHECK(test::agreement(want.to(DType::F32), want).rel_error == 0);
  // An all-zero reference gives the absolute error.
  const Tensor zero = Tensor::zeros({3}, DType::F64);
  CHECK(test::agreement(got, zero).rel_error == doctest::Approx(std::sqrt(9 + 0.09 + 12.96)));
  CHECK_THROWS_AS(test::agreement(want, Tensor::zeros({4}, DType::F64)), Error);
}

TEST_CASE("agreement: elements finite on one side only are counted, not averaged") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const Tensor want = Tensor::from_vector(std::vector<double>{1, 2, nan, inf, 5, -inf}, {2, 3});
  // Same values, same non-finite ones: perfect.
  const test::Agreement a = test::agreement(want, want);
  CHECK(a.bad_elements == 0);
  CHECK(a.rel_error == 0);
  // A NaN where the reference is finite (an unwritten, poisoned element), a number where it
  // is NaN, an Inf of the other sign.
  const Tensor got = Tensor::from_vector(std::vector<double>{1, nan, 7, -inf, 5, -inf}, {2, 3});
  const test::Agreement b = test::agreement(got, want);
  CHECK(b.bad_elements == 3);
  CHECK(b.first_bad == 1);
  CHECK(b.rel_error == 0);  // the finite pairs agree
  // A float32 poison pattern (all bits set) is a NaN.
  Tensor poisoned = Tensor::zeros({4});
  std::memset(poisoned.raw(), 0xFF, poisoned.nbytes());
  CHECK(test::agreement(poisoned, Tensor::zeros({4})).bad_elements == 4);
}

TEST_CASE("fresh_seed: FDL_TEST_SEED fixes it, otherwise it differs between calls") {
  const char* prev = std::getenv("FDL_TEST_SEED");
  const std::string saved = prev ? prev : "";
  ::setenv("FDL_TEST_SEED", "18446744073709551615", 1);
  CHECK(test::fresh_seed() == 18446744073709551615ull);
  ::setenv("FDL_TEST_SEED", "42", 1);
  CHECK(test::fresh_seed() == 42);
  for (const char* bad : {"", "-3", "12x", "seed", "18446744073709551616"}) {
    CAPTURE(bad);
    ::setenv("FDL_TEST_SEED", bad, 1);
    CHECK_THROWS_AS(test::fresh_seed(), Error);
  }
  ::unsetenv("FDL_TEST_SEED");
  // Two draws of 64 bits from random_device: equal with probability 2^-64.
  CHECK(test::fresh_seed() != test::fresh_seed());
  if (prev) ::setenv("FDL_TEST_SEED", saved.c_str(), 1);
}
