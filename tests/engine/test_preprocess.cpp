// Preprocessing: the centred crop/pad rule on hand-worked cases, its exact inverse, resize
// against resample.h, the three normalisations against direct computations (percentiles by
// full sort), normalisation before fitting (padding is 0), and the errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "engine/data/preprocess.h"
#include "engine/data/resample.h"
#include "tests/support.h"

using namespace fdl;

namespace {

Tensor iota_i32(const Shape& s, int32_t start = 1) {
  Tensor t = Tensor::empty(s, DType::I32);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<int32_t>()[i] = start + int32_t(i);
  return t;
}

Preprocess crop_pad(std::array<int64_t, 3> shape, Norm norm = Norm::MinMax) {
  Preprocess p;
  p.shape = shape;
  p.fit = Fit::CropPad;
  p.norm = norm;
  return p;
}

// numpy.percentile's default (linear) on a fully sorted copy.
double percentile_by_sort(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q / 100 * double(v.size() - 1);
  const size_t lo = size_t(pos), hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - double(lo)) * (v[hi] - v[lo]);
}

}  // namespace

TEST_CASE("preprocess: option names round trip and bad names are refused") {
  for (Fit f : {Fit::Resize, Fit::CropPad}) CHECK(parse_fit(fit_name(f)) == f);
  for (Norm n : {Norm::MinMax, Norm::ZScore, Norm::Percentile})
    CHECK(parse_norm(norm_name(n)) == n);
  CHECK(fit_name(Fit::CropPad) == "crop-pad");
  CHECK_THROWS_WITH_AS(parse_fit("crop"), doctest::Contains("--fit: 'crop'"), Error);
  CHECK_THROWS_WITH_AS(parse_norm("z"), doctest::Contains("--norm: 'z'"), Error);
}

TEST_CASE("preprocess: crop-pad puts the odd voxel at the end, on hand-worked cases") {
  // z: 3 -> 6 pads 1 before and 2 after; y: 5 -> 2 drops 1 before and 2 after; x: 2 -> 3
  // pads 0 before and 1 after.
  const Tensor lab = iota_i32({2, 5, 3});
  const Prepared r = prepare(Tensor::zeros({1, 2, 5, 3}), lab, crop_pad({3, 2, 6}));
  REQUIRE(r.label.shape() == Shape{3, 2, 6});
  CHECK(r.original_shape == std::array<int64_t, 3>{2, 5, 3});
  const int32_t* o = r.label.data<int32_t>();
  for (int x = 0; x < 3; ++x)
    for (int y = 0; y < 2; ++y)
      for (int z = 0; z < 6; ++z) {
        const int32_t want = (x < 2 && z >= 1 && z <= 3) ? 1 + (x * 5 + (y + 1)) * 3 + (z - 1) : 0;
        CHECK(o[(x * 2 + y) * 6 + z] == want);
      }
}

TEST_CASE("preprocess: restore_mask undoes crop-pad exactly and resize by nearest") {
  // Mixed crop and pad with odd and even differences on each axis.
  for (const std::array<int64_t, 3>& target :
       {std::array<int64_t, 3>{4, 8, 6}, {9, 3, 5}, {7, 7, 7}, {6, 6, 2}}) {
    const Tensor lab = iota_i32({7, 6, 5});
    const Preprocess p = crop_pad(target);
    const Prepared r = prepare(test::randn({2, 7, 6, 5}, 1, DType::F32), lab, p);
    const Tensor back = restore_mask(r.label, r.original_shape, p);
    REQUIRE(back.shape() == Shape{7, 6, 5});
    // Inside the kept window the original value comes back; the cut-away part is background.
    int64_t kept = 0;
    for (int64_t i = 0; i < back.numel(); ++i) {
      const int32_t v = back.data<int32_t>()[i];
      CHECK((v == 0 || v == lab.data<int32_t>()[i]));
      kept += v != 0;
    }
    int64_t want = 1;
    for (size_t a = 0; a < 3; ++a) want *= std::min<int64_t>(target[a], lab.size(int(a)));
    CHECK(kept == want);
  }
  // Resize: nearest back to the original grid; an integer up-scale comes back exactly.
  Preprocess p;
  p.shape = {8, 12, 4};
  const Tensor lab = iota_i32({4, 6, 2});
  const Prepared r = prepare(test::randn({1, 4, 6, 2}, 2, DType::F32), lab, p);
  CHECK(r.label.to_vector() == resize_nearest(lab, p.shape).to_vector());
  CHECK(restore_mask(r.label, r.original_shape, p).to_vector() == lab.to_vector());
  const Tensor odd = iota_i32({8, 12, 4}, 5);
  CHECK(restore_mask(odd, {5, 7, 3}, p).to_vector() == resize_nearest(odd, {5, 7, 3}).to_vector());
  CHECK_THROWS_WITH_AS(restore_mask(iota_i32({8, 12, 5}), {4, 6, 2}, p),
                       doctest::Contains("not at the preprocessing shape"), Error);
}

