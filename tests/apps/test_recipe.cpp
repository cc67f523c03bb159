// The fdl recipe end to end: a 256x256x160 volume trains on patches and predicts by the
// sliding window in a test that is short because it runs few steps; an FD model's run
// resumes bit-identical and predicts on the inputs' own grids and headers.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/data/phantoms.h"
#include "engine/io/nifti.h"
#include "engine/io/safetensors.h"
#include "tests/support.h"
#include "train/progress.h"

using namespace fdl;
namespace fs = std::filesystem;

namespace {

// Two cases of 256x256x160 voxels of 0.8 x 0.8 x 1.2 mm (plain layout): a bright ball of
// class 1 in noise, at a different place in each.
void big_cases(const fs::path& dir) {
  Volume h;
  h.spacing = {0.8, 0.8, 1.2};
  h.sform = {{{0.8, 0, 0, -100}, {0, 0.8, 0, -100}, {0, 0, 1.2, -90}, {0, 0, 0, 1}}};
  h.qform = h.sform;
  h.sform_code = h.qform_code = 1;
  for (int c = 0; c < 2; ++c) {
    Tensor image = test::randn({256, 256, 160}, uint64_t(40 + c), DType::F32);
    Tensor label = Tensor::zeros({256, 256, 160});
    float* im = image.data<float>();
    float* lb = label.data<float>();
    const double ci = 100 + 40 * c, cj = 128, ck = 70 + 20 * c;
    for (int64_t i = 0; i < 256; ++i)
      for (int64_t j = 0; j < 256; ++j)
        for (int64_t k = 0; k < 160; ++k) {
          const double d2 = (i - ci) * (i - ci) + (j - cj) * (j - cj) + (k - ck) * (k - ck);
          const int64_t at = (i * 256 + j) * 160 + k;
          if (d2 <= 30 * 30) lb[at] = 1, im[at] += 4;
        }
    const std::string name = "case" + std::to_string(c) + ".nii";
    write_nifti((dir / "imagesTr" / name).string(), image, h);
    write_nifti((dir / "labelsTr" / name).string(), label, h, NiftiOutType::UInt8);
  }
}

std::map<std::string, std::string> tensor_bytes(const fs::path& p) {
  std::map<std::string, std::string> out;
  for (const auto& [name, t] : io::load_safetensors(p.string()).tensors)
    out[name] = std::string(static_cast<const char*>(t.raw()), t.nbytes());
  return out;
}

}  // namespace

TEST_CASE("fdl recipe: a 256x256x160 volume trains on patches and predicts by the sliding window") {
  const fs::path d = test::scratch_dir("recipe", "big", {"data/imagesTr", "data/labelsTr"});
  big_cases(d / "data");
  const fs::path run = d / "run", log = d / "train.log";
  REQUIRE_MESSAGE(
      test::run_fdl("train " + (d / "data").string() + " -o " + run.string() +
                        " --model unet3d --recipe fdl --patch 64 64 32 --overlap 0 --base-filters 2"
                        " --batch 1 --epochs 2 --folds 2 --test-fraction 0 --threads 2",
                    log) == 0,
      test::slurp(log));
  const std::string out = test::slurp(log);
  // The plan before the first step: the cases' own spacing, the patch, a measured memory and time.
  const size_t plan =
      out.find("plan (fdl recipe): spacing 0.8 0.8 1.2 (median grid 256x256x160), patch 64x64x32");
  CHECK_MESSAGE(plan != std::string::npos, out);
  CHECK(plan < out.find("epoch 1/2"));
  CHECK(out.find("data wait") != std::string::npos);
  CHECK(test::slurp(run / "train.csv").find(",seconds,data_wait\n") != std::string::npos);

  const fs::path pred = d / "pred";
  REQUIRE_MESSAGE(
      test::run_fdl("predict " + run.string() + " -o " + pred.string() + " " +
                        (d / "data" / "imagesTr" / "case1.nii").string() + " --threads 2",
                    d / "predict.log") == 0,
      test::slurp(d / "predict.log"));
  const Volume in = read_nifti((d / "data" / "imagesTr" / "case1.nii").string());
  const Volume mask = read_nifti((pred / "case1.nii.gz").string());
  CHECK(mask.data.shape() == Shape{256, 256, 160});
  CHECK(mask.sform == in.sform);
  CHECK(mask.spacing == in.spacing);
  const float* m = mask.data.data<float>();
  CHECK(std::all_of(m, m + mask.data.numel(), [](float v) { return v == 0 || v == 1; }));
}

