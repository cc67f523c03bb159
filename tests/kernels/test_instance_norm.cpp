#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "engine/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/instance_norm.h"
#include "tests/support.h"

using namespace fdl;

namespace {
// Two-pass reference in double, one slice at a time.
Tensor naive_instance_norm(const Tensor& x, double eps) {
  const std::vector<double> v = x.to_vector();
  const int64_t nc = x.size(0) * x.size(1), s = x.shape().numel_from(2);
  std::vector<double> out(v.size());
  for (int64_t c = 0; c < nc; ++c) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < s; ++i) mean += v[c * s + i];
    mean /= double(s);
    for (int64_t i = 0; i < s; ++i) var += (v[c * s + i] - mean) * (v[c * s + i] - mean);
    var /= double(s);
    for (int64_t i = 0; i < s; ++i) out[c * s + i] = (v[c * s + i] - mean) / std::sqrt(var + eps);
  }
  return Tensor::from_vector(out, x.shape());
}
}  // namespace

TEST_CASE("instance_norm: parity with PyTorch fixtures in float32 and float64") {
  for (const std::string name : {"instance_norm", "instance_norm_shifted"}) {
    CAPTURE(name);
    const auto f = test::fixture(name);
    for (DType t : {DType::F32, DType::F64}) {
      CAPTURE(dtype_name(t));
      Tensor x = test::at(f, "x").to(t).clone().set_requires_grad(true);
      Tensor y = instance_norm(x);
      CHECK(y.dtype() == t);
      test::check_close(y, test::at(f, "y"), 1e-5, 1e-5, name + " y");
      y.backward(test::at(f, "gy").to(t));
      test::check_close(x.grad(), test::at(f, "gx"), 1e-5, 2e-5, name + " gx");
    }
  }
}

TEST_CASE("instance_norm: float32 statistics stay exact over many blocks with a large mean") {
  // 4,352 voxels per slice: more than two statistics blocks, the last one partial.
  Tensor xd = add(scale(test::randn({2, 2, 16, 16, 17}, 24), 0.01),
                  Tensor::full({2, 2, 16, 16, 17}, 500.0, DType::F64));
  Tensor xf = xd.to(DType::F32);
  const Tensor want = naive_instance_norm(xf.to(DType::F64), 1e-5);
  test::check_close(instance_norm(xf), want, 1e-5, 1e-5, "float32 vs double reference");
  test::check_close(instance_norm(xf.to(DType::F64)), want, 1e-12, 1e-12,
                    "float64 vs double reference");
}

TEST_CASE("instance_norm: bad inputs name the op and the argument") {
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string m = message([] { instance_norm(Tensor::zeros({2, 3, 4})); });
  CHECK(m.find("instance_norm") != std::string::npos);
  CHECK(m.find("'x'") != std::string::npos);
  CHECK(m.find("5 dimensions") != std::string::npos);
  CHECK_THROWS_AS(instance_norm(Tensor::zeros({1, 1, 2, 2, 2}, DType::I32)), Error);
  CHECK_THROWS_AS(instance_norm(Tensor::zeros({1, 1, 2, 2, 2}), -1.0), Error);
}

TEST_CASE("instance_norm: no_grad records nothing") {
  Tensor x = test::randn({1, 2, 3, 3, 3}, 25).set_requires_grad(true);
  autograd::NoGrad ng;
  CHECK_FALSE(instance_norm(x).requires_grad());
}
