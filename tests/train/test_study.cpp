// `fdl study` end to end on a tiny phantom set: it trains every run, writes the report, skips
// finished runs and resumes unfinished ones on a rerun, the report's numbers follow from the
// runs' test_metrics.json, --print-commands prints runnable `fdl train` commands, and a dataset
// file outside the dataset is refused unless --allow-outside-paths, which every run then gets.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/data/phantoms.h"
#include "engine/metrics/paired.h"
#include "engine/metrics/summary.h"
#include "tests/support.h"

using namespace fdl;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

double num(const json& v) { return v.is_number() ? v.get<double>() : NAN; }

void check_same(double got, double want, const std::string& what) {
  INFO(what);
  if (std::isnan(want))
    CHECK(std::isnan(got));
  else
    CHECK(got == doctest::Approx(want).epsilon(1e-9));
}

// case id -> value of `metric` for class index c of a run's test_metrics.json.
std::map<std::string, double> values(const fs::path& run, size_t c, const std::string& metric) {
  const json j = json::parse(test::slurp(run / "test_metrics.json"));
  std::map<std::string, double> v;
  for (const auto& row : j.at("classes").at(c).at("cases"))
    v[row.at("case").get<std::string>()] = num(row.at(metric));
  return v;
}

// 8 phantom cases of 16x16x8.
void tiny_phantoms(const fs::path& dir) {
  PhantomOptions po;
  po.cases = 8;
  po.shape = {16, 16, 8};
  write_phantoms(dir.string(), po);
}

}  // namespace

