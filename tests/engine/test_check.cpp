// The dataset integrity check: a clean dataset passes; each kind of bad case is reported with
// its case, file and reason while the other cases are still checked; the affine tolerance;
// the warnings; nnU-Net channel files that disagree.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "engine/data/check.h"
#include "tests/support.h"

using namespace fdl;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  return test::scratch_dir("check", name, {"imagesTr", "labelsTr"});
}

Volume oblique() {
  Volume h;
  h.spacing = {1.5, 1, 2};
  h.sform = {{{0, -1, 0, 30}, {1.5, 0, 0, -40}, {0, 0, 2, 12}, {0, 0, 0, 1}}};
  h.affine = h.sform;
  h.sform_code = 2;
  return h;
}

Tensor label_map(int c) {
  Tensor lab = Tensor::zeros({6, 5, 4});
  for (int64_t i = 0; i < lab.numel(); ++i) lab.data<float>()[i] = float((i * 7 + c) % 3);
  return lab;
}

// An MSD dataset of n cases, (C, 6, 5, 4) images written channels last, classes 0..2.
Dataset make_msd(const std::string& name, int n, int channels) {
  const fs::path root = scratch(name);
  std::string training;
  for (int c = 0; c < n; ++c) {
    const std::string f = detail::concat("c", c, ".nii.gz");
    write_nifti((root / "imagesTr" / f).string(),
                test::randn({channels, 6, 5, 4}, uint64_t(c), DType::F32), oblique());
    write_nifti((root / "labelsTr" / f).string(), label_map(c), oblique(), NiftiOutType::UInt8);
    training += std::string(c ? "," : "") + R"({"image": "./imagesTr/)" + f +
                R"(", "label": "./labelsTr/)" + f + "\"}";
  }
  std::ofstream(root / "dataset.json")
      << R"({"modality": {"0": "T1", "1": "T2"}, "labels": {"0": "bg", "1": "a", "2": "b"}, "training": [)"
      << training << "]}";
  Dataset d = open_dataset(root.string());
  if (channels == 1) d.channels = 1;
  return d;
}

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// The errors about `case_id`.
std::vector<CheckIssue> errors_of(const CheckReport& r, const std::string& case_id) {
  std::vector<CheckIssue> out;
  for (const auto& e : r.errors)
    if (e.case_id == case_id) out.push_back(e);
  return out;
}

}  // namespace

TEST_CASE("check: a clean MSD dataset with 4-D channels-last images passes") {
  const Dataset d = make_msd("clean", 3, 2);
  REQUIRE(d.channels == 2);
  const CheckReport r = check_dataset(d);
  CHECK(r.cases == 3);
  CHECK_MESSAGE(r.ok(), r.text());
  CHECK(r.warnings.empty());
  CHECK(has(r.text(), "3 cases checked: 0 errors, 0 warnings (ok)"));
}

TEST_CASE("check: every bad case is reported with its file and reason, and the rest are checked") {
  const Dataset d = make_msd("bad", 7, 1);
  auto& cs = d.cases;
  Tensor lab = label_map(0);
  lab.data<float>()[(2 * 5 + 3) * 4 + 1] = 7;  // a value outside 0..2
  write_nifti(cs[0].label, lab, oblique(), NiftiOutType::UInt8);
  write_nifti(cs[1].image, test::randn({6, 5, 3}, 1, DType::F32), oblique());  // another shape
  Tensor nan = test::randn({6, 5, 4}, 2, DType::F32);
  nan.data<float>()[3] = NAN, nan.data<float>()[8] = -INFINITY;
  write_nifti(cs[2].image, nan, oblique());
  Volume shifted = oblique();
  shifted.sform[1][3] += 1.5;  // one voxel along the second world axis
  write_nifti(cs[3].label, label_map(3), shifted, NiftiOutType::UInt8);
  std::ofstream(cs[4].label, std::ios::trunc) << "not a NIfTI file";
  Volume noisy = oblique();  // float32-level differences are not a mismatch
  noisy.sform[0][1] += 1e-6, noisy.sform[1][3] += 2e-5;
  write_nifti(cs[5].label, label_map(5), noisy, NiftiOutType::UInt8);
  Tensor frac = label_map(6);
  frac.data<float>()[5] = 0.5f;
  write_nifti(cs[6].label, frac, oblique());

  const CheckReport r = check_dataset(d);
  const std::string text = r.text();
  CHECK(r.cases == 7);
  CHECK_FALSE(r.ok());
  CHECK(r.errors.size() == 6u);
  MESSAGE(text);
  auto one = [&](const std::string& id, const std::string& file, const std::string& why) {
    const auto e = errors_of(r, id);
    REQUIRE_MESSAGE(e.size() == 1u, id, "\n", text);
    CHECK(e[0].file == file);
    CHECK_MESSAGE(has(e[0].problem, why), e[0].problem);
    CHECK(has(text, "error: " + id + ": " + file + ": "));
  };
  one("c0", cs[0].label,
      "label value 7 (1 voxels, the first at voxel (2, 3, 1)) outside the classes 0..2");
  one("c1", cs[1].label, "label shape (6, 5, 4) differs from " + cs[1].image + " (6, 5, 3)");
  one("c2", cs[2].image, "2 voxels are NaN or Inf");
  one("c3", cs[3].label, "label affine differs from that of " + cs[3].image);
  one("c4", cs[4].label, "not a readable NIfTI file");
  CHECK(errors_of(r, "c5").empty());
  one("c6", cs[6].label, "1 voxels are not integers (the first, 0.5, at voxel (0, 1, 1))");

  // A file that went missing after the dataset was opened.
  fs::remove(cs[1].image);
  const CheckReport r2 = check_dataset(d);
  REQUIRE(errors_of(r2, "c1").size() == 1u);
  CHECK(errors_of(r2, "c1")[0].problem == "file does not exist");
}

