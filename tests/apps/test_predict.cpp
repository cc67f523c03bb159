// `fdl predict` and the train-time evaluation end to end on tiny phantom runs: masks on each
// input's own grid with its sform and qform, probability maps on the model grid, the exact
// un-crop of crop-pad, splits.json reused by --splits, test metrics that agree with a
// recomputation, and bad inputs that leave no output.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "engine/data/dataset.h"
#include "engine/data/phantoms.h"
#include "engine/device.h"
#include "engine/io/nifti.h"
#include "engine/io/output_dir.h"
#include "engine/metrics/segmentation.h"
#include "engine/ops/elementwise.h"
#include "tests/support.h"
#include "train/checkpoint.h"

using namespace fdl;
namespace fs = std::filesystem;

namespace {

fs::path workdir(const std::string& name) { return test::scratch_dir("predict", name); }

int run_fdl(const std::string& args, const fs::path& log) {
  return test::run_fdl(args + " --threads 2", log);
}

// 8 phantom cases of the given shape: 2 test, 2 validation and 4 training cases.
fs::path phantoms(const std::string& name, std::array<int64_t, 3> shape) {
  const fs::path d = workdir(name);
  PhantomOptions o;
  o.cases = 8;
  o.shape = shape;
  o.seed = 7;
  write_phantoms(d.string(), o);
  return d;
}

std::string train_args(const fs::path& ds, const fs::path& run, const std::string& extra = "",
                       int epochs = 2, int seed = 3) {
  return "train " + ds.string() + " --model unet3d --shape 16 16 8 --batch 2 --lr 0.01 --seed " +
         std::to_string(seed) + " --epochs " + std::to_string(epochs) + " -o " + run.string() +
         " " + extra;
}

// A trained run on 20x18x10 phantoms resized to 16x16x8, shared by the tests below.
struct ResizeRun {
  fs::path data, run;
};
const ResizeRun& resize_run() {
  static const ResizeRun r = [] {
    ResizeRun x{phantoms("resize_data", {20, 18, 10}), workdir("resize") / "run"};
    const fs::path log = x.run.parent_path() / "log.txt";
    const int rc = run_fdl(train_args(x.data, x.run), log);
    if (rc != 0) FAIL(test::slurp(log));
    return x;
  }();
  return r;
}

Tensor as_int(const Tensor& t) {
  Tensor out = Tensor::empty(t.shape(), DType::I32);
  for (int64_t i = 0; i < t.numel(); ++i)
    out.data<int32_t>()[i] = int32_t(std::lround(t.data<float>()[i]));
  return out;
}

std::array<double, 3> apply(const Affine& a, std::array<double, 3> v) {
  std::array<double, 3> w{};
  for (int r = 0; r < 3; ++r)
    w[size_t(r)] = a[r][0] * v[0] + a[r][1] * v[1] + a[r][2] * v[2] + a[r][3];
  return w;
}

void check_same_geometry(const Volume& a, const Volume& b) {
  CHECK(a.sform_code == b.sform_code);
  CHECK(a.qform_code == b.qform_code);
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) {
      CHECK(a.affine[r][c] == doctest::Approx(b.affine[r][c]).epsilon(1e-6));
      CHECK(a.sform[r][c] == doctest::Approx(b.sform[r][c]).epsilon(1e-6));
      CHECK(a.qform[r][c] == doctest::Approx(b.qform[r][c]).epsilon(1e-5));
    }
}

