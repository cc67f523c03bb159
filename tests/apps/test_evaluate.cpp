// `fdl evaluate` end to end: runs the binary on masks written here with write_nifti, reads
// the CSV and JSON back, compares with evaluate_case, and checks the bad-input behaviour
// (a clear message naming the file, a non-zero exit, no output).
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/io/nifti.h"
#include "engine/metrics/segmentation.h"
#include "tests/support.h"

using namespace fdl;
namespace fs = std::filesystem;

namespace {

fs::path workdir(const std::string& name) {
  return test::scratch_dir("evaluate", name, {"pred", "label"});
}

// Runs `fdl evaluate ARGS`; returns the exit status, and the output in `log`.
int fdl_evaluate(const std::string& args, const fs::path& log) {
  return test::run_fdl("evaluate " + args, log);
}

Volume header(std::array<double, 3> spacing = {1.5, 2, 3}) {
  Volume h;
  h.spacing = spacing;
  h.sform = {
      {{spacing[0], 0, 0, 10}, {0, spacing[1], 0, -20}, {0, 0, spacing[2], 5}, {0, 0, 0, 1}}};
  h.qform = h.sform;
  h.affine = h.sform;
  h.qform_code = 1;
  h.sform_code = 1;
  return h;
}

// A label map of two boxes (classes 1 and 2) on a 12x10x8 grid, shifted by `shift` along x;
// `with2` false leaves class 2 out.
Tensor mask(int64_t shift, bool with2 = true) {
  Tensor t = Tensor::zeros({12, 10, 8});
  float* v = t.data<float>();
  for (int64_t x = 0; x < 12; ++x)
    for (int64_t y = 0; y < 10; ++y)
      for (int64_t z = 0; z < 8; ++z) {
        float& o = v[(x * 10 + y) * 8 + z];
        if (x >= 2 + shift && x < 6 + shift && y >= 2 && y < 6 && z >= 1 && z < 4) o = 1;
        if (with2 && x >= 7 && x < 10 && y >= 5 && y < 9 && z >= 4 && z < 7 - shift) o = 2;
      }
  return t;
}

Tensor as_labels(const Tensor& t) {
  Tensor o = Tensor::empty(t.shape(), DType::I32);
  for (int64_t i = 0; i < t.numel(); ++i) o.data<int32_t>()[i] = int32_t(t.data<float>()[i]);
  return o;
}

// Two cases: "a" (prediction shifted by 1) and "b" (shifted by 2, no class 2 in the prediction).
void write_cases(const fs::path& d) {
  write_nifti((d / "label" / "a.nii.gz").string(), mask(0), header(), NiftiOutType::UInt8);
  write_nifti((d / "pred" / "a.nii.gz").string(), mask(1), header(), NiftiOutType::UInt8);
  write_nifti((d / "label" / "b.nii.gz").string(), mask(0), header({0.5, 0.5, 4}),
              NiftiOutType::UInt8);
  write_nifti((d / "pred" / "b.nii.gz").string(), mask(2, false), header({0.5, 0.5, 4}),
              NiftiOutType::UInt8);
}

void check_no_output(const fs::path& d) {
  CHECK(!fs::exists(d / "out" / "m.csv"));
  CHECK(!fs::exists(d / "out" / "m.json"));
}

std::string args(const fs::path& d, const std::string& extra = "") {
  return (d / "pred").string() + " " + (d / "label").string() + " -o " +
         (d / "out" / "m").string() + extra;
}

}  // namespace

