#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "engine/ops/elementwise.h"
#include "engine/optim/adam.h"
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
}  // namespace

TEST_CASE("adam: 10 steps match torch.optim.Adam") {
  const auto fx = test::fixture("adam");
  for (const std::string c : {"f32", "f64", "wd"}) {
    CAPTURE(c);
    const bool f64 = c == "f64";
    const double rtol = f64 ? 1e-12 : 1e-6;
    AdamOptions opt;
    if (c == "wd") opt.lr = 1e-2, opt.weight_decay = 0.1;
    std::vector<std::pair<std::string, Tensor>> params;
    for (const char* n : kNames) params.push_back({n, test::at(fx, c + ".p0." + n).clone()});
    Adam adam(params, opt);
    for (int64_t t = 0; t < 10; ++t) {
      adam.zero_grad();
      for (auto& [n, p] : params) p.set_grad(row(test::at(fx, c + ".grad." + n), t, p.shape()));
      adam.step();
    }
    CHECK(adam.steps() == 10);
    const auto state = adam.state();
    for (auto& [n, p] : params) {
      const std::string k = c + "." + n;
      test::check_close(p, test::at(fx, c + ".p." + n), rtol, 0, k + " param");
      // The change is what Adam computes; the parameter itself is mostly its start value.
      test::check_close(difference(p, test::at(fx, c + ".p0." + n)),
                        difference(test::at(fx, c + ".p." + n), test::at(fx, c + ".p0." + n)),
                        f64 ? 1e-9 : 1e-4, f64 ? 0 : 1e-6, k + " update");
      test::check_close(state.at(n + ".exp_avg"), test::at(fx, c + ".exp_avg." + n), rtol, 0,
                        k + " exp_avg");
      test::check_close(state.at(n + ".exp_avg_sq"), test::at(fx, c + ".exp_avg_sq." + n), rtol, 0,
                        k + " exp_avg_sq");
      CHECK(state.at(n + ".step").item() == test::at(fx, c + ".step." + n).item());
    }
  }
}

TEST_CASE("adam: state round trip resumes bit for bit") {
  auto make_params = [] {
    return std::vector<std::pair<std::string, Tensor>>{{"w", test::randn({3, 5}, 1, DType::F32)},
                                                       {"b", test::randn({7}, 2, DType::F32)}};
  };
  auto feed = [](std::vector<std::pair<std::string, Tensor>>& ps, int t) {
    for (auto& [n, p] : ps) p.set_grad(test::randn(p.shape(), 100 + uint64_t(t), DType::F32));
  };
  auto ref = make_params();
  Adam a(ref);
  for (int t = 0; t < 3; ++t) feed(ref, t), a.step();
  auto resumed = make_params();
  for (size_t i = 0; i < ref.size(); ++i) resumed[i].second.copy_(ref[i].second);
  Adam b(resumed);
  std::map<std::string, Tensor> saved;
  for (auto& [k, v] : a.state()) saved[k] = v.clone();
  b.load_state(saved, a.steps());
  CHECK(b.steps() == 3);
  for (int t = 3; t < 6; ++t) feed(ref, t), a.step(), feed(resumed, t), b.step();
  for (size_t i = 0; i < ref.size(); ++i)
    CHECK(ref[i].second.to_vector() == resumed[i].second.to_vector());

  saved.erase("b.exp_avg_sq");
  CHECK_THROWS_WITH_AS(b.load_state(saved, 3), doctest::Contains("'b.exp_avg_sq'"), Error);
  saved["b.exp_avg_sq"] = Tensor::zeros({6});
  CHECK_THROWS_WITH_AS(b.load_state(saved, 3), doctest::Contains("(6)"), Error);
}

TEST_CASE("adam: zero_grad, skipped parameters and bad arguments") {
  Tensor w = test::randn({4}, 3, DType::F32), u = test::randn({2}, 4, DType::F32);
  const std::vector<double> u0 = u.to_vector();
  Adam adam({{"w", w}, {"u", u}});
  w.set_grad(Tensor::full({4}, 1.0));
  adam.step();
  CHECK(u.to_vector() == u0);  // no gradient: untouched
  CHECK(adam.state().at("u.step").item() == 0);
  CHECK(adam.state().at("w.step").item() == 1);
  // The first step moves every element by lr against the sign of its gradient.
  CHECK(w.to_vector()[0] ==
        doctest::Approx(test::randn({4}, 3, DType::F32).to_vector()[0] - 1e-3).epsilon(1e-6));
  adam.zero_grad();
  CHECK_FALSE(w.grad().defined());
  w.set_grad(Tensor::full({3}, 1.0));
  CHECK_THROWS_WITH_AS(adam.step(), doctest::Contains("'w'"), Error);
  CHECK_THROWS_WITH_AS(Adam({{"x", w}, {"x", u}}), doctest::Contains("twice"), Error);
  CHECK_THROWS_AS(Adam({{"x", w}}, AdamOptions{.lr = 1e-3, .beta1 = 1.0}), Error);
}
