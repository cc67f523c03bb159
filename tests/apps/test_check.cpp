// `fdl check` end to end on the three layouts: the summary line, exit 0 on a clean dataset
// (warnings included), exit 1 with the errors listed.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/io/nifti.h"
#include "tests/support.h"

using namespace fdl;
namespace fs = std::filesystem;

namespace {

fs::path workdir(const std::string& name) {
  return test::scratch_dir("app_check", name, {"imagesTr", "labelsTr"});
}

// Runs `fdl check DIR`; the exit status (-1 for a crash), the output in `out`.
int fdl_check(const fs::path& dir, std::string& out) {
  const fs::path log = dir.parent_path() / (dir.filename().string() + ".log");
  const int rc = test::run_fdl("check '" + dir.string() + "'", log);
  out = test::slurp(log);
  return rc;
}

Tensor labels(int c) {
  Tensor lab = Tensor::zeros({6, 5, 4});
  for (int64_t i = 0; i < lab.numel(); ++i) lab.data<float>()[i] = float((i + c) % 3);
  return lab;
}

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("fdl check: MSD (4-D channels last), nnU-Net v2 and plain layouts") {
  std::string out;
  SUBCASE("msd") {
    const fs::path d = workdir("msd");
    std::string training;
    for (int c = 0; c < 3; ++c) {
      const std::string f = detail::concat("heart_", c, ".nii.gz");
      write_nifti((d / "imagesTr" / f).string(), test::randn({2, 6, 5, 4}, uint64_t(c), DType::F32),
                  Volume{});
      write_nifti((d / "labelsTr" / f).string(), labels(c), Volume{}, NiftiOutType::UInt8);
      training += detail::concat(c ? "," : "", R"({"image": "./imagesTr/)", f,
                                 R"(", "label": "./labelsTr/)", f, "\"}");
    }
    std::ofstream(d / "dataset.json")
        << R"({"modality": {"0": "T2", "1": "ADC"}, "labels": {"0": "bg", "1": "a", "2": "b"}, "training": [)"
        << training << "]}";
    CHECK_MESSAGE(fdl_check(d, out) == 0, out);
    CHECK_MESSAGE(has(out, "msd layout, 3 cases, 2 channels, 3 classes (bg, a, b)"), out);
    CHECK_MESSAGE(has(out, "3 cases checked: 0 errors, 0 warnings (ok)"), out);
  }
  SUBCASE("nnunet") {
    const fs::path d = workdir("nnunet");
    for (int c = 0; c < 2; ++c) {
      for (int ch = 0; ch < 2; ++ch)
        write_nifti((d / "imagesTr" / detail::concat("p", c, "_000", ch, ".nii.gz")).string(),
                    test::randn({6, 5, 4}, uint64_t(c * 2 + ch), DType::F32), Volume{});
      write_nifti((d / "labelsTr" / detail::concat("p", c, ".nii.gz")).string(), labels(c),
                  Volume{}, NiftiOutType::UInt8);
    }
    std::ofstream(d / "dataset.json")
        << R"({"channel_names": {"0": "T2", "1": "ADC"}, "labels": {"background": 0, "PZ": 1, "TZ": 2},
                                             "numTraining": 2, "file_ending": ".nii.gz"})";
    CHECK_MESSAGE(fdl_check(d, out) == 0, out);
    CHECK_MESSAGE(has(out, "nnunet layout, 2 cases, 2 channels, 3 classes (background, PZ, TZ)"),
                  out);
    // One channel file on another grid: exit 1, the file named.
    write_nifti((d / "imagesTr" / "p1_0001.nii.gz").string(), test::randn({6, 5, 5}, 9, DType::F32),
                Volume{});
    CHECK_MESSAGE(fdl_check(d, out) == 1, out);
    CHECK_MESSAGE(has(out, "error: p1: " + (d / "imagesTr" / "p1_0001.nii.gz").string() +
                               ": channel shape (6, 5, 5)"),
                  out);
  }
  SUBCASE("plain, with a warning") {
    const fs::path d = workdir("plain");
    for (int c = 0; c < 2; ++c) {
      write_nifti((d / "imagesTr" / detail::concat("s", c, ".nii")).string(),
                  test::randn({6, 5, 4}, uint64_t(c), DType::F32), Volume{});
      write_nifti((d / "labelsTr" / detail::concat("s", c, ".nii.gz")).string(),
                  c ? labels(c) : Tensor::zeros({6, 5, 4}), Volume{}, NiftiOutType::UInt8);
    }
    CHECK_MESSAGE(fdl_check(d, out) == 0, out);
    CHECK_MESSAGE(has(out,
                      "has no dataset.json: 3 classes (0..2) inferred from the largest label value "
                      "in 2 label files"),
                  out);
    CHECK_MESSAGE(has(out, "plain layout, 2 cases, 1 channel, 3 classes"), out);
    CHECK_MESSAGE(has(out, "warning: s0: " + (d / "labelsTr" / "s0.nii.gz").string() +
                               ": no foreground voxels"),
                  out);
  }
}