TEST_CASE("check: channel counts, nnU-Net channel files and warnings") {
  // The dataset.json declares two modalities but the images are 3-D.
  Dataset d = make_msd("channels", 2, 1);
  d.channels = 2;
  CheckReport r = check_dataset(d);
  REQUIRE(r.errors.size() == 2u);
  CHECK(has(r.errors[0].problem, "the image has 1 channels, the dataset declares 2"));

  // nnU-Net channel files: the second differs in shape from the first.
  d.channels = 2;
  Case& c = d.cases[0];
  c.channel_files = {c.image, c.image + ".second.nii.gz"};
  write_nifti(c.channel_files[1], test::randn({6, 5, 3}, 3, DType::F32), oblique());
  d.cases.resize(1);
  r = check_dataset(d);
  REQUIRE_MESSAGE(r.errors.size() == 1u, r.text());
  CHECK(r.errors[0].file == c.channel_files[1]);
  CHECK(has(r.errors[0].problem, "channel shape (6, 5, 3) differs from " + c.channel_files[0]));

  // Warnings: a constant image, a label without foreground, a class in no label.
  Dataset w = make_msd("warn", 2, 1);
  write_nifti(w.cases[0].image, Tensor::full({6, 5, 4}, 2), oblique());
  for (const Case& k : w.cases) {
    Tensor lab = Tensor::zeros({6, 5, 4});
    if (k.id == "c1") lab.data<float>()[0] = 1;
    write_nifti(k.label, lab, oblique(), NiftiOutType::UInt8);
  }
  r = check_dataset(w);
  CHECK_MESSAGE(r.ok(), r.text());
  REQUIRE_MESSAGE(r.warnings.size() == 3u, r.text());
  CHECK(has(r.text(), "warning: c0: " + w.cases[0].image + ": every voxel is 2"));
  CHECK(has(r.text(), "warning: c0: " + w.cases[0].label + ": no foreground voxels"));
  CHECK(has(r.text(), "class 2 (b) appears in no label"));
}

TEST_CASE("check: affines agree within 1e-3 of the axis lengths and the origin distance") {
  Affine a = oblique().sform;
  CHECK(affines_agree(a, a));
  Affine b = a;
  b[1][0] += 1.4e-3;  // axis length 1.5: tolerance 1.5e-3
  CHECK(affines_agree(a, b));
  b[1][0] += 2e-4;
  std::string why;
  CHECK_FALSE(affines_agree(a, b, &why));
  CHECK(has(why, "tolerance 0.0015"));
  b = a;
  b[0][3] += 0.05;  // origin 52.2 mm from the world origin: tolerance 0.052
  CHECK(affines_agree(a, b));
  b[0][3] += 0.01;
  CHECK_FALSE(affines_agree(a, b));
  b = a;
  b[2][2] = -2;  // a flipped axis
  CHECK_FALSE(affines_agree(a, b));
  // At the world origin the tolerance falls back to 1e-3 of the largest voxel.
  Affine o{};
  o[0][0] = o[1][1] = o[2][2] = 2, o[3][3] = 1;
  Affine p = o;
  p[2][3] = 1.9e-3;
  CHECK(affines_agree(o, p));
  p[2][3] = 2.1e-3;
  CHECK_FALSE(affines_agree(o, p));
}
