#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include "engine/ops/dice.h"
#include "engine/ops/one_hot.h"
#include "models/seg_model.h"
#include "tests/support.h"

using namespace fdl;

namespace {
std::shared_ptr<SegModel> build(const std::string& name, int filters = 8) {
  ModelOptions opt;
  opt.base_filters = filters;
  Generator g(7);
  return make_model(name, opt, g);
}

// The closed-form weights of tools/fixtures/models.py: element i of parameter `name` is
// sin(1.7 i + 0.9 t) / sqrt(fan_in), t = (sum of the name's character codes) mod 97.
void set_weight_pattern(SegModel& m) {
  for (auto& [name, p] : m.named_parameters()) {
    int t = 0;
    for (char c : name) t += static_cast<unsigned char>(c);
    t %= 97;
    const double fan_in = double(p.numel() / p.size(0));
    std::vector<double> v(static_cast<size_t>(p.numel()));
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = std::sin(1.7 * double(i) + 0.9 * t) / std::sqrt(fan_in);
    p.copy_(Tensor::from_vector(v, p.shape()).to(p.dtype()));
  }
}
}  // namespace

TEST_CASE("models: parameter counts match the paper's networks") {
  CHECK(build("unet3d")->num_parameters() == 220568);
  CHECK(build("fd-early")->num_parameters() == 220784);
  CHECK(build("fd-late")->num_parameters() == 220784);
  CHECK_THROWS_AS(build("unet4d"), Error);
}

TEST_CASE("models: parameter names and shapes are the release's state_dict keys") {
  const std::map<std::string, Shape> want{
      {"conv3d_c1_1.weight", {8, 1, 3, 3, 3}},
      {"conv3d_c1_2.weight", {8, 8, 3, 3, 3}},
      {"lrelu_conv_c1.1.weight", {8, 8, 3, 3, 3}},
      {"conv3d_c2.weight", {16, 8, 3, 3, 3}},
      {"norm_lrelu_conv_c2.2.weight", {16, 16, 3, 3, 3}},
      {"conv3d_c3.weight", {32, 16, 3, 3, 3}},
      {"norm_lrelu_conv_c3.2.weight", {32, 32, 3, 3, 3}},
      {"conv_norm_lrelu_l2.0.weight", {64, 64, 3, 3, 3}},
      {"conv3d_l2.weight", {32, 64, 1, 1, 1}},
      {"norm_lrelu_upscale_conv_norm_lrelu_l2.3.weight", {16, 32, 3, 3, 3}},
      {"conv_norm_lrelu_l3.0.weight", {32, 32, 3, 3, 3}},
      {"conv3d_l3.weight", {16, 32, 1, 1, 1}},
      {"norm_lrelu_upscale_conv_norm_lrelu_l3.3.weight", {8, 16, 3, 3, 3}},
      {"conv_norm_lrelu_l4.0.weight", {16, 16, 3, 3, 3}},
      {"conv3d_l4.weight", {2, 16, 1, 1, 1}},
      {"ds3_1x1_conv3d.weight", {2, 16, 1, 1, 1}}};
  for (const char* name : {"unet3d", "fd-early", "fd-late"}) {
    CAPTURE(name);
    auto expected = want;
    if (std::string(name) != "unet3d")
      expected.emplace("conv3d_c1_low.weight", Shape{8, 1, 3, 3, 3});
    std::map<std::string, Shape> got;
    for (auto& [n, p] : build(name)->named_parameters()) got.emplace(n, p.shape());
    CHECK(got.size() == expected.size());
    for (auto& [n, s] : expected) {
      CAPTURE(n);
      REQUIRE(got.count(n));
      CHECK(got.at(n) == s);
    }
  }
}

TEST_CASE("models: logits and Dice-loss gradients match the PyTorch reference") {
  for (auto [name, fixture] : {std::pair{"unet3d", "model_unet3d"},
                               {"fd-early", "model_fd_early"},
                               {"fd-late", "model_fd_late"}}) {
    CAPTURE(name);
    const auto fx = test::fixture(fixture);
    // In float64 on both sides: these weights make some instance norms ill-conditioned, so
    // float32 results of either engine differ from exact ones by ~1e-3 of their range. The
    // reference is stored rounded to float32, hence the 1e-6 relative tolerances.
    auto model = build(name, 4);
    model->to(DType::F64);
    model->train(false);  // dropout off, as in the reference
    set_weight_pattern(*model);
    const Tensor logits = model->forward(test::at(fx, "x").to(DType::F64));
    test::check_close(logits, test::at(fx, "logits"), 1e-6, 1e-6, std::string(name) + " logits");
    const Tensor loss = soft_dice_loss(logits, one_hot(test::at(fx, "labels"), 2).to(DType::F64));
    CHECK(loss.item() == doctest::Approx(test::at(fx, "loss").item()).epsilon(1e-6));
    loss.backward();
    for (auto& [pname, p] : model->named_parameters()) {
      const Tensor& want = test::at(fx, "grad." + pname);
      double scale = 0;
      for (double v : want.to_vector()) scale = std::max(scale, std::abs(v));
      test::check_close(p.grad(), want, 1e-5, 1e-6 * scale, std::string(name) + " grad " + pname);
    }
  }
}
