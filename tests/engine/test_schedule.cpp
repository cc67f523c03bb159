#include <doctest/doctest.h>

#include <string>

#include "engine/optim/adam.h"
#include "engine/optim/schedule.h"
#include "tests/support.h"

using namespace fdl;

TEST_CASE("poly_lr: nnU-Net's schedule, by hand") {
  // lr0 (1 - e / E)^0.9: epoch 0 trains at lr0, and the rate falls to 0 at e = E.
  CHECK(poly_lr(1e-2, 0, 1000) == 1e-2);
  CHECK(poly_lr(1e-2, 500, 1000) == doctest::Approx(1e-2 * 0.5358867312681466).epsilon(1e-14));
  CHECK(poly_lr(1e-2, 999, 1000) == doctest::Approx(1e-2 * 0.0019952623149688794).epsilon(1e-14));
  CHECK(poly_lr(1e-2, 1000, 1000) == 0.0);
  CHECK(poly_lr(0.1, 3, 4) == doctest::Approx(0.1 * 0.28717458874925877).epsilon(1e-14));
  CHECK(poly_lr(1.0, 1, 2, 2.0) == 0.25);  // another exponent
  CHECK(poly_lr(1.0, 1, 2, 1.0) == 0.5);
  // Monotone: each epoch's rate is below the one before.
  for (int64_t e = 1; e <= 300; ++e) CHECK(poly_lr(1e-2, e, 300) < poly_lr(1e-2, e - 1, 300));
  CHECK_THROWS_WITH_AS(poly_lr(1e-2, 1001, 1000), doctest::Contains("outside 0..1000"), Error);
  CHECK_THROWS_WITH_AS(poly_lr(1e-2, -1, 1000), doctest::Contains("epoch -1"), Error);
  CHECK_THROWS_WITH_AS(poly_lr(1e-2, 0, 0), doctest::Contains("max_epochs 0"), Error);
  CHECK_THROWS_AS(poly_lr(-1e-2, 0, 10), Error);
}

TEST_CASE("adam: set_lr changes the next step's learning rate only") {
  // Adam's first step moves every element by lr against the sign of its gradient, whatever
  // its size; the second by lr times the bias-corrected ratio of the moments, 1 for a
  // constant gradient.
  Tensor w = test::randn({3}, 5, DType::F64);
  auto moved = [&w, last = w.to_vector()[0]]() mutable {
    const double now = w.to_vector()[0], d = last - now;
    last = now;
    return d;
  };
  Adam adam({{"w", w}}, AdamOptions{.weight_decay = 0});
  w.set_grad(Tensor::full({3}, 2.0, DType::F64));
  adam.step();
  CHECK(moved() == doctest::Approx(1e-3).epsilon(1e-6));
  adam.set_lr(1e-2);
  CHECK(adam.options().lr == 1e-2);
  CHECK(adam.state().at("w.step").item() == 1);  // the moments and steps are kept
  adam.step();
  CHECK(moved() == doctest::Approx(1e-2).epsilon(1e-6));
  CHECK_THROWS_WITH_AS(adam.set_lr(-1.0), doctest::Contains("Adam::set_lr"), Error);
  CHECK(adam.options().lr == 1e-2);
}
