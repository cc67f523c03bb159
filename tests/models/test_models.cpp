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
    if (std::string(name) != "unet3d") expected.emplace("conv3d_c1_low.weight", Shape{8, 1, 3, 3, 3});
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