// Rows of a metrics CSV as maps from column name to text.
std::vector<std::map<std::string, std::string>> read_csv(const fs::path& p) {
  std::istringstream in(test::slurp(p));
  std::string line;
  std::vector<std::string> header;
  std::vector<std::map<std::string, std::string>> rows;
  auto split = [](const std::string& l) {
    std::vector<std::string> out;
    std::stringstream s(l);
    std::string f;
    while (std::getline(s, f, ',')) out.push_back(f);
    return out;
  };
  std::getline(in, line);
  header = split(line);
  while (std::getline(in, line)) {
    const std::vector<std::string> f = split(line);
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < header.size() && i < f.size(); ++i) row[header[i]] = f[i];
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

TEST_CASE(
    "fdl predict: masks on each input's grid with its sform and qform, probabilities on the model "
    "grid") {
  const ResizeRun& r = resize_run();
  const fs::path out = workdir("resize_out");
  const fs::path log = out.parent_path() / "predict_log.txt";
  REQUIRE_MESSAGE(run_fdl("predict " + r.run.string() + " -o " + out.string() + " " +
                              (r.data / "imagesTr").string() + " --probabilities",
                          log) == 0,
                  test::slurp(log));
  int n = 0;
  for (const auto& e : fs::directory_iterator(r.data / "imagesTr")) {
    ++n;
    const std::string name = e.path().filename().string();
    const std::string stem = name.substr(0, name.size() - 7);
    CAPTURE(name);
    const Volume in = read_nifti(e.path().string());
    const Volume mask = read_nifti((out / name).string());
    REQUIRE(mask.data.shape() == in.data.shape());
    check_same_geometry(mask, in);
    for (int a = 0; a < 3; ++a)
      CHECK(mask.spacing[size_t(a)] == doctest::Approx(in.spacing[size_t(a)]));
    for (double v : mask.data.to_vector()) CHECK((v == 0 || v == 1 || v == 2));

    // (X', Y', Z', K) on the file, (K, X', Y', Z') in memory: sigmoid maps on 16x16x8.
    const Volume prob = read_nifti((out / (stem + "_prob.nii.gz")).string());
    REQUIRE(prob.data.shape() == Shape({3, 16, 16, 8}));
    for (double v : prob.data.to_vector()) CHECK((v >= 0 && v <= 1));
    // The model grid spans the input's field of view: the same centre, the same extent.
    const std::array<double, 3> c_in = apply(in.affine, {9.5, 8.5, 4.5});
    const std::array<double, 3> c_prob = apply(prob.affine, {7.5, 7.5, 3.5});
    for (int a = 0; a < 3; ++a) {
      CHECK(c_prob[size_t(a)] == doctest::Approx(c_in[size_t(a)]).epsilon(1e-5));
      CHECK(prob.spacing[size_t(a)] * double(prob.data.size(a + 1)) ==
            doctest::Approx(in.spacing[size_t(a)] * double(in.data.size(a))).epsilon(1e-5));
    }
  }
  CHECK(n == 8);
}

TEST_CASE(
    "fdl train: test_metrics per-case Dice agrees with evaluate_case on the predicted files") {
  const ResizeRun& r = resize_run();
  for (const char* f : {"splits.json", "test_metrics.csv", "test_metrics.json", "test_montage.png"})
    CHECK_MESSAGE(fs::exists(r.run / f), f);
  CHECK(test::slurp(r.run / "test_montage.png").rfind("\x89PNG", 0) == 0);
  const std::string train_log = test::slurp(r.run.parent_path() / "log.txt");
  CHECK_MESSAGE(train_log.find("test set: 2 cases") != std::string::npos, train_log);
  CHECK_MESSAGE(train_log.find("dice") != std::string::npos, train_log);
  const train::RunConfig cfg = train::read_config((r.run / "config.json").string());
  REQUIRE(cfg.test_cases.size() == 2);

  // Predict the test cases' images with fdl predict, then recompute.
  const fs::path out = workdir("metrics_out");
  const fs::path log = out.parent_path() / "metrics_log.txt";
  std::string inputs;
  for (const std::string& id : cfg.test_cases) {
    inputs += ' ';
    inputs += (r.data / "imagesTr" / (id + ".nii.gz")).string();
  }
  REQUIRE_MESSAGE(run_fdl("predict " + r.run.string() + " -o " + out.string() + inputs, log) == 0,
                  test::slurp(log));
  const auto rows = read_csv(r.run / "test_metrics.csv");
  REQUIRE(rows.size() == 4);  // 2 cases x 2 foreground classes
  int checked = 0;
  for (const std::string& id : cfg.test_cases) {
    const Tensor pred = as_int(read_nifti((out / (id + ".nii.gz")).string()).data);
    const Volume label = read_nifti((r.data / "labelsTr" / (id + ".nii.gz")).string());
    const std::vector<ClassMetrics> m = evaluate_case(pred, as_int(label.data), label.spacing, 3);
    for (const auto& row : rows) {
      if (row.at("case") != id) continue;
      const int cls = std::stoi(row.at("class"));
      REQUIRE((cls == 1 || cls == 2));
      CAPTURE(id);
      CAPTURE(cls);
      CHECK(std::stod(row.at("dice")) == doctest::Approx(m[size_t(cls - 1)].dice).epsilon(1e-5));
      CHECK(std::stoll(row.at("pred_voxels")) == m[size_t(cls - 1)].pred_voxels);
      ++checked;
    }
  }
  CHECK(checked == 4);
}

TEST_CASE("fdl predict: crop-pad puts the model-grid mask back exactly") {
  // 20x14x10 onto 16x16x8: X cropped by 2 before, Y padded by 1 before, Z cropped by 1 before.
  const fs::path ds = phantoms("crop_data", {20, 14, 10});
  const fs::path run = workdir("crop") / "run", log = run.parent_path() / "log.txt";
  REQUIRE_MESSAGE(run_fdl(train_args(ds, run, "--fit crop-pad --norm zscore"), log) == 0,
                  test::slurp(log));
  CHECK(train::read_config((run / "config.json").string()).run.fit == "crop-pad");
  const fs::path out = run.parent_path() / "out";
  const fs::path img = ds / "imagesTr" / "case_000.nii.gz";
  REQUIRE_MESSAGE(run_fdl("predict " + run.string() + " -o " + out.string() + " " + img.string() +
                              " --probabilities",
                          log) == 0,
                  test::slurp(log));
  const Volume in = read_nifti(img.string());
  const Volume mask = read_nifti((out / "case_000.nii.gz").string());
  const Volume prob = read_nifti((out / "case_000_prob.nii.gz").string());
  REQUIRE(mask.data.shape() == Shape({20, 14, 10}));
  REQUIRE(prob.data.shape() == Shape({3, 16, 16, 8}));
  check_same_geometry(mask, in);
  const std::array<int64_t, 3> shift{2, -1, 1};
  // The header of the probabilities: model voxel v sits at input voxel v + shift.
  for (const std::array<double, 3> v : {std::array<double, 3>{0, 0, 0}, {15, 15, 7}, {3, 9, 2}}) {
    const auto a = apply(prob.affine, v);
    const auto b = apply(
        in.affine, {v[0] + double(shift[0]), v[1] + double(shift[1]), v[2] + double(shift[2])});
    for (int k = 0; k < 3; ++k) CHECK(a[size_t(k)] == doctest::Approx(b[size_t(k)]).epsilon(1e-5));
  }
  const float* p = prob.data.data<float>();
  const float* m = mask.data.data<float>();
  int64_t inside = 0, mismatches = 0, outside_fg = 0;
  for (int64_t x = 0; x < 20; ++x)
    for (int64_t y = 0; y < 14; ++y)
      for (int64_t z = 0; z < 10; ++z) {
        const float got = m[(x * 14 + y) * 10 + z];
        const int64_t i = x - shift[0], j = y - shift[1], k = z - shift[2];
        if (i < 0 || i >= 16 || j < 0 || j >= 16 || k < 0 || k >= 8) {
          outside_fg += got != 0;
          continue;
        }
        ++inside;
        int best = 0;
        for (int c = 1; c < 3; ++c)
          if (p[c * 2048 + (i * 16 + j) * 8 + k] > p[best * 2048 + (i * 16 + j) * 8 + k]) best = c;
        mismatches += got != float(best);
      }
  CHECK(inside == 16 * 14 * 8);
  CHECK(outside_fg == 0);
  CHECK(mismatches == 0);
}

TEST_CASE("fdl train --splits: another run reuses the same cases, unknown ids are refused") {
  const ResizeRun& r = resize_run();
  const train::SplitRecord a = train::read_splits((r.run / "splits.json").string());
  const train::RunConfig ca = train::read_config((r.run / "config.json").string());
  CHECK(a.seed == 3);
  CHECK(a.folds == 5);
  CHECK(a.test_fraction == 0.2);
  CHECK(a.test == ca.test_cases);
  CHECK(a.train == ca.train_cases);
  CHECK(a.val == ca.val_cases);

  const fs::path d = workdir("splits");
  const fs::path log = d / "log.txt";
  // Another seed would draw another split; --splits keeps the first run's.
  REQUIRE_MESSAGE(
      run_fdl(train_args(r.data, d / "b", "--splits " + (r.run / "splits.json").string(), 1, 99),
              log) == 0,
      test::slurp(log));
  const train::SplitRecord b = train::read_splits((d / "b" / "splits.json").string());
  CHECK(b.test == a.test);
  CHECK(b.train == a.train);
  CHECK(b.val == a.val);
  CHECK(b.seed == a.seed);
  const train::RunConfig cb = train::read_config((d / "b" / "config.json").string());
  CHECK(cb.run.seed == 99);
  CHECK(cb.test_cases == ca.test_cases);
  CHECK(cb.train_cases == ca.train_cases);
  CHECK(cb.val_cases == ca.val_cases);
  REQUIRE_MESSAGE(run_fdl(train_args(r.data, d / "c", "", 1, 99), log) == 0, test::slurp(log));
  CHECK(train::read_splits((d / "c" / "splits.json").string()).train != a.train);

  train::SplitRecord bad = a;
  bad.val.push_back("case_999");
  train::write_splits((d / "bad.json").string(), bad);
  CHECK(run_fdl(train_args(r.data, d / "run_bad", "--splits " + (d / "bad.json").string()), log) !=
        0);
  CHECK_MESSAGE(test::slurp(log).find("'case_999' is not in the dataset") != std::string::npos,
                test::slurp(log));
  CHECK_FALSE(fs::exists(d / "run_bad" / "config.json"));
  CHECK_FALSE(fs::exists(d / "run_bad" / "state.json"));
}

TEST_CASE("fdl predict: a two-channel run groups nnU-Net's <case>_0000/_0001 files per case") {
  // An nnU-Net v2 dataset of two channels: the sample's phantom and the phantom negated.
  const fs::path src = test::sample_dataset(workdir("nnunet_src")), d = workdir("nnunet");
  const fs::path ds = d / "data", ts = d / "imagesTs", log = d / "log.txt";
  fs::create_directories(ds / "imagesTr");
  fs::create_directories(ds / "labelsTr");
  fs::create_directories(ts);
  int cases = 0;
  for (const auto& e : fs::directory_iterator(src / "imagesTr")) {
    const std::string name = e.path().filename().string(), id = name.substr(0, name.size() - 7);
    Volume v = read_nifti(e.path().string());
    write_nifti((ds / "imagesTr" / (id + "_0000.nii.gz")).string(), v.data, v);
    write_nifti((ds / "imagesTr" / (id + "_0001.nii.gz")).string(), scale(v.data, -1.0), v);
    fs::copy_file(src / "labelsTr" / name, ds / "labelsTr" / name);
    ++cases;
  }
  std::ofstream(ds / "dataset.json")
      << R"({"channel_names": {"0": "QSM", "1": "negated"}, "labels": {"background": 0, "red_nucleus": 1,)"
      << R"( "dentate": 2}, "numTraining": )" << cases << R"(, "file_ending": ".nii.gz"})";
  const fs::path run = d / "run";
  REQUIRE_MESSAGE(run_fdl(train_args(ds, run, "", 1), log) == 0, test::slurp(log));
  for (const std::string f : {"case_000_0000", "case_000_0001", "case_001_0000", "case_001_0001"})
    fs::copy_file(ds / "imagesTr" / (f + ".nii.gz"), ts / (f + ".nii.gz"));
  // The same case as one 4-D file, channels last.
  const Volume stacked = read_case_image(
      Case{"case_000",
           "",
           "",
           {(ts / "case_000_0000.nii.gz").string(), (ts / "case_000_0001.nii.gz").string()}});
  write_nifti((d / "stacked.nii.gz").string(), stacked.data, stacked);

  REQUIRE_MESSAGE(
      run_fdl("predict " + run.string() + " -o " + (d / "out").string() + " " + ts.string(), log) ==
          0,
      test::slurp(log));
  std::vector<std::string> written;
  for (const auto& e : fs::directory_iterator(d / "out"))
    if (e.path().filename() != io::kMarkerFile && e.path().filename() != io::kLockFile)
      written.push_back(e.path().filename().string());
  std::sort(written.begin(), written.end());
  CHECK(written == std::vector<std::string>{"case_000.nii.gz", "case_001.nii.gz"});
  REQUIRE_MESSAGE(run_fdl("predict " + run.string() + " -o " + (d / "out4d").string() + " " +
                              (d / "stacked.nii.gz").string(),
                          log) == 0,
                  test::slurp(log));
  const Volume grouped = read_nifti((d / "out" / "case_000.nii.gz").string());
  CHECK(grouped.data.shape() == Shape{32, 32, 16});  // the input's grid
  CHECK(grouped.data.to_vector() ==
        read_nifti((d / "out4d" / "stacked.nii.gz").string()).data.to_vector());

  // A case without its second channel file: a clear error and nothing written.
  fs::remove(ts / "case_001_0001.nii.gz");
  CHECK(run_fdl("predict " + run.string() + " -o " + (d / "out2").string() + " " + ts.string(),
                log) != 0);
  CHECK_MESSAGE(test::slurp(log).find("case case_001: no channel file 1 (case_001_0001)") !=
                    std::string::npos,
                test::slurp(log));
  CHECK_FALSE(fs::exists(d / "out2" / "case_000.nii.gz"));
  fs::remove_all(d);
  fs::remove_all(src);
}

TEST_CASE("fdl predict: bad input gives a clear error, a non-zero exit and no output") {
  const ResizeRun& r = resize_run();
  const fs::path d = workdir("bad");
  const fs::path log = d / "log.txt", out = d / "out";
  const std::string good = (r.data / "imagesTr" / "case_000.nii.gz").string();
  auto no_output = [&] { return !fs::exists(out) || fs::is_empty(out); };

  SUBCASE("a missing run directory") {
    CHECK(run_fdl("predict " + (d / "norun").string() + " -o " + out.string() + " " + good, log) !=
          0);
    CHECK_MESSAGE(test::slurp(log).find("norun: no such run directory") != std::string::npos,
                  test::slurp(log));
  }
  SUBCASE("a run directory without weights") {
    fs::create_directories(d / "empty_run");
    CHECK(run_fdl("predict " + (d / "empty_run").string() + " -o " + out.string() + " " + good,
                  log) != 0);
    CHECK_MESSAGE(test::slurp(log).find("config.json: missing") != std::string::npos,
                  test::slurp(log));
  }
  SUBCASE("an input that is not named as NIfTI") {
    std::ofstream(d / "notes.txt") << "hello";
    CHECK(run_fdl("predict " + r.run.string() + " -o " + out.string() + " " + good + " " +
                      (d / "notes.txt").string(),
                  log) != 0);
    CHECK_MESSAGE(test::slurp(log).find("notes.txt: not a NIfTI file name") != std::string::npos,
                  test::slurp(log));
  }
  SUBCASE("an input named .nii.gz that is not NIfTI, after a good one") {
    std::ofstream(d / "fake.nii.gz", std::ios::binary) << "not a nifti file at all";
    CHECK(run_fdl("predict " + r.run.string() + " -o " + out.string() + " " + good + " " +
                      (d / "fake.nii.gz").string(),
                  log) != 0);
    CHECK_MESSAGE(test::slurp(log).find("fake.nii.gz") != std::string::npos, test::slurp(log));
  }
  SUBCASE("a missing input and an empty directory") {
    CHECK(run_fdl(
              "predict " + r.run.string() + " -o " + out.string() + " " + (d / "gone.nii").string(),
              log) != 0);
    CHECK_MESSAGE(test::slurp(log).find("gone.nii: no such file") != std::string::npos,
                  test::slurp(log));
    fs::create_directories(d / "nothing");
    CHECK(run_fdl(
              "predict " + r.run.string() + " -o " + out.string() + " " + (d / "nothing").string(),
              log) != 0);
    CHECK_MESSAGE(test::slurp(log).find("holds no .nii") != std::string::npos, test::slurp(log));
  }
  SUBCASE("an input with two channels for a one-channel run, and one with NaN voxels") {
    Volume v = read_nifti(good);
    const Shape s = v.data.shape();
    Tensor two = Tensor::zeros({2, s[0], s[1], s[2]});
    write_nifti((d / "two.nii.gz").string(), two, v);
    CHECK(run_fdl("predict " + r.run.string() + " -o " + out.string() + " " +
                      (d / "two.nii.gz").string(),
                  log) != 0);
    CHECK_MESSAGE(
        test::slurp(log).find("two.nii.gz: has 2 channel(s) but the run was trained on 1") !=
            std::string::npos,
        test::slurp(log));
    v.data.data<float>()[5] = std::nanf("");
    write_nifti((d / "nan.nii").string(), v.data, v);
    CHECK(run_fdl("predict " + r.run.string() + " -o " + out.string() + " " + good + " " +
                      (d / "nan.nii").string(),
                  log) != 0);
    CHECK_MESSAGE(test::slurp(log).find("nan.nii: 1 voxels are NaN or Inf") != std::string::npos,
                  test::slurp(log));
  }
  SUBCASE("two inputs with the same name") {
    fs::create_directories(d / "copy");
    fs::copy_file(good, d / "copy" / "case_000.nii.gz");
    CHECK(run_fdl("predict " + r.run.string() + " -o " + out.string() + " " + good + " " +
                      (d / "copy").string(),
                  log) != 0);
    CHECK_MESSAGE(test::slurp(log).find("would both be written") != std::string::npos,
                  test::slurp(log));
  }
  SUBCASE("--device cuda without a GPU, or in a build without CUDA") {
    if (!cuda_available()) {  // with a GPU the prediction is legitimate
      CHECK(run_fdl(
                "predict " + r.run.string() + " -o " + out.string() + " " + good + " --device cuda",
                log) != 0);
      const std::string text = test::slurp(log);
      CHECK_MESSAGE(text.find("--device cuda: ") != std::string::npos, text);
      CHECK_MESSAGE((text.find("no CUDA device") != std::string::npos ||
                     text.find("built without CUDA") != std::string::npos),
                    text);
    } else {
      CHECK(run_fdl("predict " + r.run.string() + " -o " + out.string() + " " +
                        (d / "absent.nii").string() + " --device cuda",
                    log) != 0);
    }
  }
  CHECK(test::slurp(log).find("fdl: error:") != std::string::npos);
  CHECK(no_output());
}