TEST_CASE(
    "study: a tiny phantom study runs, reruns, resumes and reports numbers that follow from its "
    "runs") {
  const fs::path root = test::scratch_dir("study", "tiny");
  const fs::path ds = root / "phantoms", st = root / "study";
  tiny_phantoms(ds);
  const std::string args =
      "study '" + ds.string() + "' -o '" + st.string() +
      "' --models unet3d,fd-early --train-percent 50,100 --epochs 1 --shape 16 16 8 --jobs 2";
  REQUIRE_MESSAGE(test::run_fdl(args, root / "first.log") == 0, test::slurp(root / "first.log"));
  for (const char* f :
       {"report.md", "report.csv", "report.json", "dice_vs_train_size.png", "examples.png"})
    CHECK(fs::exists(st / f));
  const std::vector<std::string> runs{"unet3d/p50/fold1", "unet3d/p100/fold1", "fd-early/p50/fold1",
                                      "fd-early/p100/fold1"};
  for (const auto& r : runs) REQUIRE(fs::exists(st / r / "test_metrics.json"));
  // All models of a cell train on the same split.
  CHECK(test::slurp(st / "unet3d/p50/fold1/splits.json") ==
        test::slurp(st / "fd-early/p50/fold1/splits.json"));

  // The report's numbers, recomputed from the runs' files.
  const json rep = json::parse(test::slurp(st / "report.json"));
  CHECK(rep.at("baseline") == "unet3d");
  const auto& rows = rep.at("rows");
  CHECK(rows.size() == 2 * 2 * 2 * 2);  // 2 classes x (dice, hd95) x 2 percents x 2 models
  int diffs = 0;
  for (const auto& row : rows) {
    const std::string model = row.at("model"), metric = row.at("metric");
    const std::string pct =
        std::string("p").append(std::to_string(int(row.at("percent").get<double>())));
    const size_t c = size_t(row.at("class").get<int>() - 1);
    const auto mine = values(st / model / pct / "fold1", c, metric);
    std::vector<double> v;
    for (const auto& [k, x] : mine) v.push_back(x);
    const Stat s = summarise(v);
    const json& sum = row.at("summary");
    CHECK(sum.at("n").get<int>() == s.n);
    check_same(num(sum.at("mean")), s.mean, model + " " + pct + " " + metric + " mean");
    check_same(num(sum.at("ci_low")), s.ci_low, "ci_low");
    check_same(num(sum.at("ci_high")), s.ci_high, "ci_high");
    const json cfg = json::parse(test::slurp(st / model / pct / "fold1/config.json"));
    CHECK(row.at("train_cases").get<double>() == double(cfg.at("split").at("train").size()));
    if (model == "unet3d") {
      CHECK_FALSE(row.contains("difference"));
      continue;
    }
    const auto base = values(st / "unet3d" / pct / "fold1", c, metric);
    std::vector<double> x, y;
    for (const auto& [k, xv] : mine) {
      REQUIRE(base.count(k));  // the same test cases
      x.push_back(xv);
      y.push_back(base.at(k));
    }
    const BootstrapCI b = bootstrap_mean_diff(x, y, 10000, 1);
    const WilcoxonResult w = wilcoxon_signed_rank(x, y);
    const json& d = row.at("difference");
    CHECK(d.at("n_pairs").get<int>() == b.n);
    check_same(num(d.at("mean")), b.mean_diff, "diff mean");
    check_same(num(d.at("ci_low")), b.ci_low, "diff ci_low");
    check_same(num(d.at("ci_high")), b.ci_high, "diff ci_high");
    check_same(num(d.at("wilcoxon_p")), w.p, "wilcoxon p");
    ++diffs;
  }
  CHECK(diffs == 8);
  const std::string md = test::slurp(st / "report.md");
  CHECK(md.find("fd-early - unet3d") != std::string::npos);
  CHECK(md.find("HD95") != std::string::npos);

  // A rerun skips every finished run; a run without test_metrics.json is resumed.
  const auto stamp = fs::last_write_time(st / runs[0] / "test_metrics.json");
  fs::remove(st / runs[3] / "test_metrics.json");
  REQUIRE_MESSAGE(test::run_fdl(args, root / "second.log") == 0, test::slurp(root / "second.log"));
  const std::string second = test::slurp(root / "second.log");
  size_t skipped = 0;
  for (size_t at = 0; (at = second.find("skipped", at)) != std::string::npos; ++at) ++skipped;
  CHECK(skipped == 3);
  CHECK(second.find("fd-early p100 fold1 resumed") != std::string::npos);
  CHECK(fs::last_write_time(st / runs[0] / "test_metrics.json") == stamp);
  CHECK(fs::exists(st / runs[3] / "test_metrics.json"));

  // --print-commands: one `fdl train` line per run, and a printed line runs as it is.
  const fs::path st2 = root / "printed";
  REQUIRE(test::run_fdl("study '" + ds.string() + "' -o '" + st2.string() +
                            "' --models unet3d,fd-early --train-percent 50,100 --epochs 1 --shape "
                            "16 16 8 --print-commands",
                        root / "print.log") == 0);
  std::istringstream lines(test::slurp(root / "print.log"));
  std::vector<std::string> cmds;
  for (std::string l; std::getline(lines, l);) cmds.push_back(l);
  REQUIRE(cmds.size() == 4);
  for (const auto& l : cmds) {
    CHECK(l.find(" train ") != std::string::npos);
    CHECK(l.find(" --splits ") != std::string::npos);
  }
  CHECK(cmds[0].find("--model unet3d") != std::string::npos);
  CHECK(fs::exists(st2 / "splits/p50_fold1.json"));
  CHECK_FALSE(fs::exists(st2 / "unet3d"));  // nothing trained
  const std::string run =
      "OMP_WAIT_POLICY=passive " + cmds[0] + " > '" + (root / "printed.log").string() + "' 2>&1";
  CHECK(std::system(run.c_str()) == 0);
  CHECK(fs::exists(st2 / "unet3d/p50/fold1/test_metrics.json"));

  // The k-space ablation: each FD model also runs with the unshifted centre, in its own arm.
  REQUIRE(test::run_fdl("study '" + ds.string() + "' -o '" + st2.string() +
                            "' --models unet3d,fd-early --train-percent 100 --kspace-centre both "
                            "--print-commands",
                        root / "both.log") == 0);
  std::istringstream both(test::slurp(root / "both.log"));
  std::vector<std::string> arms;
  for (std::string l; std::getline(both, l);) arms.push_back(l);
  REQUIRE(arms.size() == 3);
  CHECK(arms[0].find("--model unet3d") != std::string::npos);
  CHECK(arms[1].find("--model fd-early") != std::string::npos);
  CHECK(arms[1].find("--kspace-centre shifted") != std::string::npos);
  CHECK(arms[2].find("--model fd-early") != std::string::npos);
  CHECK(arms[2].find("--kspace-centre unshifted") != std::string::npos);
  CHECK(arms[2].find("/fd-early-unshifted/p100/fold1") != std::string::npos);
  for (const auto& l : arms) CHECK(l.find("--device cpu") != std::string::npos);

  // On the GPU every run gets the study's convolution kernels and reduction mode.
  REQUIRE(test::run_fdl("study '" + ds.string() + "' -o '" + st2.string() +
                            "' --models unet3d --train-percent 100 --device cuda --conv tf32 "
                            "--fast-nondeterministic --print-commands",
                        root / "gpu.log") == 0);
  const std::string gpu = test::slurp(root / "gpu.log");
  CHECK_MESSAGE(gpu.find("--device cuda") != std::string::npos, gpu);
  CHECK_MESSAGE(gpu.find("--conv tf32 --fast-nondeterministic") != std::string::npos, gpu);
  CHECK(test::run_fdl("study '" + ds.string() + "' -o '" + st2.string() +
                          "' --device cuda --conv fast --print-commands",
                      root / "badconv.log") != 0);
  fs::remove_all(root);
}

