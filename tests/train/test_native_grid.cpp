// The fdl recipe's grids (train/native_grid.h): the median spacing, a case's grid at a
// spacing, and the patch the memory budget allows.
#include <doctest/doctest.h>

#include "kernels/common/error.h"
#include "train/native_grid.h"

using namespace fdl;
using namespace fdl::train;

TEST_CASE("native grid: the median spacing per axis, a case's grid at a spacing") {
  const std::vector<NiftiHeader> cases{{{100, 100, 40}, {1, 1, 3}},
                                       {{80, 120, 50}, {0.5, 1.5, 2.5}},
                                       {{90, 90, 30}, {0.75, 0.75, 5}}};
  const auto m = median_spacing(cases);
  CHECK(m == std::array<double, 3>{0.75, 1, 3});
  CHECK(median_spacing({cases[0], cases[1]}) == std::array<double, 3>{0.75, 1.25, 2.75});
  CHECK_THROWS_AS(median_spacing({}), Error);
  CHECK(grid_at(cases[1], m) ==
        Index3{53, 180, 42});  // 80 * 0.5 / 0.75 = 53.3, 50 * 2.5 / 3 = 41.7
  CHECK(grid_at({{3, 3, 3}, {1, 1, 1}}, {100, 100, 100}) == Index3{1, 1, 1});
  CHECK(median_grid(cases, m) ==
        Index3{90, 100, 42});  // of {133, 53, 90}, {100, 180, 68}, {40, 42, 50}
  const Preprocess p = native_preprocess(Preprocess(), cases[1], m);
  CHECK(p.shape == Index3{53, 180, 42});
  CHECK(p.fit == Fit::Resize);
}

TEST_CASE(
    "native grid: the patch is the median grid in multiples of 4, shrunk in proportion to fit") {
  CHECK(choose_patch({30, 61, 7}, 100, 2, uint64_t(1) << 40) == Index3{32, 64, 8});
  // 1000 bytes a voxel, batch 2: 2e6 bytes hold 1000 voxels.
  const Index3 p = choose_patch({64, 32, 16}, 1000, 2, 2000000);
  CHECK(p[0] * p[1] * p[2] <= 1000);
  CHECK(p == Index3{20, 12, 4});  // about 64:32:16, in steps of 4
  CHECK_THROWS_WITH_AS(choose_patch({64, 64, 64}, 1e6, 2, 1000),
                       doctest::Contains("not even a 4x4x4 patch"), Error);
}
