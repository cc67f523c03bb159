#include <doctest/doctest.h>

#include <string>

#include "engine/autograd.h"
#include "engine/ops/upsample.h"
#include "tests/support.h"

using namespace fdl;

TEST_CASE("upsample_nearest2x: parity with PyTorch fixtures in float32 and float64") {
  const auto f = test::fixture("upsample");
  for (DType t : {DType::F32, DType::F64}) {
    CAPTURE(dtype_name(t));
    Tensor x = test::at(f, "x").to(t).clone().set_requires_grad(true);
    Tensor y = upsample_nearest2x(x);
    CHECK(y.shape() == Shape{1, 2, 6, 8, 10});
    test::check_close(y, test::at(f, "y"), 0, 0, "y");
    y.backward(test::at(f, "gy").to(t));
    test::check_close(x.grad(), test::at(f, "gx"), 1e-6, 1e-6, "gx");
  }
}

TEST_CASE("upsample_nearest2x: every output voxel is its parent, on a larger odd shape") {
  const Tensor x = test::randn({2, 3, 5, 7, 9}, 63, DType::F32);
  const std::vector<double> xv = x.to_vector(), yv = upsample_nearest2x(x).to_vector();
  int64_t wrong = 0, i = 0;
  for (int64_t c = 0; c < 6; ++c)
    for (int64_t a = 0; a < 10; ++a)
      for (int64_t b = 0; b < 14; ++b)
        for (int64_t k = 0; k < 18; ++k, ++i)
          wrong += yv[size_t(i)] != xv[size_t(((c * 5 + a / 2) * 7 + b / 2) * 9 + k / 2)];
  CHECK(wrong == 0);
}

TEST_CASE("upsample_nearest2x: bad inputs name the op") {
  CHECK_THROWS_WITH_AS(upsample_nearest2x(Tensor::zeros({2, 3, 4, 4})),
                       doctest::Contains("upsample_nearest2x: 'x' must have 5 dimensions"), Error);
  CHECK_THROWS_AS(upsample_nearest2x(Tensor::zeros({1, 1, 2, 2, 2}, DType::I32)), Error);
}
