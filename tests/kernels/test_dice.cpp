#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/autograd.h"
#include "engine/ops/dice.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/one_hot.h"
#include "kernels/cpu/dice.h"
#include "tests/support.h"

using namespace fdl;

namespace {
// A float64 one-hot target (N, K, X, Y, Z) from labels (i * mult + add) % k, or % (k - 1) when
// the last class is to be absent.
Tensor target_of(const Shape& s, int k, bool last_absent, uint64_t mult = 7) {
  Tensor labels = Tensor::empty(s, DType::I32);
  const int kk = last_absent ? k - 1 : k;
  for (int64_t i = 0; i < s.numel(); ++i) labels.data<int32_t>()[i] = int32_t((i * mult + 3) % kk);
  return one_hot(labels, k).to(DType::F64);
}
}  // namespace

TEST_CASE("soft_dice_loss: loss, per-class Dice and gradient match the torch fixtures") {
  const auto fx = test::fixture("dice");
  for (const std::string c : {"mixed", "absent", "binary"}) {
    CAPTURE(c);
    const Tensor x32 = test::at(fx, c + ".logits"), g32 = test::at(fx, c + ".target");
    const Tensor want_loss = test::at(fx, c + ".loss"), want_grad = test::at(fx, c + ".grad");
    const std::vector<double> want_dice = test::at(fx, c + ".dice").to_vector();
    for (DType dt : {DType::F32, DType::F64}) {
      const bool f32 = dt == DType::F32;
      Tensor x = x32.to(dt).clone().set_requires_grad(true);
      const Tensor loss = soft_dice_loss(x, g32.to(dt));
      CHECK(loss.ndim() == 0);
      CHECK(loss.dtype() == dt);
      test::check_close(loss, want_loss.reshape(Shape{}).to(dt), f32 ? 1e-6 : 1e-12, 0,
                        c + " loss");
      loss.backward();
      test::check_close(x.grad(), want_grad, f32 ? 1e-5 : 1e-10, f32 ? 1e-9 : 1e-15, c + " grad");
      const std::vector<double> dice = dice_per_class(x.detach(), g32.to(dt));
      REQUIRE(dice.size() == want_dice.size());
      for (size_t k = 0; k < dice.size(); ++k)
        CHECK(dice[k] == doctest::Approx(want_dice[k]).epsilon(f32 ? 1e-6 : 1e-12));
    }
  }
}

// The op table (test_op_cases.cpp) checks the gradient with every class present and with
// one absent; this target is built by hand.
TEST_CASE("soft_dice_loss: gradcheck in double with a denominator below the 1e-6 floor") {
  // Tiny soft targets and very negative logits in class 2: sum(p^2) + sum(g^2) ~ 1e-8. The
  // target gets no gradient, so it is held fixed and only the logits are checked.
  Tensor x = test::randn({1, 3, 3, 2, 5}, 23);
  Tensor g = target_of({1, 3, 2, 5}, 3, false, 5);
  for (int64_t i = 0; i < 30; ++i) {
    x.data<double>()[60 + i] -= 12;
    g.data<double>()[60 + i] = 1e-5 * double(i % 4);
  }
  CHECK(dice_per_class(x, g)[2] > 0);
  test::gradcheck([g](const std::vector<Tensor>& in) { return soft_dice_loss(in[0], g); }, {x},
                  1e-6, 1e-5, 1e-9);
}

TEST_CASE("soft_dice_loss: no gradient to the target, and argument errors") {
  Tensor x = test::randn({1, 2, 3, 3, 3}, 31).set_requires_grad(true);
  Tensor g = target_of({1, 3, 3, 3}, 2, false).set_requires_grad(true);
  soft_dice_loss(x, g).backward();
  CHECK(x.grad().defined());
  CHECK_FALSE(g.grad().defined());
  {
    autograd::NoGrad ng;
    CHECK_FALSE(soft_dice_loss(x, g).requires_grad());
  }
  CHECK_THROWS_WITH_AS(
      soft_dice_loss(test::randn({1, 1, 2, 2, 2}, 1), test::randn({1, 1, 2, 2, 2}, 2)),
      doctest::Contains("K >= 2"), Error);
  CHECK_THROWS_WITH_AS(soft_dice_loss(x, target_of({1, 3, 3, 2}, 2, false)),
                       doctest::Contains("'target' has shape"), Error);
  CHECK_THROWS_WITH_AS(soft_dice_loss(x, g.to(DType::F32)), doctest::Contains("float32"), Error);
  CHECK_THROWS_WITH_AS(
      dice_per_class(x.reshape({2, 3, 3, 3}).detach(), g.reshape({2, 3, 3, 3}).detach()),
      doctest::Contains("5 dimensions"), Error);
}

TEST_CASE("soft_dice_loss: the same bits for any thread count") {
  const Shape s{2, 3, 37, 41, 23};  // many partial-sum blocks
  Tensor x = test::randn(s, 41, DType::F32).set_requires_grad(true);
  const Tensor g = target_of({2, 37, 41, 23}, 3, false).to(DType::F32);
  auto run = [&](int threads) {
    const int prev = omp_get_max_threads();
    omp_set_num_threads(threads);
    x.set_grad(Tensor());
    const Tensor loss = soft_dice_loss(x, g);
    loss.backward();
    omp_set_num_threads(prev);
    return std::make_pair(loss.item(), x.grad().to_vector());
  };
  const auto one = run(1), three = run(3);
  CHECK(one.first == three.first);
  CHECK(one.second == three.second);
  // And the float32 result agrees with a float64 evaluation.
  CHECK(one.first ==
        doctest::Approx(soft_dice_loss(x.detach().to(DType::F64), g.to(DType::F64)).item())
            .epsilon(1e-6));
}

TEST_CASE("soft_dice_loss: float32 agrees with float64 over the whole logit range") {
  // Logits up to +-120 reach the clamped ends of the float exponential.
  const Tensor x64 = scale(test::randn({1, 3, 17, 13, 11}, 51), 40.0);
  const Tensor g64 = target_of({1, 17, 13, 11}, 3, false, 11);
  Tensor x32 = x64.to(DType::F32).set_requires_grad(true);
  Tensor xd = x32.detach().to(DType::F64).set_requires_grad(true);
  const Tensor l32 = soft_dice_loss(x32, g64.to(DType::F32)), l64 = soft_dice_loss(xd, g64);
  CHECK(l32.item() == doctest::Approx(l64.item()).epsilon(1e-6));
  l32.backward();
  l64.backward();
  const double gmax = [&] {
    double m = 0;
    for (double v : xd.grad().to_vector()) m = std::max(m, std::abs(v));
    return m;
  }();
  test::check_close(x32.grad(), xd.grad(), 1e-5, 1e-6 * gmax, "float32 vs float64 gradient");
}

TEST_CASE("soft_dice_loss: the vectorisable float exp is within 2 ulp of exp") {
  double worst = 0;
  float worst_x = 0;
  for (float x = -87.0f; x <= 88.0f; x += 0.0007f) {
    const double want = std::exp(double(x));
    const double ulp = std::nextafter(float(want), INFINITY) - float(want);
    const double err = std::abs(double(kernels::cpu::exp_poly(x)) - want) / ulp;
    if (err > worst) worst = err, worst_x = x;
  }
  CAPTURE(worst_x);
  CHECK(worst <= 2.0);
  CHECK(kernels::cpu::exp_poly(0.0f) == 1.0f);
  CHECK(std::isfinite(kernels::cpu::exp_poly(1000.0f)));
  CHECK(kernels::cpu::exp_poly(-1000.0f) > 0.0f);
}
