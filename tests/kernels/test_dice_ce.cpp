#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/autograd.h"
#include "engine/ops/dice_ce.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/one_hot.h"
#include "tests/support.h"

using namespace fdl;

namespace {
// A float64 one-hot target (N, K, X, Y, Z) from labels (i * 7 + 3) % k, or % (k - 1) when the
// last class is to be absent.
Tensor target_of(const Shape& s, int k, bool last_absent) {
  Tensor labels = Tensor::empty(s, DType::I32);
  const int kk = last_absent ? k - 1 : k;
  for (int64_t i = 0; i < s.numel(); ++i) labels.data<int32_t>()[i] = int32_t((i * 7 + 3) % kk);
  return one_hot(labels, k).to(DType::F64);
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector()) m = std::max(m, std::abs(v));
  return m;
}
}  // namespace

TEST_CASE("dice_ce_loss: loss and gradient match the torch fixtures") {
  const auto fx = test::fixture("dice_ce");
  for (const std::string c : {"k2", "k4", "absent", "large"}) {
    CAPTURE(c);
    const Tensor x32 = test::at(fx, c + ".logits"), g32 = test::at(fx, c + ".target");
    const Tensor want_loss = test::at(fx, c + ".loss"), want_grad = test::at(fx, c + ".grad");
    for (DType dt : {DType::F32, DType::F64}) {
      const bool f32 = dt == DType::F32;
      Tensor x = x32.to(dt).clone().set_requires_grad(true);
      const Tensor loss = dice_ce_loss(x, g32.to(dt));
      CHECK(loss.ndim() == 0);
      CHECK(loss.dtype() == dt);
      test::check_close(loss, want_loss.reshape(Shape{}).to(dt), f32 ? 1e-5 : 1e-10, 0,
                        c + " loss");
      loss.backward();
      test::check_close(x.grad(), want_grad, f32 ? 1e-5 : 1e-10,
                        (f32 ? 1e-6 : 1e-14) * max_abs(want_grad), c + " grad");
    }
  }
}

TEST_CASE("dice_ce_loss: uniform logits give log K plus the Dice of p = 1/K, by hand") {
  // All logits 0, so p = 1/K everywhere: CE = log K, and with n_c voxels of class c among S,
  // dice_c = (2 n_c / K + 1e-5) / (S / K + n_c + 1e-5).
  const int k = 4;
  const Tensor g = target_of({2, 3, 2, 5}, k, true);  // class 3 absent
  const double s = 2 * 3 * 2 * 5;
  double n[k] = {};
  const std::vector<double> gv = g.to_vector();
  for (int c = 0; c < k; ++c)
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t i = 0; i < 30; ++i) n[c] += gv[size_t((b * k + c) * 30 + i)];
  CHECK(n[0] + n[1] + n[2] == s);
  CHECK(n[3] == 0);
  double dice = 0;
  for (int c = 1; c < k; ++c) dice += (2 * n[c] / k + 1e-5) / (s / k + n[c] + 1e-5);
  const double want = std::log(double(k)) + 1 - dice / (k - 1);
  CHECK(dice_ce_loss(Tensor::zeros({2, k, 3, 2, 5}, DType::F64), g).item() ==
        doctest::Approx(want).epsilon(1e-14));
}

TEST_CASE("dice_ce_loss: gradcheck in double") {
  // The target gets no gradient, so it is held fixed and only the logits are checked.
  auto loss = [](const Tensor& g) {
    return [g](const std::vector<Tensor>& in) { return dice_ce_loss(in[0], g); };
  };
  SUBCASE("K = 2") {
    test::gradcheck(loss(target_of({2, 3, 2, 5}, 2, false)), {test::randn({2, 2, 3, 2, 5}, 61)});
  }
  SUBCASE("K = 4, every class present") {
    test::gradcheck(loss(target_of({2, 3, 2, 5}, 4, false)), {test::randn({2, 4, 3, 2, 5}, 62)});
  }
  SUBCASE("K = 4, one class absent from the target") {
    test::gradcheck(loss(target_of({1, 2, 3, 4}, 4, true)), {test::randn({1, 4, 2, 3, 4}, 63)});
  }
  SUBCASE("K = 4, large logits") {
    test::gradcheck(loss(target_of({1, 3, 3, 2}, 4, false)),
                    {scale(test::randn({1, 4, 3, 3, 2}, 64), 8.0)});
  }
  SUBCASE("K = 3, a soft target whose classes do not sum to 1") {
    // The cross-entropy's gradient p G - g then differs from p - g.
    const Shape s{2, 3, 2, 2, 3};
    std::vector<double> g = test::randn(s, 65).to_vector();
    for (double& v : g) v = std::abs(v);
    test::gradcheck(loss(Tensor::from_vector(g, s)), {test::randn(s, 66)});
  }
}

