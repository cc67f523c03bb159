// Sliding-window inference (train/sliding_window.h): the window positions, the Gaussian
// importance map, exact placement (an identity network gets its input back under any patch,
// overlap and mirroring) and agreement with the whole-volume pass when one patch covers it.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "engine/random.h"
#include "models/seg_model.h"
#include "tests/support.h"
#include "train/sliding_window.h"

using namespace fdl;
using namespace fdl::train;

namespace {

// Logits = its input: the sliding window must then return the image itself, so any misplaced
// patch, wrong weight or missed voxel shows.
class Identity : public SegModel {
 public:
  Identity() { register_parameter("unused", Tensor::zeros({1})); }
  Tensor forward(const Tensor& x) override { return x.clone(); }
};

Tensor random_image(int64_t C, Index3 n, uint64_t seed) {
  Generator g(seed);
  return rand_normal({C, n[0], n[1], n[2]}, g);
}

}  // namespace

TEST_CASE("window_starts: from 0 to n - patch, steps no longer than patch * (1 - overlap)") {
  CHECK(window_starts(100, 40, 0.5) == std::vector<int64_t>{0, 20, 40, 60});
  CHECK(window_starts(30, 40, 0.5) == std::vector<int64_t>{0});
  CHECK(window_starts(40, 40, 0.5) == std::vector<int64_t>{0});
  CHECK(window_starts(41, 40, 0.0) == std::vector<int64_t>{0, 1});
  for (int64_t n : {17, 64, 97, 250})
    for (double ov : {0.0, 0.25, 0.5, 0.75}) {
      const auto s = window_starts(n, 16, ov);
      CHECK(s.front() == 0);
      CHECK(s.back() == n - 16);
      for (size_t i = 1; i < s.size(); ++i)
        CHECK(s[i] - s[i - 1] <= int64_t(std::max(1.0, 16 * (1 - ov))));
    }
  CHECK_THROWS_AS(window_starts(10, 4, 1.0), Error);
}

TEST_CASE("gaussian_importance: 1 at the centre, symmetric, never below 1e-3") {
  const Tensor g = gaussian_importance({16, 8, 12});
  const auto v = g.to_vector();
  CHECK(*std::max_element(v.begin(), v.end()) == doctest::Approx(1.0).epsilon(0.05));
  CHECK(*std::min_element(v.begin(), v.end()) >= 1e-3f);
  auto at = [&](int64_t i, int64_t j, int64_t k) { return v[size_t((i * 8 + j) * 12 + k)]; };
  CHECK(at(0, 0, 0) == at(15, 7, 11));
  CHECK(at(3, 2, 5) == at(12, 5, 6));
  CHECK(at(7, 3, 5) > at(2, 3, 5));
}

TEST_CASE(
    "sliding window: an identity network returns its input for any patch, overlap and mirroring") {
  Identity id;
  const Tensor image = random_image(2, {23, 18, 9}, 3);
  for (const Index3 patch : {Index3{8, 8, 8}, Index3{12, 20, 4}, Index3{24, 20, 12}})
    for (double overlap : {0.0, 0.5})
      for (bool mirror : {false, true}) {
        CAPTURE(patch[0]);
        CAPTURE(patch[1]);
        CAPTURE(patch[2]);
        CAPTURE(overlap);
        CAPTURE(mirror);
        const Tensor out = sliding_window_logits(id, image, {patch, overlap, mirror});
        REQUIRE(out.shape() == image.shape());
        test::check_close(out, image, 1e-6, 1e-6, "identity through the windows");
      }
  CHECK_THROWS_WITH_AS(sliding_window_logits(id, image, {{6, 8, 8}, 0.5, false}),
                       doctest::Contains("multiple of 4"), Error);
}

TEST_CASE("sliding window: one patch over the whole volume is the whole-volume pass") {
  for (const char* name : {"unet3d", "fd-early", "fd-late"}) {
    CAPTURE(name);
    ModelOptions opt;
    opt.in_channels = 1, opt.classes = 3, opt.base_filters = 4;
    Generator init(7);
    const auto model = make_model(name, opt, init);
    model->train(false);
    const Tensor image = random_image(1, {16, 16, 8}, 11);
    const Tensor whole = model->forward(image.reshape({1, 1, 16, 16, 8}));
    const Tensor want = whole.reshape({3, 16, 16, 8});
    const Tensor got = sliding_window_logits(*model, image, {{16, 16, 8}, 0.5, false});
    // unet3d: the same pass, divided by its own weight. FD: the low part comes from the low
    // stream's split instead of the image's, which agrees up to float rounding of the FFTs.
    const double tol = std::string(name) == "unet3d" ? 1e-6 : 1e-4;
    const double rms = std::sqrt([&] {
      double s = 0;
      for (double v : want.to_vector()) s += v * v;
      return s / double(want.numel());
    }());
    test::check_close(got, want, tol, tol * rms, "sliding window vs whole volume");
  }
}

TEST_CASE("sliding window: overlapping patches are averaged with the Gaussian weights") {
  // Each patch's logits are the constant (its window's index): a voxel then gets the mean of
  // its windows' indices weighted by the importance of its place in each.
  class WindowIndex : public SegModel {
   public:
    WindowIndex() { register_parameter("unused", Tensor::zeros({1})); }
    Tensor forward(const Tensor& x) override {
      return Tensor::full({1, 1, x.size(2), x.size(3), x.size(4)}, double(calls_++));
    }

   private:
    int calls_ = 0;
  };
  WindowIndex net;
  const Index3 n{20, 12, 8}, patch{8, 8, 8};
  const Tensor got = sliding_window_logits(net, random_image(1, n, 5), {patch, 0.5, false});
  const Tensor g = gaussian_importance(patch);
  std::vector<double> sum(size_t(n[0] * n[1] * n[2]), 0.0), weight(sum.size(), 0.0);
  int index = 0;
  for (int64_t x0 : window_starts(n[0], patch[0], 0.5))
    for (int64_t y0 : window_starts(n[1], patch[1], 0.5))
      for (int64_t z0 : window_starts(n[2], patch[2], 0.5)) {
        for (int64_t i = 0; i < patch[0]; ++i)
          for (int64_t j = 0; j < patch[1]; ++j)
            for (int64_t k = 0; k < patch[2]; ++k) {
              const double w = g.data<float>()[(i * patch[1] + j) * patch[2] + k];
              const size_t v = size_t(((x0 + i) * n[1] + (y0 + j)) * n[2] + (z0 + k));
              sum[v] += w * index, weight[v] += w;
            }
        ++index;
      }
  CHECK(index == 4 * 2 * 1);
  int wrong = 0;
  for (size_t v = 0; v < sum.size(); ++v)
    wrong += std::abs(got.data<float>()[v] - sum[v] / weight[v]) > 1e-5;
  CHECK(wrong == 0);
}
