// The fused instance_norm -> leaky_relu against its composition, its gradient, and its
// argument checks.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

#include "engine/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/instance_norm.h"
#include "kernels/common/elementwise.h"
#include "kernels/common/instance_norm.h"
#include "tests/support.h"

using namespace fdl;

namespace {
std::string error_of(double slope) {
  try {
    instance_norm_leaky_relu(test::randn({1, 2, 2, 2, 2}, 90), slope);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Forward and gradient of the fused op and of the composition, at the same input and seed.
struct Both {
  Tensor y_fused, y_comp, gx_fused, gx_comp;
};

Both run_both(const Tensor& x0, const Tensor& gy, double slope, double eps) {
  Both r;
  Tensor xf = x0.clone().set_requires_grad(true), xc = x0.clone().set_requires_grad(true);
  r.y_fused = instance_norm_leaky_relu(xf, slope, eps);
  r.y_comp = leaky_relu(instance_norm(xc, eps), slope);
  r.y_fused.backward(gy);
  r.y_comp.backward(gy);
  r.gx_fused = xf.grad();
  r.gx_comp = xc.grad();
  return r;
}
}  // namespace

TEST_CASE("instance_norm_leaky_relu: equals instance_norm -> leaky_relu in float64") {
  struct Case {
    Shape shape;
    double slope, eps;
  };
  for (const Case& c : {Case{{2, 3, 5, 6, 7}, 0.01, 1e-5}, Case{{1, 2, 3, 1, 5}, 0.2, 0.5},
                        Case{{3, 1, 1, 1, 1}, 0.01, 1e-5}, Case{{2, 2, 16, 16, 17}, 0.01, 1e-5},
                        Case{{1, 1, 4, 4, 4}, 3.0, 1e-5}}) {
    CAPTURE(c.shape.str());
    CAPTURE(c.slope);
    const Tensor x = test::randn(c.shape, 91), gy = test::randn(c.shape, 92);
    const Both r = run_both(x, gy, c.slope, c.eps);
    CHECK(r.y_fused.dtype() == DType::F64);
    // The forward computes the same expression; the backward recovers the normalised value
    // as y / slope, one rounding away from the composition's saved value.
    test::check_close(r.y_fused, r.y_comp, 0, 0, "forward");
    test::check_close(r.gx_fused, r.gx_comp, 1e-12, 1e-12, "gradient");
  }
}

TEST_CASE("instance_norm_leaky_relu: float32 matches the composition") {
  const Tensor x = test::randn({2, 4, 9, 10, 11}, 93, DType::F32),
               gy = test::randn({2, 4, 9, 10, 11}, 94, DType::F32);
  const Both r = run_both(x, gy, 0.01, 1e-5);
  CHECK(r.y_fused.dtype() == DType::F32);
  test::check_close(r.y_fused, r.y_comp, 0, 0, "forward");
  test::check_close(r.gx_fused, r.gx_comp, 1e-5, 1e-6, "gradient");
}

TEST_CASE("instance_norm_leaky_relu: slope <= 0 and bad inputs are errors that name the op") {
  for (double slope : {0.0, -0.01, std::numeric_limits<double>::quiet_NaN()}) {
    CAPTURE(slope);
    const std::string m = error_of(slope);
    CHECK(m.find("instance_norm_leaky_relu") != std::string::npos);
    CHECK(m.find("slope") != std::string::npos);
  }
  CHECK(error_of(0.01).empty());
  CHECK_THROWS_WITH_AS(instance_norm_leaky_relu(Tensor::zeros({2, 3, 4})),
                       doctest::Contains("instance_norm_leaky_relu: 'x' must have 5 dimensions"),
                       Error);
  CHECK_THROWS_AS(instance_norm_leaky_relu(Tensor::zeros({1, 1, 2, 2, 2}), 0.01, -1.0), Error);
}

TEST_CASE("instance_norm_leaky_relu: no_grad records nothing; the node has the op's name") {
  Tensor x = test::randn({1, 2, 3, 3, 3}, 98).set_requires_grad(true);
  const Tensor y = instance_norm_leaky_relu(x);
  REQUIRE(y.grad_fn());
  CHECK(std::string(y.grad_fn()->name) == "instance_norm_leaky_relu");
  autograd::NoGrad ng;
  CHECK_FALSE(instance_norm_leaky_relu(x).requires_grad());
}

TEST_CASE("leaky ReLU from its output: the input and the gradient are recovered") {
  for (double slope : {0.01, 0.5, 2.0})
    for (double x : {-3.5, -1e-300, 0.0, 1e-300, 0.25, 7.0}) {
      CAPTURE(slope);
      CAPTURE(x);
      const double y = kernels::leaky_relu(x, slope);
      CHECK(std::abs(kernels::leaky_relu_input_from_output(y, slope) - x) <= 1e-15 * std::abs(x));
      CHECK(kernels::leaky_relu_grad_from_output(y, 3.0, slope) ==
            3.0 * kernels::leaky_relu_grad(x, slope));
    }
}
