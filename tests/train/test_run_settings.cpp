// The settings table (train/run_settings.h): every entry, set to a value other than its
// default, survives the command line, config.json, the resume check and the study's child
// command line; and a setting without a test value here fails the test, so a new entry
// cannot skip the round trip.
#include <doctest/doctest.h>

#include <CLI/CLI.hpp>

#include <map>
#include <string>
#include <vector>

#include "kernels/common/error.h"
#include "train/run_settings.h"

using namespace fdl;
using namespace fdl::train;

namespace {

// A valid value other than the default for every setting, as command-line words.
const std::map<std::string, std::vector<std::string>> kOther{
    {"model", {"fd-late"}},
    {"base_filters", {"4"}},
    {"shape", {"32", "16", "8"}},
    {"fit", {"crop-pad"}},
    {"norm", {"percentile"}},
    {"percentiles", {"1", "99"}},
    {"epochs", {"7"}},
    {"batch", {"3"}},
    {"lr", {"0.00025"}},
    {"seed", {"18446744073709551615"}},
    {"beta", {"0.25", "0.5", "0.75"}},
    {"kspace_centre", {"unshifted"}},
    {"fold", {"3"}},
    {"train_percent", {"12.5"}},
    {"folds", {"4"}},
    {"test_fraction", {"0.3"}},
    {"conv", {"tf32"}},
    {"fast_nondeterministic", {}},
    {"recipe", {"fdl"}},
    {"patch", {"32", "64", "16"}},
    {"spacing", {"0.5", "0.75", "2.5"}},
    {"foreground_fraction", {"0.5"}},
    {"augment", {"off"}},
    {"aug_rotation", {"0.5", "-15", "10"}},
    {"aug_scaling", {"0.25", "0.8", "1.2"}},
    {"aug_elastic", {"0.1", "1", "4"}},
    {"aug_mirror", {"0.25"}},
    {"aug_noise", {"0.2", "0", "0.05"}},
    {"aug_blur", {"0.1", "0.5", "1.5"}},
    {"aug_brightness", {"0.3", "0.8", "1.2"}},
    {"aug_contrast", {"0.3", "0.7", "1.3"}},
    {"aug_low_res", {"0.5", "0.25", "1"}},
    {"aug_gamma_inverted", {"0", "0.7", "1.5"}},
    {"aug_gamma", {"0.5", "0.8", "1.25"}},
    {"val_every", {"5"}},
    {"loss", {"dice-ce"}},
    {"optimizer", {"sgd"}},
    {"lr_schedule", {"poly"}},
    {"overlap", {"0.25"}},
    {"tta_mirror", {"on"}},
    {"best_ema", {"0.5"}},
    {"patience", {"20"}},
};

// Parses `args` (flags and words) into settings bound to a fresh command.
RunSettings parse(const std::vector<std::string>& args) {
  CLI::App app;
  RunSettings s;
  bind_settings(app, s);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 parses a reversed vector
  app.parse(reversed);
  return s;
}

std::vector<std::string> other_args() {
  std::vector<std::string> args;
  for (const Setting& e : run_settings()) {
    args.push_back(e.flag);
    for (const std::string& w : kOther.at(e.key)) args.push_back(w);
  }
  return args;
}

void check_same(const RunSettings& a, const RunSettings& b, const char* what) {
  INFO(what);
  for (const Setting& e : run_settings())
    CHECK_MESSAGE(setting_text(a, e) == setting_text(b, e), e.key);
}

}  // namespace

TEST_CASE("run settings: every setting has a non-default test value that the command line sets") {
  const RunSettings defaults;
  for (const Setting& e : run_settings()) {
    CAPTURE(e.key);
    REQUIRE_MESSAGE(kOther.count(e.key), "add a non-default value for the new setting to kOther");
  }
  CHECK(kOther.size() == run_settings().size());
  const RunSettings s = parse(other_args());
  CHECK_NOTHROW(validate(s));
  for (const Setting& e : run_settings()) {
    CAPTURE(e.key);
    CHECK(setting_text(s, e) != setting_text(defaults, e));
    const std::vector<std::string>& words = kOther.at(e.key);
    if (!words.empty()) {
      std::string joined;
      for (const std::string& w : words) joined += (joined.empty() ? "" : " ") + w;
      CHECK(setting_text(s, e) == joined);
    }
  }
}

TEST_CASE("run settings: config.json, the resume check and the study's child keep every value") {
  const RunSettings s = parse(other_args());
  nlohmann::json j;
  settings_to_json(s, j);
  check_same(settings_from_json(j, "config.json"), s, "config.json");
  check_same(parse(settings_args(s)), s, "the study's child command line");
  CHECK(settings_difference(s, s).empty());
  // Each setting changed back to its default is named by the resume check, except --epochs.
  const RunSettings defaults;
  for (const Setting& e : run_settings()) {
    CAPTURE(e.key);
    RunSettings t = s;
    std::visit([&](auto member) { t.*member = defaults.*member; }, e.field);
    const std::string diff = settings_difference(s, t);
    if (e.resume_may_change)
      CHECK(diff.empty());
    else
      CHECK_MESSAGE(diff.find(std::string(e.flag) + " differs") == 0, diff);
  }
}