TEST_CASE(
    "study: with several folds each test case counts once, its value the mean over the folds") {
  const fs::path root = test::scratch_dir("study", "folds");
  const fs::path ds = root / "phantoms", st = root / "study";
  tiny_phantoms(ds);
  REQUIRE(
      test::run_fdl(
          "study '" + ds.string() + "' -o '" + st.string() +
              "' --models unet3d,fd-late --train-percent 100 --fold 1,2 --epochs 1 --shape 16 16 8"
              " --norm percentile --percentiles 1 99 --folds 4",
          root / "run.log") == 0);
  // Every train setting the study is given reaches every run.
  for (const char* run :
       {"unet3d/p100/fold1", "unet3d/p100/fold2", "fd-late/p100/fold1", "fd-late/p100/fold2"}) {
    CAPTURE(run);
    const json cfg = json::parse(test::slurp(st / run / "config.json"));
    CHECK(cfg.at("norm") == "percentile");
    CHECK(cfg.at("percentiles") == json({1.0, 99.0}));
    CHECK(cfg.at("folds") == 4);
  }
  const json rep = json::parse(test::slurp(st / "report.json"));
  int checked = 0;
  for (const auto& row : rep.at("rows")) {
    if (row.at("metric") != "dice") continue;
    const std::string model = row.at("model");
    const size_t c = size_t(row.at("class").get<int>() - 1);
    auto fold_mean = [&](const std::string& m) {
      const auto a = values(st / m / "p100/fold1", c, "dice"),
                 b = values(st / m / "p100/fold2", c, "dice");
      REQUIRE(a.size() == b.size());  // the same test cases in every fold
      std::map<std::string, double> mean;
      for (const auto& [k, x] : a) {
        REQUIRE(b.count(k));
        mean[k] = (x + b.at(k)) / 2;  // Dice is always finite here (an empty pair scores 1)
      }
      return mean;
    };
    const auto mine = fold_mean(model);
    std::vector<double> v;
    for (const auto& [k, x] : mine) v.push_back(x);
    const Stat s = summarise(v);
    CHECK(row.at("summary").at("n").get<int>() == int(mine.size()));
    check_same(num(row.at("summary").at("mean")), s.mean, model + " mean over folds");
    check_same(num(row.at("summary").at("ci_high")), s.ci_high, model + " ci_high");
    if (model != "unet3d") {
      const auto base = fold_mean("unet3d");
      std::vector<double> x, y;
      for (const auto& [k, xv] : mine) x.push_back(xv), y.push_back(base.at(k));
      check_same(num(row.at("difference").at("wilcoxon_p")), wilcoxon_signed_rank(x, y).p,
                 "p over folds");
      check_same(num(row.at("difference").at("mean")), bootstrap_mean_diff(x, y).mean_diff,
                 "diff over folds");
    }
    ++checked;
  }
  CHECK(checked == 4);
  fs::remove_all(root);
}

