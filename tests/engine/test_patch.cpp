// Patches of volumes (engine/data/patch.h): the crop with zero padding, the mirror, the index
// of labelled voxels and the draw of a training patch with foreground oversampling.
#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include "engine/data/patch.h"
#include "tests/support.h"

using namespace fdl;

namespace {

// float32 (C, X, Y, Z) whose voxel value encodes its own coordinates.
Tensor coded(int64_t C, Index3 n) {
  Tensor t = Tensor::empty({C, n[0], n[1], n[2]});
  float* p = t.data<float>();
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < n[0]; ++i)
      for (int64_t j = 0; j < n[1]; ++j)
        for (int64_t k = 0; k < n[2]; ++k) *p++ = float(1 + c * 1000000 + i * 10000 + j * 100 + k);
  return t;
}

float code(int64_t c, int64_t i, int64_t j, int64_t k) {
  return float(1 + c * 1000000 + i * 10000 + j * 100 + k);
}

// A label (X, Y, Z) with a 3x3x3 cube of class 1 at `at` and one voxel of class 2 at `dot`.
Tensor two_structures(Index3 n, Index3 at, Index3 dot) {
  Tensor l = Tensor::zeros({n[0], n[1], n[2]}, DType::I32);
  int32_t* v = l.data<int32_t>();
  for (int64_t i = at[0]; i < at[0] + 3; ++i)
    for (int64_t j = at[1]; j < at[1] + 3; ++j)
      for (int64_t k = at[2]; k < at[2] + 3; ++k) v[(i * n[1] + j) * n[2] + k] = 1;
  v[(dot[0] * n[1] + dot[1]) * n[2] + dot[2]] = 2;
  return l;
}

}  // namespace

TEST_CASE("crop_pad: the block of the volume, zeros outside it, any leading dims and int32") {
  const Tensor x = coded(2, {6, 5, 4});
  for (const Index3 start :
       {Index3{0, 0, 0}, Index3{1, 2, 1}, Index3{-2, 3, -1}, Index3{4, -3, 2}, Index3{7, 0, 0}}) {
    CAPTURE(start[0]);
    CAPTURE(start[1]);
    CAPTURE(start[2]);
    const Index3 size{4, 3, 5};
    const Tensor y = crop_pad(x, start, size);
    REQUIRE(y.shape() == Shape({2, 4, 3, 5}));
    const float* p = y.data<float>();
    int wrong = 0;
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t i = 0; i < 4; ++i)
        for (int64_t j = 0; j < 3; ++j)
          for (int64_t k = 0; k < 5; ++k) {
            const int64_t a = start[0] + i, b = start[1] + j, d = start[2] + k;
            const bool inside = a >= 0 && a < 6 && b >= 0 && b < 5 && d >= 0 && d < 4;
            wrong += *p++ != (inside ? code(c, a, b, d) : 0.0f);
          }
    CHECK(wrong == 0);
  }
  const Tensor label = two_structures({6, 6, 6}, {1, 1, 1}, {5, 5, 5});
  const Tensor l = crop_pad(label, {4, 4, 4}, {3, 3, 3});
  CHECK(l.dtype() == DType::I32);
  CHECK(l.data<int32_t>()[(1 * 3 + 1) * 3 + 1] == 2);  // voxel (5, 5, 5)
  CHECK(l.data<int32_t>()[(2 * 3 + 2) * 3 + 2] == 0);  // outside: padding
  CHECK_THROWS_WITH_AS(crop_pad(x, {0, 0, 0}, {0, 1, 1}), doctest::Contains("positive"), Error);
}

TEST_CASE("mirror: reverses the chosen axes; twice is the identity") {
  const Tensor x = coded(2, {5, 4, 3});
  for (int m = 0; m < 8; ++m) {
    CAPTURE(m);
    const std::array<bool, 3> axes{bool(m & 1), bool(m & 2), bool(m & 4)};
    const Tensor y = mirror(x, axes);
    const float* p = y.data<float>();
    int wrong = 0;
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t i = 0; i < 5; ++i)
        for (int64_t j = 0; j < 4; ++j)
          for (int64_t k = 0; k < 3; ++k)
            wrong += *p++ != code(c, axes[0] ? 4 - i : i, axes[1] ? 3 - j : j, axes[2] ? 2 - k : k);
    CHECK(wrong == 0);
    CHECK(mirror(y, axes).to_vector() == x.to_vector());
  }
}