TEST_CASE("dice_ce_loss: no gradient to the target, and argument errors") {
  Tensor x = test::randn({1, 3, 3, 3, 3}, 71).set_requires_grad(true);
  Tensor g = target_of({1, 3, 3, 3}, 3, false).set_requires_grad(true);
  dice_ce_loss(x, g).backward();
  CHECK(x.grad().defined());
  CHECK_FALSE(g.grad().defined());
  {
    autograd::NoGrad ng;
    CHECK_FALSE(dice_ce_loss(x, g).requires_grad());
  }
  const Tensor one_class = test::randn({1, 1, 2, 2, 2}, 1);
  CHECK_THROWS_WITH_AS(dice_ce_loss(one_class, one_class), doctest::Contains("K >= 2"), Error);
  CHECK_THROWS_WITH_AS(dice_ce_loss(x, target_of({1, 3, 3, 2}, 3, false)),
                       doctest::Contains("'target' has shape"), Error);
  CHECK_THROWS_WITH_AS(dice_ce_loss(x, g.to(DType::F32)), doctest::Contains("float32"), Error);
  const Tensor flat = g.detach().reshape({3, 3, 3, 3});
  CHECK_THROWS_WITH_AS(dice_ce_loss(flat, flat), doctest::Contains("5 dimensions"), Error);
  CHECK_THROWS_WITH_AS(dice_ce_loss(Tensor::zeros({1, 2, 0, 3, 3}, DType::F64),
                                    Tensor::zeros({1, 2, 0, 3, 3}, DType::F64)),
                       doctest::Contains("no voxels"), Error);
}

TEST_CASE("dice_ce_loss: the same bits for any thread count") {
  const Shape s{2, 3, 37, 41, 23};  // many partial-sum blocks
  Tensor x = scale(test::randn(s, 81), 3.0).to(DType::F32).set_requires_grad(true);
  const Tensor g = target_of({2, 37, 41, 23}, 3, false).to(DType::F32);
  auto run = [&](int threads) {
    const int prev = omp_get_max_threads();
    omp_set_num_threads(threads);
    x.set_grad(Tensor());
    const Tensor loss = dice_ce_loss(x, g);
    loss.backward();
    omp_set_num_threads(prev);
    return std::make_pair(loss.item(), x.grad().to_vector());
  };
  const auto one = run(1), three = run(3);
  CHECK(one.first == three.first);
  CHECK(one.second == three.second);
  // And the float32 result agrees with a float64 evaluation.
  const double f64 = dice_ce_loss(x.detach().to(DType::F64), g.to(DType::F64)).item();
  CHECK(one.first == doctest::Approx(f64).epsilon(1e-6));
}

TEST_CASE("dice_ce_loss: float32 agrees with float64 over the whole logit range") {
  // Logits up to +-160: exp(x) alone overflows float32 beyond 88, exp(x - lse) never does.
  const Tensor x64 = scale(test::randn({1, 4, 17, 13, 11}, 91), 40.0);
  const Tensor g64 = target_of({1, 17, 13, 11}, 4, false);
  Tensor x32 = x64.to(DType::F32).set_requires_grad(true);
  Tensor xd = x32.detach().to(DType::F64).set_requires_grad(true);
  const Tensor l32 = dice_ce_loss(x32, g64.to(DType::F32)), l64 = dice_ce_loss(xd, g64);
  CHECK(std::isfinite(l32.item()));
  CHECK(l32.item() == doctest::Approx(l64.item()).epsilon(1e-6));
  l32.backward();
  l64.backward();
  test::check_close(x32.grad(), xd.grad(), 1e-5, 1e-6 * max_abs(xd.grad()),
                    "float32 vs float64 gradient");
}
