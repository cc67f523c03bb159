#pragma once
// The settings of a training run that change its numbers, each defined once, in run_settings():
// its config.json key, its flag, its type and default (RunSettings' initialisers), its valid
// values, whether --resume must keep it, and its help line. The CLI of `fdl train` and
// `fdl study`, config.json, the validation before anything is written, the resume check and
// the study's child command lines all iterate that table, so a new setting is one field here,
// one entry in run_settings.cpp, and its use.
#include <array>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace CLI {
class App;
}

namespace fdl {
struct AugmentOptions;  // engine/data/augment.h
}

namespace fdl::train {

struct RunSettings {
  // paper: whole volumes on one grid (--shape), soft Dice, Adam, best by validation loss.
  // fdl: patches at native spacing, augmentation, Dice+CE and SGD with the poly schedule,
  // sliding-window validation and inference, best by a smoothed validation Dice
  // (docs/method.md §5.5). The settings from --patch to
  // --patience are the fdl recipe's; the paper recipe ignores them.
  std::string recipe = "paper";
  std::string model = "unet3d";
  int base_filters = 8;  // the first level's channels; each level down doubles them
  std::array<int64_t, 3> shape{160, 160, 128};
  std::string fit = "resize";                    // resize | crop-pad
  std::string norm = "minmax";                   // minmax | zscore | percentile
  std::array<double, 2> percentiles{0.5, 99.5};  // the clip of norm percentile
  int epochs = 300;                              // the target; a resumed run may change it
  int batch = 2;
  // "auto" (and an lr of 0) is the recipe's choice, made when the run starts (resolve_auto):
  // paper soft-dice, adam, constant, 1e-3; fdl dice-ce, sgd, poly, 1e-2 (nnU-Net's).
  std::string loss = "auto";         // soft-dice | dice-ce
  std::string optimizer = "auto";    // adam | sgd
  std::string lr_schedule = "auto";  // constant | poly
  double lr = 0;
  uint64_t seed = 1;  // the split, the initial weights, dropout and the shuffling
  std::array<double, 3> beta{0.1, 0.1, 1.0};
  std::string kspace_centre = "shifted";  // shifted | unshifted
  int fold = 1;                           // 1-based validation fold
  double train_percent = 100;
  int folds = 5;
  double test_fraction = 0.2;
  std::string conv = "tiled";          // the GPU conv kernels: direct | tiled | tf32
  bool fast_nondeterministic = false;  // GPU weight gradients reduced by atomics
  // The fdl recipe. A 0 0 0 patch or spacing is chosen when the run starts (a patch from the
  // memory budget, the training cases' median spacing), and config.json records the choice.
  std::array<int64_t, 3> patch{0, 0, 0};
  std::array<double, 3> spacing{0, 0, 0};
  double foreground_fraction = 0.33;  // patches centred on a labelled voxel
  std::string augment = "on";         // on | off
  // P LO HI of each transform (engine/data/augment.h; nnU-Net v2's defaults).
  std::array<double, 3> aug_rotation{0.2, -30, 30};
  std::array<double, 3> aug_scaling{0.2, 0.7, 1.4};
  std::array<double, 3> aug_elastic{0, 0, 8};
  double aug_mirror = 0.5;
  std::array<double, 3> aug_noise{0.1, 0, 0.1};
  std::array<double, 3> aug_blur{0.2, 0.5, 1};
  std::array<double, 3> aug_brightness{0.15, 0.75, 1.25};
  std::array<double, 3> aug_contrast{0.15, 0.75, 1.25};
  std::array<double, 3> aug_low_res{0.25, 0.5, 1};
  std::array<double, 3> aug_gamma_inverted{0.1, 0.7, 1.5};
  std::array<double, 3> aug_gamma{0.3, 0.7, 1.5};
  int val_every = 1;               // epochs between validations (and the last epoch)
  double overlap = 0.5;            // of the sliding windows
  std::string tta_mirror = "off";  // on | off: test and predict average the 8 mirrorings
  double best_ema = 0.9;           // smoothing of the validation Dice that picks the best
  int patience = 0;                // stop after this many epochs without a new best; 0 never
};

using SettingField =
    std::variant<std::string RunSettings::*, int RunSettings::*, uint64_t RunSettings::*,
                 double RunSettings::*, bool RunSettings::*, std::array<int64_t, 3> RunSettings::*,
                 std::array<double, 2> RunSettings::*, std::array<double, 3> RunSettings::*>;

// A closed or open interval for every number of a numeric setting.
struct Range {
  double lo, hi;
  bool lo_open = false, hi_open = false;
};

struct Setting {
  const char* key;   // in config.json
  const char* flag;  // on the command line
  SettingField field;
  const char* help;
  bool resume_may_change = false;   // --resume accepts another value (only --epochs)
  bool optional_in_config = false;  // older config.json files lack it: read as the default
  // ... or as this value, when those files were made with another one (the recipe: files
  // older than it are paper runs, whatever the default is now).
  const char* legacy = nullptr;
  std::vector<std::string> choices{};  // a string's allowed values; empty: any
  std::vector<Range> range{};          // a number's interval; empty: any
  bool zero_is_auto = false;           // 0 is the recipe's choice (resolve_auto), outside the range
  // A rule across values or settings; returns the problem, or "" when there is none.
  std::string (*rule)(const RunSettings&) = nullptr;
};

// The table, in the order of `fdl train --help`.
const std::vector<Setting>& run_settings();
const Setting& run_setting(const std::string& key);  // fdl::Error naming the keys

// A setting's value as the command line writes it (numbers exactly, words space-separated).
std::string setting_text(const RunSettings& s, const Setting& e);
// Sets a setting from its command-line words; fdl::Error naming the flag for words of the
// wrong count or type, or a word outside its choices. Ranges are validate()'s.
void set_setting(RunSettings& s, const Setting& e, const std::vector<std::string>& words);

// fdl::Error naming the flag and the allowed values for the first setting out of range.
void validate(const RunSettings& s);

// Binds every setting of the table except those in `skip` (keys) to `cmd`, writing into `s`
// as the command line is parsed.
void bind_settings(CLI::App& cmd, RunSettings& s, const std::vector<std::string>& skip = {});

// config.json's settings part; from_json fdl::Errors name `path` for a missing, mistyped or
// invalid value.
void settings_to_json(const RunSettings& s, nlohmann::json& j);
RunSettings settings_from_json(const nlohmann::json& j, const std::string& path);

// Empty when a run made with `saved` may resume with `now`; otherwise a sentence naming the
// first flag that differs and both values.
std::string settings_difference(const RunSettings& saved, const RunSettings& now);

// `fdl train` arguments that reproduce every setting of `s` (for the study's runs).
std::vector<std::string> settings_args(const RunSettings& s);

// Replaces "auto" loss, optimizer and schedule and an lr of 0 by the recipe's choice.
void resolve_auto(RunSettings& s);

// The fdl recipe's augmentation from the --aug-* settings (the rest as augment.h's defaults).
AugmentOptions augment_options(const RunSettings& s);

}  // namespace fdl::train