TEST_CASE(
    "fdl recipe: an FD model resumes bit-identical and predicts on each input's grid, with "
    "mirroring") {
  const fs::path d = test::scratch_dir("recipe", "fd");
  PhantomOptions po;
  po.cases = 6;
  po.shape = {24, 24, 16};
  po.seed = 3;
  write_phantoms((d / "data").string(), po);
  const std::string args =
      (d / "data").string() +
      " --model fd-early --recipe fdl --beta 0.25 0.25 0.5 --patch 16 16 8 --batch 2 --lr 0.01"
      " --aug-elastic 0.5 0 4 --tta-mirror on --lr-schedule constant --threads 2 --epochs ";
  const fs::path log = d / "log";
  REQUIRE_MESSAGE(test::run_fdl("train " + args + "4 -o " + (d / "straight").string(), log) == 0,
                  test::slurp(log));
  REQUIRE_MESSAGE(test::run_fdl("train " + args + "2 -o " + (d / "resumed").string(), log) == 0,
                  test::slurp(log));
  REQUIRE_MESSAGE(
      test::run_fdl("train " + args + "4 --resume -o " + (d / "resumed").string(), log) == 0,
      test::slurp(log));
  for (const char* f : {"last.safetensors", "model.safetensors", "optimizer.safetensors"})
    CHECK_MESSAGE(tensor_bytes(d / "resumed" / f) == tensor_bytes(d / "straight" / f), f);
  // The patch, given, and the spacing, resolved to the phantoms' median, are in config.json.
  const nlohmann::json config = nlohmann::json::parse(test::slurp(d / "straight" / "config.json"));
  CHECK(config.at("recipe") == "fdl");
  CHECK(config.at("patch") == nlohmann::json({16, 16, 8}));
  const double spacing = config.at("spacing")[0].get<double>();  // the files' float32 voxel size
  CHECK(config.at("spacing") == nlohmann::json({spacing, spacing, 3.0}));
  CHECK(spacing == double(float(64.0 / 24)));

  // Inputs of another grid and header come back on theirs.
  const fs::path in = d / "inputs";
  fs::create_directories(in);
  Volume h;
  h.spacing = {2, 3, 2};
  h.sform = {{{0, -2, 0, 10}, {3, 0, 0, -20}, {0, 0, 2, 5}, {0, 0, 0, 1}}};
  h.qform = h.sform;
  h.sform_code = h.qform_code = 2;
  write_nifti((in / "odd.nii.gz").string(), test::randn({30, 21, 26}, 5, DType::F32), h);
  REQUIRE_MESSAGE(
      test::run_fdl("predict " + (d / "straight").string() + " -o " + (d / "pred").string() + " " +
                        (in / "odd.nii.gz").string() + " --probabilities",
                    log) == 0,
      test::slurp(log));
  const Volume mask = read_nifti((d / "pred" / "odd.nii.gz").string());
  CHECK(mask.data.shape() == Shape{30, 21, 26});
  CHECK(mask.sform == h.sform);
  // The probabilities are on the model grid: the input resampled to the run's spacing.
  const Volume prob = read_nifti((d / "pred" / "odd_prob.nii.gz").string());
  CHECK(prob.data.size(0) == 3);
  const int64_t x = std::llround(30 * 2 / spacing);  // 22.49...: 30 voxels of 2 mm at 2.67 mm
  CHECK(prob.data.size(1) == x);
  CHECK(prob.spacing[0] == doctest::Approx(60.0 / double(x)));
  // The run trained with dice-ce (the fdl recipe's): softmax probabilities, summing to 1.
  const int64_t v = prob.data.numel() / 3;
  const float* pr = prob.data.data<float>();
  for (int64_t i = 0; i < v; i += 97)
    CHECK(pr[i] + pr[v + i] + pr[2 * v + i] == doctest::Approx(1).epsilon(1e-5));
}

TEST_CASE(
    "fdl recipe: --patience stops a run whose smoothed Dice makes no new best, and a resume stays "
    "stopped") {
  const fs::path d = test::scratch_dir("recipe", "patience");
  PhantomOptions po;
  po.cases = 6;
  po.shape = {16, 16, 8};
  write_phantoms((d / "data").string(), po);
  // A learning rate of 1e-12 leaves the predictions, so the Dice, as they were after epoch 1.
  const std::string args =
      "train " + (d / "data").string() + " -o " + (d / "run").string() +
      " --model unet3d --recipe fdl --patch 8 8 8 --lr 1e-12 --best-ema 0 --patience 2"
      " --epochs 10 --threads 2";
  const fs::path log = d / "log";
  REQUIRE_MESSAGE(test::run_fdl(args, log) == 0, test::slurp(log));
  CHECK_MESSAGE(test::slurp(log).find("stopping early: no new best in the last 2 epochs") !=
                    std::string::npos,
                test::slurp(log));
  CHECK(train::read_train_csv((d / "run" / "train.csv").string(), 2).size() == 3);
  REQUIRE_MESSAGE(test::run_fdl(args + " --resume", log) == 0, test::slurp(log));
  CHECK(train::read_train_csv((d / "run" / "train.csv").string(), 2).size() == 3);
  CHECK(fs::exists(d / "run" / "test_metrics.json"));
}