TEST_CASE("index_foreground: each class's voxels, at most the cap of them, evenly spread") {
  const Tensor label = two_structures({8, 8, 8}, {2, 2, 2}, {7, 0, 3});
  const ForegroundIndex all = index_foreground(label, 4);
  REQUIRE(all.voxels.size() == 3);
  CHECK(all.voxels[0].size() == 27);
  CHECK(all.voxels[1] == std::vector<int64_t>{(7 * 8 + 0) * 8 + 3});
  CHECK(all.voxels[2].empty());  // class 3 is absent
  for (int64_t i : all.voxels[0]) CHECK(label.data<int32_t>()[i] == 1);
  const ForegroundIndex capped = index_foreground(label, 4, 10);
  CHECK(capped.voxels[0].size() == 9);  // every 3rd of 27
  CHECK(capped.voxels[0].front() == all.voxels[0].front());
  CHECK(capped.voxels[0].back() == all.voxels[0][24]);
  Tensor bad = label.clone();
  bad.data<int32_t>()[5] = 4;
  CHECK_THROWS_WITH_AS(index_foreground(bad, 4), doctest::Contains("outside [0, 4)"), Error);
}

TEST_CASE("draw_patch: deterministic, inside the volume, and foreground at the asked rate") {
  const Index3 n{40, 36, 20}, patch{16, 16, 8};
  const Tensor label = two_structures(n, {30, 2, 15}, {3, 33, 1});
  const ForegroundIndex fg = index_foreground(label, 3);
  const double fraction = 0.33;
  const int draws = 3000;
  int foreground = 0, labelled_patches = 0;
  std::set<int64_t> xs;
  for (int key = 0; key < draws; ++key) {
    const PatchDraw d = draw_patch(fg, patch, fraction, uint64_t(key) * 7919 + 11);
    const PatchDraw again = draw_patch(fg, patch, fraction, uint64_t(key) * 7919 + 11);
    REQUIRE((d.start == again.start && d.foreground == again.foreground));
    for (size_t a = 0; a < 3; ++a) REQUIRE((d.start[a] >= 0 && d.start[a] + patch[a] <= n[a]));
    xs.insert(d.start[0]);
    const Tensor crop = crop_pad(label, d.start, patch);
    bool any = false;
    for (int64_t i = 0; i < crop.numel(); ++i) any = any || crop.data<int32_t>()[i] > 0;
    if (d.foreground) {
      ++foreground;
      REQUIRE(any);  // centred on a labelled voxel, so it holds one
    }
    labelled_patches += any;
  }
  // Binomial(3000, 0.33): sd = sqrt(3000 * 0.33 * 0.67) = 25.8; 4 sd either side.
  CHECK(std::abs(foreground - fraction * draws) < 4 * 25.8);
  CHECK(labelled_patches > foreground);  // random patches also hit the structures sometimes
  CHECK(xs.size() == size_t(n[0] - patch[0] + 1));  // every start along x is reached
  // Without foreground in the case, or with fraction 0, no draw is a foreground one.
  const ForegroundIndex empty = index_foreground(Tensor::zeros({n[0], n[1], n[2]}, DType::I32), 3);
  for (int key = 0; key < 200; ++key) {
    CHECK_FALSE(draw_patch(empty, patch, 1.0, uint64_t(key)).foreground);
    CHECK_FALSE(draw_patch(fg, patch, 0.0, uint64_t(key)).foreground);
    CHECK(draw_patch(fg, patch, 1.0, uint64_t(key)).foreground);
  }
  // A volume smaller than the patch: the patch is centred on that axis, the crop pads.
  const ForegroundIndex small =
      index_foreground(two_structures({10, 40, 20}, {4, 4, 4}, {0, 0, 0}), 3);
  CHECK(draw_patch(small, {16, 16, 8}, 0.0, 5).start[0] == -3);
}
