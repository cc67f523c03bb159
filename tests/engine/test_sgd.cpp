#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "engine/ops/elementwise.h"
#include "engine/optim/schedule.h"
#include "engine/optim/sgd.h"
#include "tests/support.h"

using namespace fdl;

namespace {
const char* kNames[] = {"a", "b", "c"};

// Row t of a (10, ...) stack, as its own tensor; undefined when the row is NaN (no gradient).
Tensor row(const Tensor& stack, int64_t t, const Shape& shape) {
  Tensor r = Tensor::empty(shape, stack.dtype());
  std::memcpy(r.raw(), static_cast<const char*>(stack.raw()) + size_t(t) * r.nbytes(), r.nbytes());
  return std::isnan(r.to_vector()[0]) ? Tensor() : r;
}

Tensor difference(const Tensor& a, const Tensor& b) { return add(a, scale(b, -1.0)); }

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector()) m = std::max(m, std::abs(v));
  return m;
}
}  // namespace

TEST_CASE("sgd: 10 steps match torch.optim.SGD") {
  const auto fx = test::fixture("sgd");
  for (const std::string c : {"f64", "f32", "poly", "plain"}) {
    CAPTURE(c);
    const bool f32 = c == "f32";
    SgdOptions opt;  // nnU-Net's: lr 1e-2, momentum 0.99, Nesterov, weight decay 3e-5
    if (c == "plain") opt = {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.1, .nesterov = false};
    std::vector<std::pair<std::string, Tensor>> params;
    for (const char* n : kNames) params.push_back({n, test::at(fx, c + ".p0." + n).clone()});
    Sgd sgd(params, opt);
    const std::vector<double> lr = test::at(fx, c + ".lr").to_vector();
    for (int64_t t = 0; t < 10; ++t) {
      if (c == "poly") {
        // The fixture's learning rates are the poly schedule's, computed by torch's formula.
        CHECK(poly_lr(1e-2, t, 10) == doctest::Approx(lr[size_t(t)]).epsilon(1e-15));
        sgd.set_lr(poly_lr(1e-2, t, 10));
      }
      CHECK(sgd.options().lr == doctest::Approx(lr[size_t(t)]).epsilon(1e-15));
      sgd.zero_grad();
      for (auto& [n, p] : params) p.set_grad(row(test::at(fx, c + ".grad." + n), t, p.shape()));
      sgd.step();
    }
    CHECK(sgd.steps() == 10);
    const auto state = sgd.state();
    for (auto& [n, p] : params) {
      const std::string k = c + "." + n;
      const Tensor p0 = test::at(fx, c + ".p0." + n), want = test::at(fx, c + ".p." + n);
      test::check_close(p, want, f32 ? 1e-6 : 1e-12, 0, k + " param");
      // The change is what SGD computes; the parameter itself is mostly its start value.
      test::check_close(difference(p, p0), difference(want, p0), f32 ? 1e-4 : 1e-10, f32 ? 1e-6 : 0,
                        k + " update");
      // In float32 a buffer element near 0 is the rounding of a sum of larger terms: judge it
      // against the buffer's scale.
      const Tensor buf = test::at(fx, c + ".momentum_buffer." + n);
      test::check_close(state.at(n + ".momentum_buffer"), buf, f32 ? 1e-5 : 1e-12,
                        f32 ? 1e-6 * max_abs(buf) : 0, k + " momentum_buffer");
    }
  }
}