TEST_CASE("fdl evaluate: CSV and JSON match evaluate_case, classes inferred and named") {
  const fs::path d = workdir("ok");
  write_cases(d);
  // fdl predict's probability maps sit beside the masks and are skipped.
  write_nifti((d / "pred" / "a_prob.nii.gz").string(), Tensor::zeros({3, 12, 10, 8}), header());
  REQUIRE_MESSAGE(fdl_evaluate(args(d), d / "log") == 0, test::slurp(d / "log"));
  const std::string log = test::slurp(d / "log");
  CHECK(log.find("--classes not given: 3 classes") != std::string::npos);
  CHECK(log.find("class 2 (class2)") != std::string::npos);

  const auto want_a = evaluate_case(as_labels(mask(1)), as_labels(mask(0)), {1.5, 2, 3}, 3);
  const auto want_b =
      evaluate_case(as_labels(mask(2, false)), as_labels(mask(0)), {0.5, 0.5, 4}, 3);
  CHECK(want_a[0].hausdorff == doctest::Approx(1.5));  // the shift of one voxel along x
  CHECK(want_b[0].hausdorff == doctest::Approx(1.0));

  std::ifstream jf(d / "out" / "m.json");
  const nlohmann::json js = nlohmann::json::parse(jf);
  REQUIRE(js["classes"].size() == 2);
  for (int c = 1; c <= 2; ++c) {
    const auto& jc = js["classes"][size_t(c - 1)];
    CHECK(jc["class"] == c);
    REQUIRE(jc["cases"].size() == 2);
    const auto& ra = jc["cases"][0];
    const auto& rb = jc["cases"][1];
    CHECK(ra["case"] == "a");
    CHECK(rb["case"] == "b");
    const ClassMetrics& a = want_a[size_t(c - 1)];
    const ClassMetrics& b = want_b[size_t(c - 1)];
    CHECK(ra["dice"].get<double>() == doctest::Approx(a.dice).epsilon(1e-9));
    CHECK(ra["hd95_mm"].get<double>() == doctest::Approx(a.hd95).epsilon(1e-9));
    CHECK(ra["mean_surface_distance_mm"].get<double>() ==
          doctest::Approx(a.mean_surface_distance).epsilon(1e-9));
    CHECK(rb["dice"].get<double>() == doctest::Approx(b.dice).epsilon(1e-9));
    CHECK(rb["label_voxels"] == b.label_voxels);
    if (c == 1) {
      CHECK(rb["hausdorff_mm"].get<double>() == doctest::Approx(b.hausdorff).epsilon(1e-9));
      CHECK(jc["summary"]["dice"]["mean"].get<double>() == doctest::Approx((a.dice + b.dice) / 2));
      CHECK(jc["summary"]["dice"]["n"] == 2);
    } else {  // class 2 missing from b's prediction: distances undefined there
      CHECK(rb["hausdorff_mm"].is_null());
      CHECK(rb["note"] == "prediction empty: distances undefined");
      CHECK(jc["summary"]["hausdorff_mm"]["n"] == 1);
    }
  }
  const std::string csv = test::slurp(d / "out" / "m.csv");
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 5);
  CHECK(csv.find("\nb,2,class2,0,") != std::string::npos);

  // Names for the classes; the -o suffix .csv is taken as the prefix.
  REQUIRE_MESSAGE(
      fdl_evaluate((d / "pred").string() + " " + (d / "label").string() + " -o " +
                       (d / "out" / "named.csv").string() + " --classes background liver tumour",
                   d / "log2") == 0,
      test::slurp(d / "log2"));
  const std::string named = test::slurp(d / "out" / "named.csv");
  CHECK(named.find("\na,1,liver,") != std::string::npos);
  CHECK(named.find("\na,2,tumour,") != std::string::npos);
  CHECK(test::slurp(d / "log2").find("inferred") == std::string::npos);

  // --classes 4: a class in neither mask is "both empty".
  REQUIRE(fdl_evaluate(args(d, " --classes 4"), d / "log3") == 0);
  CHECK(test::slurp(d / "out" / "m.csv")
            .find("\na,3,class3,1,1,nan,nan,0,nan,1,0,0,0,0,0,\"both empty") != std::string::npos);
  fs::remove_all(d);
}

TEST_CASE("fdl evaluate: a missing pair names the file and writes nothing") {
  const fs::path d = workdir("missing");
  write_cases(d);
  fs::remove(d / "pred" / "b.nii.gz");
  CHECK(fdl_evaluate(args(d), d / "log") != 0);
  std::string log = test::slurp(d / "log");
  CHECK(log.find((d / "label" / "b.nii.gz").string()) != std::string::npos);
  CHECK(log.find("no prediction") != std::string::npos);
  check_no_output(d);

  write_cases(d);
  write_nifti((d / "pred" / "c.nii.gz").string(), mask(0), header(), NiftiOutType::UInt8);
  CHECK(fdl_evaluate(args(d), d / "log") != 0);
  log = test::slurp(d / "log");
  CHECK(log.find((d / "pred" / "c.nii.gz").string()) != std::string::npos);
  CHECK(log.find("no label") != std::string::npos);
  check_no_output(d);
  fs::remove_all(d);
}

TEST_CASE("fdl evaluate: grids that differ, bad values and bad arguments") {
  const fs::path d = workdir("bad");
  write_cases(d);
  const std::string pa = (d / "pred" / "a.nii.gz").string(),
                    la = (d / "label" / "a.nii.gz").string();
  auto fails_with = [&](const std::string& extra, const std::vector<std::string>& parts) {
    CHECK(fdl_evaluate(args(d, extra), d / "log") != 0);
    const std::string log = test::slurp(d / "log");
    for (const std::string& p : parts)
      CHECK_MESSAGE(log.find(p) != std::string::npos, log, " lacks ", p);
    check_no_output(d);
  };

  // Shape.
  write_nifti(pa, Tensor::zeros({12, 10, 9}), header(), NiftiOutType::UInt8);
  fails_with("", {pa, la, "differ in shape"});
  // Affine: a translation of 2 mm.
  Volume moved = header();
  moved.sform[0][3] += 2;
  moved.qform = moved.affine = moved.sform;
  write_nifti(pa, mask(1), moved, NiftiOutType::UInt8);
  fails_with("", {pa, la, "differ in affine"});
  // Values: a fraction, and a class beyond --classes.
  Tensor frac = mask(1);
  frac.data<float>()[5] = 0.5f;
  write_nifti(pa, frac, header());
  fails_with("", {pa, "not a class index"});
  write_nifti(pa, mask(1), header(), NiftiOutType::UInt8);
  fails_with(" --classes 2", {pa, la, "value 2", "outside the classes"});
  fails_with(" --classes background", {"--classes"});
  // Directories.
  fs::remove_all(d / "label");
  fs::create_directories(d / "label");
  fails_with("", {(d / "label").string(), "no .nii"});
  fs::remove_all(d / "label");
  fails_with("", {(d / "label").string(), "does not exist"});
  fs::remove_all(d);
}