TEST_CASE("study: --vary crosses a train setting with the models, each arm's runs get its value") {
  const fs::path root = test::scratch_dir("study", "vary");
  const fs::path ds = root / "phantoms", st = root / "study";
  tiny_phantoms(ds);
  REQUIRE(test::run_fdl(
              "study '" + ds.string() + "' -o '" + st.string() +
                  "' --models unet3d,fd-early --train-percent 100 --epochs 1 --shape 16 16 8"
                  " --vary norm=zscore,percentile --vary 'percentiles=1 99,2 98' --print-commands",
              root / "print.log") == 0);
  std::istringstream lines(test::slurp(root / "print.log"));
  std::vector<std::string> cmds;
  for (std::string l; std::getline(lines, l);) cmds.push_back(l);
  REQUIRE(cmds.size() == 8);  // 2 models x 2 norms x 2 clips, the first factor slowest
  CHECK(cmds[0].find("/unet3d+norm=zscore+percentiles=1x99/p100/fold1") != std::string::npos);
  CHECK(cmds[1].find("/unet3d+norm=zscore+percentiles=2x98/p100/fold1") != std::string::npos);
  CHECK(cmds[2].find("--norm percentile --percentiles 1 99") != std::string::npos);
  CHECK(cmds[7].find("--model fd-early") != std::string::npos);
  CHECK(cmds[7].find("--norm percentile --percentiles 2 98") != std::string::npos);

  // The recipes as a factor: each arm's runs get theirs.
  REQUIRE(test::run_fdl(
              "study '" + ds.string() + "' -o '" + st.string() +
                  "' --models unet3d --train-percent 100 --vary recipe=paper,fdl --print-commands",
              root / "recipes.log") == 0);
  std::istringstream recipes(test::slurp(root / "recipes.log"));
  std::vector<std::string> both;
  for (std::string l; std::getline(recipes, l);) both.push_back(l);
  REQUIRE(both.size() == 2);
  CHECK(both[0].find("--recipe paper") != std::string::npos);
  CHECK(both[0].find("/unet3d+recipe=paper/p100/fold1") != std::string::npos);
  CHECK(both[1].find("--recipe fdl") != std::string::npos);
  CHECK(both[1].find("/unet3d+recipe=fdl/p100/fold1") != std::string::npos);

  // A factor the study cannot vary, or a value its setting refuses: an error, nothing written.
  for (const std::string bad :
       {"model=unet3d", "fold=1,2", "folds=3,4", "norm=zscore,foo", "norm=zscore,zscore", "lr=1e30",
        "nothing=1", "norm", "norm=zscore,"}) {
    CAPTURE(bad);
    const fs::path out = root / "refused";
    CHECK(
        test::run_fdl("study '" + ds.string() + "' -o '" + out.string() + "' --vary '" + bad + "'",
                      root / "refused.log") != 0);
    const std::string log = test::slurp(root / "refused.log");
    CHECK_MESSAGE(log.find("--vary") != std::string::npos, log);
    CHECK(!fs::exists(out));
  }

  // Trained and reported: each run records its arm's value; the first arm of unet3d is the
  // baseline.
  REQUIRE(test::run_fdl("study '" + ds.string() + "' -o '" + st.string() +
                            "' --models unet3d --train-percent 100 --epochs 1 --shape 16 16 8 "
                            "--vary norm=zscore,minmax",
                        root / "run.log") == 0);
  for (const char* norm : {"zscore", "minmax"}) {
    const json cfg = json::parse(
        test::slurp(st / ("unet3d+norm=" + std::string(norm)) / "p100/fold1/config.json"));
    CHECK(cfg.at("norm") == norm);
  }
  const json rep = json::parse(test::slurp(st / "report.json"));
  CHECK(rep.at("baseline") == "unet3d+norm=zscore");
  REQUIRE(rep.at("arms").size() == 2);
  CHECK(rep.at("arms")[1].at("settings") == json({{"norm", "minmax"}}));
  int diffs = 0;
  for (const auto& row : rep.at("rows"))
    if (row.at("model") == "unet3d+norm=minmax") {
      CHECK(row.at("difference").at("baseline") == "unet3d+norm=zscore");
      ++diffs;
    }
  CHECK(diffs == 4);  // 2 classes x {dice, hd95}
  // report.csv holds the same rows: model, mean and difference, line by line.
  std::istringstream csv(test::slurp(st / "report.csv"));
  std::string line;
  std::getline(csv, line);  // the header
  for (const auto& row : rep.at("rows")) {
    REQUIRE(std::getline(csv, line));
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string x; std::getline(fields, x, ',');) f.push_back(x);
    REQUIRE(f.size() == 18);
    CHECK(f[5] == row.at("model").get<std::string>());
    auto same = [](const std::string& text, const json& v) {
      return v.is_null() ? text == "nan"
                         : std::stod(text) == doctest::Approx(v.get<double>()).epsilon(1e-5);
    };
    CHECK(same(f[7], row.at("summary").at("mean")));
    CHECK(same(f[13], row.contains("difference") ? row.at("difference").at("mean") : json()));
  }
  CHECK_FALSE(std::getline(csv, line));
  CHECK(test::slurp(st / "report.md").find("varied: norm over [\"zscore\",\"minmax\"]") !=
        std::string::npos);
  fs::remove_all(root);
}

