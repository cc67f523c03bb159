// The test-set montage: which slices it shows, and that it writes a PNG for cases of
// different grids.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "engine/io/atomic_file.h"
#include "tests/support.h"
#include "train/montage.h"

using namespace fdl;
using namespace fdl::train;
namespace fs = std::filesystem;

namespace {

Tensor labels(std::array<int64_t, 3> shape, const std::vector<std::array<int64_t, 4>>& boxes) {
  // boxes: x0, y0, z (one slice), half-size; class = box index + 1
  Tensor t = Tensor::zeros({shape[0], shape[1], shape[2]}, DType::I32);
  int32_t* d = t.data<int32_t>();
  for (size_t b = 0; b < boxes.size(); ++b) {
    const auto [x0, y0, z, h] = boxes[b];
    for (int64_t x = x0 - h; x <= x0 + h; ++x)
      for (int64_t y = y0 - h; y <= y0 + h; ++y)
        d[(x * shape[1] + y) * shape[2] + z] = int32_t(b + 1);
  }
  return t;
}

}  // namespace

TEST_CASE("montage: slices through the largest cross-section and the label's extent") {
  // Foreground on z = 2 (a 3x3 box) and z = 9 (a 5x5 box): the largest is z = 9.
  const Tensor l = labels({12, 12, 12}, {{4, 4, 2, 1}, {6, 6, 9, 2}});
  const std::vector<int64_t> z = montage_slices(l, 3);
  REQUIRE(z.size() == 3);
  CHECK(std::find(z.begin(), z.end(), 9) != z.end());
  for (int64_t s : z) CHECK((s >= 2 && s <= 9));
  CHECK(std::is_sorted(z.begin(), z.end()));
  CHECK(std::adjacent_find(z.begin(), z.end()) == z.end());
  // Structures at two heights: every slice shown cuts one, none falls in the gap between.
  const Tensor gap = labels({12, 12, 12}, {{4, 4, 2, 1}, {4, 4, 3, 1}, {6, 6, 9, 2}});
  CHECK(montage_slices(gap, 3) == std::vector<int64_t>{2, 3, 9});
  // No foreground: spread over the volume.
  const std::vector<int64_t> e = montage_slices(Tensor::zeros({4, 4, 8}, DType::I32), 3);
  CHECK(e == std::vector<int64_t>{1, 3, 5});
  // Fewer slices than asked for when the volume is thin.
  CHECK(montage_slices(labels({6, 6, 1}, {{2, 2, 0, 1}}), 3) == std::vector<int64_t>{0});
}

TEST_CASE("montage: a PNG for cases on different grids, errors for mismatched maps") {
  const fs::path d = test::scratch_dir("montage", "png");
  const Tensor img1 = Tensor::full({12, 10, 6}, 1.0), img2 = Tensor::full({20, 20, 4}, 2.0);
  const std::vector<MontageCase> cases{
      {img1, labels({12, 10, 6}, {{5, 5, 3, 2}}), labels({12, 10, 6}, {{6, 5, 3, 2}})},
      {img2, labels({20, 20, 4}, {{8, 8, 1, 3}, {14, 14, 2, 2}}),
       Tensor::zeros({20, 20, 4}, DType::I32)}};
  const std::string png = (d / "m.png").string();
  write_montage_png(png, cases);
  CHECK(io::read_file(png).rfind("\x89PNG", 0) == 0);
  const std::vector<MontageCase> bad{{img1, labels({12, 10, 6}, {}), labels({12, 10, 5}, {})}};
  CHECK_THROWS_WITH_AS(write_montage_png((d / "bad.png").string(), bad),
                       doctest::Contains("prediction"), Error);
  CHECK_FALSE(fs::exists(d / "bad.png"));
  fs::remove_all(d);
}