TEST_CASE("sgd: state round trip resumes bit for bit, and a bad state changes nothing") {
  auto make_params = [] {
    return std::vector<std::pair<std::string, Tensor>>{{"w", test::randn({3, 5}, 1, DType::F32)},
                                                       {"b", test::randn({7}, 2, DType::F32)}};
  };
  auto feed = [](std::vector<std::pair<std::string, Tensor>>& ps, int t) {
    for (auto& [n, p] : ps) p.set_grad(test::randn(p.shape(), 100 + uint64_t(t), DType::F32));
  };
  auto ref = make_params();
  Sgd a(ref);
  for (int t = 0; t < 3; ++t) feed(ref, t), a.step();
  auto resumed = make_params();
  for (size_t i = 0; i < ref.size(); ++i) resumed[i].second.copy_(ref[i].second);
  Sgd b(resumed);
  std::map<std::string, Tensor> saved;
  for (auto& [k, v] : a.state()) saved[k] = v.to(DType::F64);  // any float dtype loads
  b.load_state(saved, a.steps());
  CHECK(b.steps() == 3);
  for (int t = 3; t < 6; ++t) feed(ref, t), a.step(), feed(resumed, t), b.step();
  for (size_t i = 0; i < ref.size(); ++i)
    CHECK(ref[i].second.to_vector() == resumed[i].second.to_vector());

  const std::vector<double> before = b.state().at("w.momentum_buffer").to_vector();
  saved.erase("b.momentum_buffer");
  CHECK_THROWS_WITH_AS(b.load_state(saved, 3), doctest::Contains("'b.momentum_buffer'"), Error);
  saved["b.momentum_buffer"] = Tensor::zeros({6});
  CHECK_THROWS_WITH_AS(b.load_state(saved, 3), doctest::Contains("(6)"), Error);
  CHECK(b.state().at("w.momentum_buffer").to_vector() == before);
  CHECK(b.steps() == 6);
}

TEST_CASE("sgd: zero_grad, skipped parameters, set_lr and bad arguments") {
  Tensor w = test::randn({4}, 3, DType::F64), u = test::randn({2}, 4, DType::F64);
  const std::vector<double> w0 = w.to_vector(), u0 = u.to_vector();
  Sgd sgd({{"w", w}, {"u", u}}, {.lr = 0.5, .momentum = 0.9, .weight_decay = 0, .nesterov = true});
  w.set_grad(Tensor::full({4}, 1.0, DType::F64));
  sgd.step();
  CHECK(u.to_vector() == u0);  // no gradient: untouched, its buffer too
  CHECK(sgd.state().at("u.momentum_buffer").to_vector() == std::vector<double>{0, 0});
  // The first Nesterov step moves by lr (g + momentum g) = 0.5 * 1.9.
  CHECK(w.to_vector()[0] == doctest::Approx(w0[0] - 0.95).epsilon(1e-15));
  // set_lr changes the next step only: buf = 0.9 + 1 = 1.9, step 0.1 (1 + 0.9 * 1.9) = 0.271.
  sgd.set_lr(0.1);
  CHECK(sgd.options().lr == 0.1);
  sgd.step();
  CHECK(w.to_vector()[0] == doctest::Approx(w0[0] - 0.95 - 0.271).epsilon(1e-15));
  sgd.zero_grad();
  CHECK_FALSE(w.grad().defined());
  w.set_grad(Tensor::full({3}, 1.0, DType::F64));
  CHECK_THROWS_WITH_AS(sgd.step(), doctest::Contains("'w'"), Error);
  CHECK_THROWS_WITH_AS(sgd.set_lr(-1e-3), doctest::Contains("Sgd::set_lr"), Error);
  CHECK_THROWS_AS(sgd.set_lr(NAN), Error);
  CHECK(sgd.options().lr == 0.1);
  CHECK_THROWS_WITH_AS(Sgd({{"x", w}, {"x", u}}), doctest::Contains("twice"), Error);
  CHECK_THROWS_WITH_AS(Sgd({{"x", w}}, {.lr = 1e-2, .momentum = 1.0}), doctest::Contains("[0, 1)"),
                       Error);
  CHECK_THROWS_WITH_AS(Sgd({{"x", w}}, {.lr = 1e-2, .momentum = 0.0, .nesterov = true}),
                       doctest::Contains("Nesterov"), Error);
  CHECK_THROWS_AS(Sgd({{"x", w}}, {.lr = -1.0}), Error);
}