TEST_CASE(
    "study: a dataset with a file outside it is refused, and --allow-outside-paths reaches every "
    "run") {
  const fs::path root = test::scratch_dir("study", "outside");
  const fs::path ds = root / "phantoms", elsewhere = root / "elsewhere", st = root / "study";
  tiny_phantoms(ds);
  tiny_phantoms(elsewhere);
  const fs::path img = ds / "imagesTr" / "case_002.nii.gz";
  fs::remove(img);
  fs::create_symlink(elsewhere / "imagesTr" / "case_002.nii.gz", img);
  const std::string args = "study '" + ds.string() + "' -o '" + st.string() +
                           "' --models unet3d --train-percent 100 "
                           "--epochs 1 --shape 16 16 8 --print-commands";
  CHECK(test::run_fdl(args, root / "refused.log") == 1);
  const std::string refused = test::slurp(root / "refused.log");
  CHECK_MESSAGE(refused.find(img.string() + " resolves to " +
                             (elsewhere / "imagesTr" / "case_002.nii.gz").string() +
                             ", outside the dataset directory " + ds.string()) != std::string::npos,
                refused);
  CHECK_FALSE(fs::exists(st));
  REQUIRE_MESSAGE(test::run_fdl(args + " --allow-outside-paths", root / "allowed.log") == 0,
                  test::slurp(root / "allowed.log"));
  const std::string commands = test::slurp(root / "allowed.log");
  CHECK_MESSAGE(commands.find("train ") != std::string::npos, commands);
  CHECK_MESSAGE(commands.find("--allow-outside-paths") != std::string::npos, commands);
  fs::remove_all(root);
}