TEST_CASE("preprocess: normalisations per channel against direct computation") {
  const int64_t n = 6 * 5 * 7;
  Tensor img = test::randn({2, 6, 5, 7}, 3, DType::F32);
  for (int64_t i = 0; i < n; ++i)
    img.data<float>()[n + i] = img.data<float>()[n + i] * 40 + 100;  // CT-like channel
  img.data<float>()[n + 17] = 3000;                                  // an outlier (metal)
  const std::vector<double> raw = img.to_vector();
  for (Norm norm : {Norm::MinMax, Norm::ZScore, Norm::Percentile}) {
    const Prepared r = prepare(img, Tensor(), crop_pad({6, 5, 7}, norm));  // identity fit
    CHECK_FALSE(r.label.defined());
    const std::vector<double> v = r.image.to_vector();
    for (int c = 0; c < 2; ++c) {
      const std::vector<double> x(raw.begin() + c * n, raw.begin() + (c + 1) * n);
      double lo = *std::min_element(x.begin(), x.end()), hi = *std::max_element(x.begin(), x.end());
      double mean = 0, var = 0;
      for (double e : x) mean += e / double(n);
      for (double e : x) var += (e - mean) * (e - mean) / double(n);
      if (norm == Norm::Percentile)
        lo = percentile_by_sort(x, 0.5), hi = percentile_by_sort(x, 99.5);
      for (int64_t i = 0; i < n; ++i) {
        double want = norm == Norm::ZScore ? (x[size_t(i)] - mean) / std::sqrt(var)
                                           : (x[size_t(i)] - lo) / (hi - lo);
        if (norm != Norm::ZScore) want = std::clamp(want, 0.0, 1.0);
        REQUIRE(v[size_t(c * n + i)] == doctest::Approx(want).epsilon(1e-5));
      }
    }
    // The outlier squashes min-max but not the percentile clip.
    if (norm == Norm::Percentile) {
      CHECK(v[size_t(n + 17)] == 1.0);
      CHECK(std::count_if(v.begin() + n, v.end(), [](double e) { return e > 0.2 && e < 0.8; }) >
            n / 2);
    }
  }
  // A constant channel becomes zeros whatever the normalisation.
  for (Norm norm : {Norm::MinMax, Norm::ZScore, Norm::Percentile})
    for (double e : prepare(Tensor::full({1, 3, 3, 3}, 7), Tensor(), crop_pad({3, 3, 3}, norm))
                        .image.to_vector())
      REQUIRE(e == 0.0);
}

TEST_CASE("preprocess: normalisation happens before the fit, so padding is 0 and resize commutes") {
  const Tensor img = test::randn({1, 5, 4, 3}, 4, DType::F32);
  Preprocess z = crop_pad({9, 4, 3}, Norm::ZScore);
  const Prepared r = prepare(img, Tensor(), z);
  const std::vector<double> v = r.image.to_vector();
  const Prepared same = prepare(img, Tensor(), crop_pad({5, 4, 3}, Norm::ZScore));
  const std::vector<double> s = same.image.to_vector();
  for (int64_t x = 0; x < 9; ++x)
    for (int64_t i = 0; i < 12; ++i)
      CHECK(v[size_t(x * 12 + i)] == (x >= 2 && x < 7 ? s[size_t((x - 2) * 12 + i)] : 0.0));
  // Resize: the trilinear resize of the normalised volume.
  Preprocess p;
  p.shape = {7, 6, 2};
  const std::vector<double> got = prepare(img, Tensor(), p).image.to_vector();
  const std::vector<double> want =
      resize_trilinear(prepare(img, Tensor(), crop_pad({5, 4, 3})).image, p.shape).to_vector();
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-6));
}

TEST_CASE("preprocess: bad arguments are refused by name") {
  Preprocess p;
  p.shape = {4, 4, 4};
  CHECK_THROWS_WITH_AS(prepare(Tensor::zeros({4, 4, 4}), Tensor(), p),
                       doctest::Contains("(C, X, Y, Z)"), Error);
  CHECK_THROWS_WITH_AS(prepare(Tensor::zeros({1, 4, 4, 4}), iota_i32({4, 4, 3}), p),
                       doctest::Contains("differ in spatial shape"), Error);
  CHECK_THROWS_WITH_AS(prepare(Tensor::zeros({1, 4, 4, 4}), Tensor::zeros({4, 4, 4}), p),
                       doctest::Contains("int32"), Error);
  p.pct_low = 60, p.pct_high = 40;
  CHECK_THROWS_WITH_AS(prepare(Tensor::zeros({1, 4, 4, 4}), Tensor(), p),
                       doctest::Contains("percentiles"), Error);
  p.pct_low = 1, p.shape = {4, 0, 4};
  CHECK_THROWS_WITH_AS(prepare(Tensor::zeros({1, 4, 4, 4}), Tensor(), p),
                       doctest::Contains("target shape"), Error);
}