TEST_CASE("run settings: bad values name the flag and the problem") {
  CHECK_THROWS_WITH_AS(parse({"--lr", "fast"}),
                       doctest::Contains("--lr: 'fast' is not a finite number"), Error);
  CHECK_THROWS_WITH_AS(parse({"--seed", "-1"}),
                       doctest::Contains("--seed: '-1' is not a non-negative whole number"), Error);
  CHECK_THROWS_WITH_AS(parse({"--epochs", "2.5"}), doctest::Contains("is not a whole number"),
                       Error);
  CHECK_THROWS_WITH_AS(parse({"--fit", "stretch"}),
                       doctest::Contains("--fit: 'stretch' is not one of resize, crop-pad"), Error);
  RunSettings s;
  s.beta = {0.1, 1e-9, 1.5};
  CHECK_THROWS_WITH_AS(validate(s), doctest::Contains("--beta"), Error);
  s = RunSettings();
  s.shape = {16, 18, 8};
  CHECK_THROWS_WITH_AS(validate(s), doctest::Contains("multiple of 4"), Error);
  s = RunSettings();
  s.fold = 6;
  CHECK_THROWS_WITH_AS(validate(s), doctest::Contains("--fold 6"), Error);
  s = RunSettings();
  s.percentiles = {60, 40};
  CHECK_THROWS_WITH_AS(validate(s), doctest::Contains("LOW must be below HIGH"), Error);
  nlohmann::json j;
  settings_to_json(RunSettings(), j);
  j["epochs"] = 4294967298.0;
  CHECK_THROWS_WITH_AS(settings_from_json(j, "run/config.json"),
                       doctest::Contains("run/config.json: --epochs"), Error);
  j.erase("epochs");
  CHECK_THROWS_WITH_AS(settings_from_json(j, "run/config.json"),
                       doctest::Contains("missing 'epochs'"), Error);
  s = RunSettings();
  s.patch = {32, 0, 32};
  CHECK_THROWS_WITH_AS(validate(s), doctest::Contains("--patch 32 0 32"), Error);
  s.patch = {8, 16, 16};
  s.recipe = "fdl";
  s.model = "fd-early";
  CHECK_THROWS_WITH_AS(validate(s), doctest::Contains("--beta 0.1 on axis X"), Error);
  s.beta = {0.125, 0.125, 1};
  CHECK_NOTHROW(validate(s));
  s = RunSettings();
  s.aug_scaling = {0.2, 1.4, 0.7};
  CHECK_THROWS_WITH_AS(validate(s), doctest::Contains("--aug-scaling 0.2 1.4 0.7"), Error);
  s.aug_scaling = {1.5, 0.7, 1.4};
  CHECK_THROWS_WITH_AS(validate(s), doctest::Contains("P must lie in [0, 1]"), Error);
}

TEST_CASE("run settings: a config.json older than the recipes reads as the paper recipe") {
  RunSettings fdl;
  fdl.recipe = "fdl";
  nlohmann::json j;
  settings_to_json(fdl, j);
  CHECK(settings_from_json(j, "config.json").recipe == "fdl");
  j.erase("recipe");
  CHECK(settings_from_json(j, "config.json").recipe == "paper");
  // A paper run's file from before --loss, --optimizer and --lr-schedule: what it trained with.
  for (const char* key : {"loss", "optimizer", "lr_schedule"}) j.erase(key);
  const RunSettings old = settings_from_json(j, "config.json");
  CHECK(old.loss == "soft-dice");
  CHECK(old.optimizer == "adam");
  CHECK(old.lr_schedule == "constant");
}

TEST_CASE("run settings: auto is the recipe's choice; explicit values stay") {
  RunSettings paper;
  resolve_auto(paper);
  CHECK(paper.loss == "soft-dice");
  CHECK(paper.optimizer == "adam");
  CHECK(paper.lr_schedule == "constant");
  CHECK(paper.lr == 1e-3);
  RunSettings fdl;
  fdl.recipe = "fdl";
  resolve_auto(fdl);
  CHECK(fdl.loss == "dice-ce");
  CHECK(fdl.optimizer == "sgd");
  CHECK(fdl.lr_schedule == "poly");
  CHECK(fdl.lr == 1e-2);
  RunSettings mixed;
  mixed.recipe = "fdl";
  mixed.optimizer = "adam";
  mixed.lr = 3e-4;
  resolve_auto(mixed);
  CHECK(mixed.optimizer == "adam");
  CHECK(mixed.lr == 3e-4);
  CHECK(mixed.loss == "dice-ce");
}
