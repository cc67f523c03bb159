// `fdl disentangle` end to end: runs the binary on volumes written here, reads the outputs
// back, and checks shapes, affines, values against the op, and the bad-input behaviour.
#include <doctest/doctest.h>
#include <nifti1.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/io/nifti.h"
#include "engine/ops/spectral.h"
#include "tests/support.h"

using namespace fdl;
namespace fs = std::filesystem;

namespace {

fs::path workdir(const std::string& name) { return test::scratch_dir("disentangle", name); }

// Runs `fdl disentangle ARGS`; returns the exit status, and the output in `log`.
int fdl_disentangle(const std::string& args, const fs::path& log) {
  return test::run_fdl("disentangle " + args, log);
}

Volume header() {
  Volume h;
  h.spacing = {1.5, 2, 3};
  h.sform = {{{0, -2, 0, 10}, {1.5, 0, 0, -20}, {0, 0, 3, 5}, {0, 0, 0, 1}}};
  h.qform = h.sform;
  h.qform[2][3] = 4;  // a qform that differs from the sform must survive too
  h.affine = h.sform;
  h.qform_code = 1;
  h.sform_code = 4;
  return h;
}

void check_affine(const Affine& got, const Affine& want, const std::string& what) {
  for (size_t r = 0; r < 4; ++r)
    for (size_t c = 0; c < 4; ++c)
      CHECK_MESSAGE(std::abs(got[r][c] - want[r][c]) < 1e-4, what, " [", r, "][", c,
                    "]: ", got[r][c], " vs ", want[r][c]);
}

}  // namespace

TEST_CASE("fdl disentangle: outputs, shapes, affines and values") {
  const fs::path dir = workdir("ok");
  const Volume h = header();
  const Tensor data = test::randn({20, 16, 8}, 3, DType::F32);
  write_nifti((dir / "img.nii.gz").string(), data, h);
  REQUIRE(fdl_disentangle((dir / "img.nii.gz").string() + " -o " + (dir / "out").string() +
                              " --beta 0.25 0.5 1.0 --kspace-centre shifted",
                          dir / "log") == 0);
  const Volume high = read_nifti((dir / "out" / "img_high.nii.gz").string());
  const Volume low = read_nifti((dir / "out" / "img_low.nii.gz").string());
  CHECK(fs::file_size(dir / "out" / "img_split.png") > 100);
  CHECK(test::slurp(dir / "out" / "img_split.png").substr(1, 3) == "PNG");
  REQUIRE(high.data.shape() == Shape{20, 16, 8});
  REQUIRE(low.data.shape() == Shape{5, 8, 8});
  check_affine(high.sform, h.sform, "high sform");
  check_affine(high.qform, h.qform, "high qform");
  CHECK(high.sform_code == 4);
  CHECK(high.qform_code == 1);
  // Low: voxels n/m = (4, 2, 1) times larger, the origin kept (see apps/disentangle.cpp).
  Affine want = h.sform, want_q = h.qform;
  const double scale[3] = {4, 2, 1};
  for (size_t r = 0; r < 3; ++r)
    for (size_t c = 0; c < 3; ++c) want[r][c] *= scale[c], want_q[r][c] *= scale[c];
  check_affine(low.sform, want, "low sform");
  check_affine(low.qform, want_q, "low qform");
  CHECK(low.spacing[0] == doctest::Approx(6));
  // The values are the op's.
  const SplitResult ref =
      spectral_split(data.reshape({1, 1, 20, 16, 8}), {0.25, 0.5, 1.0}, KspaceCentre::Shifted);
  test::check_close(high.data, ref.high.reshape({20, 16, 8}), 0, 1e-6, "high");
  test::check_close(low.data, ref.low.reshape({5, 8, 8}), 0, 1e-6, "low");
}

TEST_CASE("fdl disentangle: 4-D input with channels, unshifted") {
  const fs::path dir = workdir("four");
  write_nifti((dir / "multi.nii").string(), test::randn({2, 12, 10, 6}, 4, DType::F32), header());
  REQUIRE(fdl_disentangle((dir / "multi.nii").string() + " -o " + (dir / "out").string() +
                              " --beta 0.5 0.5 0.5 --kspace-centre unshifted",
                          dir / "log") == 0);
  CHECK(read_nifti((dir / "out" / "multi_high.nii.gz").string()).data.shape() ==
        Shape{2, 12, 10, 6});
  CHECK(read_nifti((dir / "out" / "multi_low.nii.gz").string()).data.shape() == Shape{2, 6, 5, 3});
  CHECK(fs::exists(dir / "out" / "multi_split.png"));
}

TEST_CASE("fdl disentangle: bad input fails cleanly with no output") {
  const fs::path dir = workdir("bad");
  std::ofstream(dir / "broken.nii.gz") << "not a volume";
  CHECK(fdl_disentangle((dir / "broken.nii.gz").string() + " -o " + (dir / "out").string(),
                        dir / "log") == 1);
  CHECK(test::slurp(dir / "log").find((dir / "broken.nii.gz").string()) != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "out"));
  // A beta that empties the block on a small volume.
  write_nifti((dir / "small.nii").string(), Tensor::zeros({8, 8, 4}), header());
  CHECK(fdl_disentangle((dir / "small.nii").string() + " -o " + (dir / "out").string(),
                        dir / "log") == 1);
  CHECK(test::slurp(dir / "log").find("empty block") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "out"));
  // An unknown convention is refused by the parser.
  CHECK(fdl_disentangle((dir / "small.nii").string() + " -o " + (dir / "out").string() +
                            " --kspace-centre middle",
                        dir / "log") != 0);
  CHECK_FALSE(fs::exists(dir / "out"));
}
