// The phantom generator: deterministic from the seed, both nucleus classes present in every
// case as left/right pairs of plausible size and place, with contrast above the surrounding
// tissue, and a written dataset that opens and loads like any MSD directory.
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "engine/data/dataset.h"
#include "engine/data/phantoms.h"
#include "engine/io/nifti.h"
#include "tests/support.h"

using namespace fdl;
namespace fs = std::filesystem;

namespace {

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

struct ClassStats {
  int64_t count = 0, right = 0, left = 0;  // voxels, and those on either side of the midline
  double mean_y = 0, mean_z = 0, mean_value = 0;
};

ClassStats stats(const PhantomCase& p, int cls) {
  ClassStats s;
  const int64_t X = p.image.size(0), Y = p.image.size(1), Z = p.image.size(2);
  for (int64_t i = 0; i < X; ++i)
    for (int64_t j = 0; j < Y; ++j)
      for (int64_t k = 0; k < Z; ++k) {
        const int64_t v = (i * Y + j) * Z + k;
        if (p.label.data<int32_t>()[v] != cls) continue;
        ++s.count;
        (2 * i + 1 > X ? s.right : s.left) += 1;
        s.mean_y += double(j) / double(Y);
        s.mean_z += double(k) / double(Z);
        s.mean_value += p.image.data<float>()[v];
      }
  if (s.count)
    s.mean_y /= double(s.count), s.mean_z /= double(s.count), s.mean_value /= double(s.count);
  return s;
}

}  // namespace

TEST_CASE("phantoms: a case is a pure function of seed and index") {
  PhantomOptions o;
  o.shape = {32, 28, 24};
  const PhantomCase a = make_phantom(o, 3), b = make_phantom(o, 3);
  CHECK(same_bytes(a.image, b.image));
  CHECK(same_bytes(a.label, b.label));
  o.cases = 1;  // the number of cases does not change a case
  CHECK(same_bytes(make_phantom(o, 3).image, a.image));
  CHECK_FALSE(same_bytes(make_phantom(o, 4).image, a.image));
  o.seed = 2;
  const PhantomCase c = make_phantom(o, 3);
  CHECK_FALSE(same_bytes(c.image, a.image));
  CHECK_FALSE(same_bytes(c.label, a.label));
}

TEST_CASE("phantoms: every case has both nuclei, paired, small, in place and bright") {
  PhantomOptions o;  // 64x64x48, 1 mm voxels
  for (int c = 0; c < 12; ++c) {
    const PhantomCase p = make_phantom(o, c);
    CHECK(p.spacing == std::array<double, 3>{1, 1, 1});
    const ClassStats red = stats(p, 1), dent = stats(p, 2), bg = stats(p, 0);
    CAPTURE(c);
    CAPTURE(red.count);
    CAPTURE(dent.count);
    // Red nuclei: ellipsoids ~8 mm across (~230 mm^3, 1 mm voxels); dentate: a ~12 mm shell
    // (~450 mm^3). Case-to-case size variation stays within about 0.4x..2.5x of these.
    CHECK(red.right >= 60);
    CHECK(red.left >= 60);
    CHECK(red.right <= 600);
    CHECK(red.left <= 600);
    CHECK(dent.right >= 120);
    CHECK(dent.left >= 120);
    CHECK(dent.right <= 1400);
    CHECK(dent.left <= 1400);
    // Pairs are roughly symmetric.
    CHECK(std::abs(double(red.right - red.left)) < 0.5 * double(red.count));
    CHECK(std::abs(double(dent.right - dent.left)) < 0.5 * double(dent.count));
    // The dentate lies lower and more posterior than the red nucleus.
    CHECK(dent.mean_z + 0.15 < red.mean_z);
    CHECK(dent.mean_y + 0.15 < red.mean_y);
    // Positive susceptibility-like contrast (ppm-like units; the noise sigma is 0.008..0.014).
    CHECK(red.mean_value > bg.mean_value + 0.03);
    CHECK(dent.mean_value > bg.mean_value + 0.03);
  }
}

TEST_CASE("phantoms: the field of view is fixed, so a finer grid holds the same anatomy") {
  PhantomOptions coarse, fine;
  coarse.shape = {32, 32, 24};
  fine.shape = {64, 64, 48};
  const PhantomCase a = make_phantom(coarse, 5), b = make_phantom(fine, 5);
  CHECK(a.spacing == std::array<double, 3>{2, 2, 2});
  for (int cls : {1, 2}) {
    const double ratio = double(stats(b, cls).count) / double(stats(a, cls).count);
    CHECK_MESSAGE(std::abs(ratio - 8.0) < 2.5, "class ", cls, ": fine/coarse voxel ratio ", ratio);
  }
  // Outside the brain the QSM-like image is masked to zero.
  CHECK(b.image.data<float>()[0] == 0.0f);
}

TEST_CASE("phantoms: the written dataset opens, loads and matches the generator") {
  const fs::path root = test::scratch_dir("phantoms", "written");
  PhantomOptions o;
  o.cases = 12;
  const auto t0 = std::chrono::steady_clock::now();
  write_phantoms(root.string(), o);
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("write_phantoms: 12 cases of 64x64x48 in ", sec, " s");
  CHECK(sec < 10.0);

  const Dataset d = open_dataset(root.string());
  CHECK(d.classes == 3);
  CHECK(d.channels == 1);
  CHECK(d.class_names == std::vector<std::string>{"background", "red_nucleus", "dentate"});
  REQUIRE(d.cases.size() == 12u);
  CHECK(d.cases[7].id == "case_007");

  const Volume img = read_nifti(d.cases[7].image), lab = read_nifti(d.cases[7].label);
  const PhantomCase p = make_phantom(o, 7);
  CHECK(img.data.to_vector() == p.image.to_vector());
  CHECK(lab.data.to_vector() == p.label.to_vector());
  CHECK(img.spacing == std::array<double, 3>{1, 1, 1});
  CHECK(img.affine[0][0] == 1.0);
  CHECK(img.affine[0][3] == -31.5);  // voxel centres symmetric about the origin

  const Sample s = load_case(d.cases[7], {32, 32, 24}, d.classes);
  CHECK(s.image.shape() == Shape{1, 32, 32, 24});
  int64_t counts[3] = {0, 0, 0};
  for (double v : s.label.to_vector()) ++counts[int(v)];
  CHECK(counts[1] > 0);
  CHECK(counts[2] > 0);
  fs::remove_all(root);
}
