#include <doctest/doctest.h>

#include <string>

#include "engine/autograd.h"
#include "engine/ops/concat.h"
#include "engine/ops/elementwise.h"
#include "tests/support.h"

using namespace fdl;

TEST_CASE("concat_channels: parity with PyTorch, cat(a, b, a)") {
  const auto f = test::fixture("concat");
  for (DType t : {DType::F32, DType::F64}) {
    CAPTURE(dtype_name(t));
    Tensor a = test::at(f, "a").to(t).clone().set_requires_grad(true);
    Tensor b = test::at(f, "b").to(t).clone().set_requires_grad(true);
    Tensor y = concat_channels({a, b, a});
    test::check_close(y, test::at(f, "y"), 0, 0, "y");
    y.backward(test::at(f, "gy").to(t));
    test::check_close(a.grad(), test::at(f, "ga"), 1e-6, 1e-7, "ga");
    test::check_close(b.grad(), test::at(f, "gb"), 0, 0, "gb");
  }
}

TEST_CASE("concat_channels: cat(t, t) of a non-leaf sends both slices back into t") {
  Tensor x = test::randn({2, 3, 2, 2, 3}, 87, DType::F32).set_requires_grad(true);
  const Tensor t = scale(x, 1.0);  // a non-leaf, as in the decoder
  Tensor y = concat_channels({t, t});
  CHECK(y.shape() == Shape{2, 6, 2, 2, 3});
  const Tensor g = test::randn(y.shape(), 88, DType::F32);
  y.backward(g);
  const std::vector<double> gv = g.to_vector(), gx = x.grad().to_vector();
  const int64_t s = 12;
  int64_t wrong = 0;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t i = 0; i < s; ++i)
        wrong += gx[size_t((b * 3 + c) * s + i)] !=
                 float(gv[size_t((b * 6 + c) * s + i)] + gv[size_t((b * 6 + 3 + c) * s + i)]);
  CHECK(wrong == 0);
}

TEST_CASE("concat_channels: inputs that need no gradient get none") {
  Tensor a = test::randn({1, 2, 2, 2, 2}, 89).set_requires_grad(true);
  Tensor b = test::randn({1, 1, 2, 2, 2}, 90);
  concat_channels({b, a}).backward(Tensor::full({1, 3, 2, 2, 2}, 1.0, DType::F64));
  CHECK(a.grad().defined());
  CHECK_FALSE(b.grad().defined());
  autograd::NoGrad ng;
  CHECK_FALSE(concat_channels({a, b}).requires_grad());
}

TEST_CASE("concat_channels: bad inputs name the op and the argument") {
  const Tensor a = Tensor::zeros({2, 3, 4, 4, 4});
  CHECK_THROWS_WITH_AS(concat_channels({}), doctest::Contains("concat_channels: no tensors"),
                       Error);
  CHECK_THROWS_WITH_AS(concat_channels({a, Tensor::zeros({2, 3, 4, 4})}),
                       doctest::Contains("concat_channels: 'xs[1]' must have 5 dimensions"), Error);
  CHECK_THROWS_WITH_AS(
      concat_channels({a, Tensor::zeros({2, 1, 4, 5, 4})}),
      doctest::Contains("'xs[1]' has shape (2, 1, 4, 5, 4) but 'xs[0]' has shape (2, 3, 4, 4, 4)"),
      Error);
  CHECK_THROWS_WITH_AS(concat_channels({a, Tensor::zeros({1, 3, 4, 4, 4})}),
                       doctest::Contains("all dimensions but 1 must match"), Error);
  CHECK_THROWS_WITH_AS(concat_channels({a, Tensor::zeros({2, 3, 4, 4, 4}, DType::F64)}),
                       doctest::Contains("'xs[1]' is float64 but 'xs[0]' is float32"), Error);
  CHECK_THROWS_AS(concat_channels({a, Tensor::zeros({2, 3, 4, 4, 4}, DType::I32)}), Error);
}
