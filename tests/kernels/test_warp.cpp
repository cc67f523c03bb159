// The one-pass image and label sampler (kernels/cpu/warp.h) on hand-worked cases: the
// label's vote (largest summed weight, ties to the lower class, class 0 outside) and the
// trilinear image with 0 outside.
#include <doctest/doctest.h>

#include <cstddef>
#include <vector>

#include "kernels/cpu/warp.h"

namespace kc = fdl::kernels::cpu;

namespace {

// The identity map about the origin, plus a constant displacement.
kc::WarpMap shifted(const std::vector<float>& d) {
  kc::WarpMap m{{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}, {0, 0, 0}, d.data()};
  return m;
}

}  // namespace

TEST_CASE("warp: half way between two classes the lower wins; beyond the edge counts as class 0") {
  // A 4 x 1 x 1 line with classes 3, 1, 1, 2 and values 10, 20, 30, 40, read half a voxel
  // further along x: each output voxel sits half way between two input voxels.
  const int32_t label[4] = {3, 1, 1, 2};
  const float image[4] = {10, 20, 30, 40};
  std::vector<float> d(12, 0.0f);
  for (int i = 0; i < 4; ++i) d[std::size_t(i)] = 0.5f;
  int32_t out_label[4];
  float out_image[4];
  kc::warp(image, 1, label, out_image, out_label, 4, 1, 1, shifted(d));
  CHECK(out_label[0] == 1);  // 3 vs 1
  CHECK(out_label[1] == 1);  // 1 vs 1
  CHECK(out_label[2] == 1);  // 1 vs 2
  CHECK(out_label[3] == 0);  // 2 vs outside
  CHECK(out_image[0] == 15);
  CHECK(out_image[2] == 35);
  CHECK(out_image[3] == 20);  // 40 / 2 + 0 / 2
}

TEST_CASE("warp: the class with the larger summed weight wins over the nearest voxel's class") {
  // 2 x 2 x 1 plane of classes {4, 7; 7, 0} read at (0.4, 0.4): weights 0.36 for the 4 at
  // (0, 0), 0.24 + 0.24 = 0.48 for the 7s, 0.16 for the 0. Nearest would say 4; the vote says 7.
  const int32_t label[4] = {4, 7, 7, 0};
  const float image[4] = {1, 2, 3, 4};
  std::vector<float> d(3 * 4, 0.0f);
  d[0] = d[4] = 0.4f;  // x and y displacement of output voxel (0, 0)
  int32_t out_label[4];
  float out_image[4];
  kc::warp(image, 1, label, out_image, out_label, 2, 2, 1, shifted(d));
  CHECK(out_label[0] == 7);
  CHECK(out_image[0] == doctest::Approx(0.36 * 1 + 0.24 * 2 + 0.24 * 3 + 0.16 * 4).epsilon(1e-6));
  CHECK(out_label[3] == 0);  // voxel (1, 1) reads itself
  // Entirely outside the input: 0 and class 0.
  for (float& v : d) v = -5;
  kc::warp(image, 1, label, out_image, out_label, 2, 2, 1, shifted(d));
  for (int i = 0; i < 4; ++i) CHECK((out_label[i] == 0 && out_image[i] == 0));
}
