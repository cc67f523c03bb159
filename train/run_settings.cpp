#include "train/run_settings.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "engine/data/augment.h"
#include "kernels/common/error.h"
#include "models/seg_model.h"

namespace fdl::train {

using json = nlohmann::json;

namespace {

std::string shape_rule(const RunSettings& s) {
  for (int64_t n : s.shape)
    if (n % 4 != 0) return "each size must be a multiple of 4 (the network halves the grid twice)";
  return {};
}

std::string percentiles_rule(const RunSettings& s) {
  return s.percentiles[0] < s.percentiles[1] ? "" : "LOW must be below HIGH";
}

std::string fold_rule(const RunSettings& s) {
  return s.fold <= s.folds ? ""
                           : "the fold must lie in 1..--folds (" + std::to_string(s.folds) + ")";
}

std::string number_text(double v);

std::string patch_rule(const RunSettings& s) {
  if (s.patch == std::array<int64_t, 3>{0, 0, 0}) return {};
  for (int64_t n : s.patch)
    if (n <= 0 || n % 4 != 0)
      return "0 0 0 (chosen from the memory budget) or positive multiples of 4";
  // An FD model splits each patch again (docs/method.md §2.5): its centre block needs a voxel.
  if (s.recipe == "fdl" && s.model.rfind("fd-", 0) == 0)
    for (size_t a = 0; a < 3; ++a)
      if (int64_t(double(s.patch[a]) * s.beta[a]) < 1)
        return "an FD model needs patch x --beta of at least 1 voxel on every axis (--beta " +
               number_text(s.beta[a]) + " on axis " + "XYZ"[a] + ")";
  return {};
}

std::string spacing_rule(const RunSettings& s) {
  const bool automatic = s.spacing == std::array<double, 3>{0, 0, 0};
  for (double x : s.spacing)
    if (!automatic && x <= 0) return "0 0 0 (the training cases' median) or three positive sizes";
  return {};
}

// A transform's P LO HI, checked as engine/data/augment.h checks that transform.
template <std::array<double, 3> RunSettings::*S, AugmentRange AugmentOptions::*A>
std::string augment_rule(const RunSettings& s) {
  AugmentOptions o;
  o.*A = {(s.*S)[0], (s.*S)[1], (s.*S)[2]};
  if (!((o.*A).p >= 0 && (o.*A).p <= 1)) return "P must lie in [0, 1]";
  try {
    check_augment_options(o);
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

template <std::array<double, 3> RunSettings::*S, AugmentRange AugmentOptions::*A>
Setting augment_entry(const char* key, const char* flag, const char* help) {
  return {.key = key,
          .flag = flag,
          .field = S,
          .help = help,
          .optional_in_config = true,
          .rule = augment_rule<S, A>};
}

std::vector<Setting> make_table() {
  const std::vector<Range> fraction{{0, 1, true, false}};
  const std::vector<Range> probability{{0, 1}};
  return {
      {.key = "recipe",
       .flag = "--recipe",
       .field = &RunSettings::recipe,
       .help =
           "paper: whole volumes resized to --shape, soft Dice and Adam, best by validation loss "
           "(the paper's). fdl: patches at native spacing with augmentation, Dice+CE and SGD "
           "with the poly schedule, sliding-window validation and inference, best by a "
           "smoothed validation Dice (nnU-Net's)",
       .optional_in_config = true,
       .legacy = "paper",
       .choices = {"paper", "fdl"}},
      {.key = "model",
       .flag = "--model",
       .field = &RunSettings::model,
       .help = "Network",
       .choices = model_names()},
      {.key = "base_filters",
       .flag = "--base-filters",
       .field = &RunSettings::base_filters,
       .help = "Channels of the first level (doubled at each level down)",
       .optional_in_config = true,
       .range = {{1, 256}}},
      {.key = "shape",
       .flag = "--shape",
       .field = &RunSettings::shape,
       .help = "Training grid X Y Z (multiples of 4)",
       .range = {{4, 65536}},
       .rule = shape_rule},
      {.key = "fit",
       .flag = "--fit",
       .field = &RunSettings::fit,
       .help = "How volumes reach --shape: resize (trilinear image, nearest label) or crop-pad "
               "(centred)",
       .optional_in_config = true,
       .choices = {"resize", "crop-pad"}},
      {.key = "norm",
       .flag = "--norm",
       .field = &RunSettings::norm,
       .help = "Per-channel intensity normalisation: minmax, zscore or percentile (clip to "
               "--percentiles, then min-max)",
       .optional_in_config = true,
       .choices = {"minmax", "zscore", "percentile"}},
      {.key = "percentiles",
       .flag = "--percentiles",
       .field = &RunSettings::percentiles,
       .help = "LOW HIGH clip of --norm percentile",
       .optional_in_config = true,
       .range = {{0, 100}},
       .rule = percentiles_rule},
      {.key = "epochs",
       .flag = "--epochs",
       .field = &RunSettings::epochs,
       .help = "Epochs (the total, also when resuming)",
       .resume_may_change = true,
       .range = {{1, 1e6}}},
      {.key = "batch",
       .flag = "--batch",
       .field = &RunSettings::batch,
       .help = "Volumes (paper) or patches (fdl) per step",
       .range = {{1, 4096}}},
      {.key = "loss",
       .flag = "--loss",
       .field = &RunSettings::loss,
       .help = "soft-dice (sigmoid, the paper's) or dice-ce (softmax Dice + cross-entropy, "
               "nnU-Net's); auto: the recipe's (paper soft-dice, fdl dice-ce)",
       .optional_in_config = true,
       .legacy = "soft-dice",
       .choices = {"auto", "soft-dice", "dice-ce"}},
      {.key = "optimizer",
       .flag = "--optimizer",
       .field = &RunSettings::optimizer,
       .help = "adam or sgd (Nesterov momentum 0.99, weight decay 3e-5, nnU-Net's); auto: the "
               "recipe's (paper adam, fdl sgd)",
       .optional_in_config = true,
       .legacy = "adam",
       .choices = {"auto", "adam", "sgd"}},
      {.key = "lr_schedule",
       .flag = "--lr-schedule",
       .field = &RunSettings::lr_schedule,
       .help = "constant, or poly: lr (1 - epoch / epochs)^0.9 (nnU-Net's); auto: the recipe's "
               "(paper constant, fdl poly)",
       .optional_in_config = true,
       .legacy = "constant",
       .choices = {"auto", "constant", "poly"}},
      {.key = "lr",
       .flag = "--lr",
       .field = &RunSettings::lr,
       .help = "Learning rate (of the first epoch, with poly); 0: 1e-3 with adam, 1e-2 with sgd",
       .range = {{0, 1, true}},
       .zero_is_auto = true},
      {.key = "seed",
       .flag = "--seed",
       .field = &RunSettings::seed,
       .help = "Seed of the split, weights, dropout and shuffling"},
      {.key = "beta",
       .flag = "--beta",
       .field = &RunSettings::beta,
       .help = "Spectral block fraction per axis: BX BY BZ (FD models)",
       .range = fraction},
      {.key = "kspace_centre",
       .flag = "--kspace-centre",
       .field = &RunSettings::kspace_centre,
       .help = "shifted (the paper: true low frequencies) or unshifted (the release)",
       .choices = {"shifted", "unshifted"}},
      {.key = "fold",
       .flag = "--fold",
       .field = &RunSettings::fold,
       .help = "Validation fold, 1..--folds",
       .range = {{1, 1000}},
       .rule = fold_rule},
      {.key = "train_percent",
       .flag = "--train-percent",
       .field = &RunSettings::train_percent,
       .help = "Percent of the fold's training cases to use",
       .range = {{0, 100, true}}},
      {.key = "folds",
       .flag = "--folds",
       .field = &RunSettings::folds,
       .help = "Cross-validation folds on the non-test cases",
       .optional_in_config = true,
       .range = {{2, 1000}}},
      {.key = "test_fraction",
       .flag = "--test-fraction",
       .field = &RunSettings::test_fraction,
       .help = "Held-out test fraction of the cases",
       .optional_in_config = true,
       .range = {{0, 1, false, true}}},
      {.key = "conv",
       .flag = "--conv",
       .field = &RunSettings::conv,
       .help = "GPU convolution kernels (with --device cuda): direct (simple), tiled (FP32 "
               "shared-memory tiles) or tf32 (tensor cores, TF32 inputs)",
       .optional_in_config = true,
       .choices = {"direct", "tiled", "tf32"}},
      {.key = "fast_nondeterministic",
       .flag = "--fast-nondeterministic",
       .field = &RunSettings::fast_nondeterministic,
       .help = "On the GPU, reduce weight gradients with atomics: faster, not bit-reproducible",
       .optional_in_config = true},
      {.key = "patch",
       .flag = "--patch",
       .field = &RunSettings::patch,
       .help = "fdl: training and sliding-window patch X Y Z (multiples of 4); 0 0 0: the "
               "largest the memory budget allows, shaped like the median case",
       .optional_in_config = true,
       .range = {{0, 65536}},
       .rule = patch_rule},
      {.key = "spacing",
       .flag = "--spacing",
       .field = &RunSettings::spacing,
       .help = "fdl: voxel size X Y Z every case is resampled to; 0 0 0: the median of the "
               "training and validation cases",
       .optional_in_config = true,
       .range = {{0, 1e6}},
       .rule = spacing_rule},
      {.key = "foreground_fraction",
       .flag = "--foreground-fraction",
       .field = &RunSettings::foreground_fraction,
       .help = "fdl: fraction of patches centred on a labelled voxel",
       .optional_in_config = true,
       .range = probability},
      {.key = "augment",
       .flag = "--augment",
       .field = &RunSettings::augment,
       .help = "fdl: augment the training patches with the --aug-* transforms",
       .optional_in_config = true,
       .choices = {"on", "off"}},
      augment_entry<&RunSettings::aug_rotation, &AugmentOptions::rotation>(
          "aug_rotation", "--aug-rotation",
          "fdl: P LO HI of the rotation, degrees about each axis"),
      augment_entry<&RunSettings::aug_scaling, &AugmentOptions::scaling>(
          "aug_scaling", "--aug-scaling", "fdl: P LO HI of the scaling (below 1 enlarges)"),
      augment_entry<&RunSettings::aug_elastic, &AugmentOptions::elastic>(
          "aug_elastic", "--aug-elastic",
          "fdl: P LO HI of the elastic deformation, control-point sigma in voxels"),
      {.key = "aug_mirror",
       .flag = "--aug-mirror",
       .field = &RunSettings::aug_mirror,
       .help = "fdl: probability of mirroring, per axis",
       .optional_in_config = true,
       .range = probability},
      augment_entry<&RunSettings::aug_noise, &AugmentOptions::noise>(
          "aug_noise", "--aug-noise", "fdl: P LO HI of the Gaussian noise's standard deviation"),
      augment_entry<&RunSettings::aug_blur, &AugmentOptions::blur>(
          "aug_blur", "--aug-blur", "fdl: P LO HI of the Gaussian blur's sigma, voxels"),
      augment_entry<&RunSettings::aug_brightness, &AugmentOptions::brightness>(
          "aug_brightness", "--aug-brightness", "fdl: P LO HI of the brightness multiplier"),
      augment_entry<&RunSettings::aug_contrast, &AugmentOptions::contrast>(
          "aug_contrast", "--aug-contrast", "fdl: P LO HI of the contrast factor"),
      augment_entry<&RunSettings::aug_low_res, &AugmentOptions::low_res>(
          "aug_low_res", "--aug-low-res", "fdl: P LO HI of the low-resolution zoom, in (0, 1]"),
      augment_entry<&RunSettings::aug_gamma_inverted, &AugmentOptions::gamma_inverted>(
          "aug_gamma_inverted", "--aug-gamma-inverted",
          "fdl: P LO HI of the gamma of the inverted image"),
      augment_entry<&RunSettings::aug_gamma, &AugmentOptions::gamma>("aug_gamma", "--aug-gamma",
                                                                     "fdl: P LO HI of the gamma"),
      {.key = "val_every",
       .flag = "--val-every",
       .field = &RunSettings::val_every,
       .help = "fdl: epochs between validations (the last epoch always validates)",
       .optional_in_config = true,
       .range = {{1, 1e6}}},
      {.key = "overlap",
       .flag = "--overlap",
       .field = &RunSettings::overlap,
       .help = "fdl: fraction of a sliding window its neighbour shares",
       .optional_in_config = true,
       .range = {{0, 0.95}}},
      {.key = "tta_mirror",
       .flag = "--tta-mirror",
       .field = &RunSettings::tta_mirror,
       .help = "fdl: the test evaluation and fdl predict average the 8 mirrorings (8x the time)",
       .optional_in_config = true,
       .choices = {"on", "off"}},
      {.key = "best_ema",
       .flag = "--best-ema",
       .field = &RunSettings::best_ema,
       .help = "fdl: weight of the past in the moving average of the validation Dice that picks "
               "model.safetensors (0: the last validation alone)",
       .optional_in_config = true,
       .range = {{0, 1, false, true}}},
      {.key = "patience",
       .flag = "--patience",
       .field = &RunSettings::patience,
       .help = "fdl: stop after this many epochs without a new best; 0: never",
       .optional_in_config = true,
       .range = {{0, 1e6}}},
  };
}

std::string number_text(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest exact
  return std::string(buf, r.ptr);
}
std::string number_text(int64_t v) { return std::to_string(v); }
std::string number_text(uint64_t v) { return std::to_string(v); }

template <class T>
T parse_number(const Setting& e, const std::string& w) {
  T v{};
  const char* end = w.data() + w.size();
  const auto r = std::from_chars(w.data(), end, v);
  FDL_CHECK(r.ec == std::errc() && r.ptr == end &&
                (!std::is_floating_point_v<T> || std::isfinite(double(v))),
            e.flag, ": '", w, "' is not ",
            std::is_floating_point_v<T> ? "a finite number"
            : std::is_unsigned_v<T>     ? "a non-negative whole number"
                                        : "a whole number");
  return v;
}

std::string interval_text(const Range& r) {
  return std::string(r.lo_open ? "(" : "[") + number_text(r.lo) + ", " +
         (std::isinf(r.hi) ? "inf" : number_text(r.hi)) + (r.hi_open ? ")" : "]");
}

bool inside(double v, const Range& r) {
  return (r.lo_open ? v > r.lo : v >= r.lo) && (r.hi_open ? v < r.hi : v <= r.hi);
}

// The numbers of a numeric setting, for the range check.
std::vector<double> numbers(const RunSettings& s, const Setting& e) {
  return std::visit(
      [&](auto member) -> std::vector<double> {
        using T = std::decay_t<decltype(s.*member)>;
        if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, bool>) {
          return {};
        } else if constexpr (std::is_arithmetic_v<T>) {
          return {double(s.*member)};
        } else {
          return std::vector<double>((s.*member).begin(), (s.*member).end());
        }
      },
      e.field);
}

// The command-line words of a config.json value.
std::vector<std::string> json_words(const json& v, const Setting& e, const std::string& path) {
  std::vector<std::string> words;
  const auto word = [&](const json& x) {
    FDL_CHECK(x.is_string() || x.is_number(), path, ": '", e.key, "' holds ", x.dump(),
              ", not a word or a number");
    words.push_back(x.is_string() ? x.get<std::string>() : x.dump());
  };
  if (v.is_array())
    for (const json& x : v) word(x);
  else
    word(v);
  return words;
}

}  // namespace

const std::vector<Setting>& run_settings() {
  static const std::vector<Setting> table = make_table();
  return table;
}

const Setting& run_setting(const std::string& key) {
  std::string keys;
  for (const Setting& e : run_settings()) {
    if (key == e.key) return e;
    keys += keys.empty() ? e.key : std::string(", ") + e.key;
  }
  throw Error("no run setting is called '" + key + "'; the settings are " + keys);
}

std::string setting_text(const RunSettings& s, const Setting& e) {
  return std::visit(
      [&](auto member) -> std::string {
        const auto& v = s.*member;
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return v;
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_arithmetic_v<T>) {
          return number_text(
              std::conditional_t<std::is_floating_point_v<T>, double,
                                 std::conditional_t<std::is_unsigned_v<T>, uint64_t, int64_t>>(v));
        } else {
          std::string out;
          for (const auto& x : v) out += (out.empty() ? "" : " ") + number_text(x);
          return out;
        }
      },
      e.field);
}

void set_setting(RunSettings& s, const Setting& e, const std::vector<std::string>& words) {
  std::visit(
      [&](auto member) {
        auto& v = s.*member;
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          FDL_CHECK(words.size() <= 1, e.flag, ": takes no value");
          FDL_CHECK(words.empty() || words[0] == "true" || words[0] == "false", e.flag, ": '",
                    words[0], "' is neither true nor false");
          v = words.empty() || words[0] == "true";
        } else if constexpr (std::is_same_v<T, std::string> || std::is_arithmetic_v<T>) {
          FDL_CHECK(words.size() == 1, e.flag, ": takes one value, got ", words.size());
          if constexpr (std::is_same_v<T, std::string>) {
            std::string allowed;
            for (const std::string& c : e.choices) allowed += (allowed.empty() ? "" : ", ") + c;
            FDL_CHECK(e.choices.empty() || std::find(e.choices.begin(), e.choices.end(),
                                                     words[0]) != e.choices.end(),
                      e.flag, ": '", words[0], "' is not one of ", allowed);
            v = words[0];
          } else {
            v = parse_number<T>(e, words[0]);
          }
        } else {
          FDL_CHECK(words.size() == v.size(), e.flag, ": takes ", v.size(), " values, got ",
                    words.size());
          for (size_t i = 0; i < v.size(); ++i)
            v[i] = parse_number<typename T::value_type>(e, words[i]);
        }
      },
      e.field);
}

void validate(const RunSettings& s) {
  for (const Setting& e : run_settings()) {
    for (double v : numbers(s, e)) {
      if (e.zero_is_auto && v == 0) continue;
      for (const Range& r : e.range)
        FDL_CHECK(inside(v, r), e.flag, " ", setting_text(s, e), ": each value must lie in ",
                  interval_text(r));
    }
    if (e.rule) {
      const std::string problem = e.rule(s);
      FDL_CHECK(problem.empty(), e.flag, " ", setting_text(s, e), ": ", problem);
    }
  }
}

void bind_settings(CLI::App& cmd, RunSettings& s, const std::vector<std::string>& skip) {
  for (const Setting& e : run_settings()) {
    if (std::find(skip.begin(), skip.end(), e.key) != skip.end()) continue;
    if (std::holds_alternative<bool RunSettings::*>(e.field)) {
      cmd.add_flag_callback(
          e.flag, [&s, &e] { set_setting(s, e, {}); }, e.help);
      continue;
    }
    // The number of words and their type, as the help shows them.
    const auto [arity, type] = std::visit(
        [&](auto member) -> std::pair<size_t, std::string> {
          using T = std::decay_t<decltype(s.*member)>;
          const auto name = [](auto tag) -> std::string {
            using V = decltype(tag);
            return std::is_floating_point_v<V> ? "FLOAT" : std::is_unsigned_v<V> ? "UINT" : "INT";
          };
          if constexpr (std::is_same_v<T, std::string>) {
            std::string c;
            for (const std::string& x : e.choices) c += (c.empty() ? "" : ",") + x;
            return {1, e.choices.empty() ? "TEXT" : "{" + c + "}"};
          } else if constexpr (std::is_arithmetic_v<T>) {
            return {1, name(T{})};
          } else {
            return {std::tuple_size_v<T>, name(typename T::value_type{})};
          }
        },
        e.field);
    cmd.add_option_function<std::vector<std::string>>(
           e.flag, [&s, &e](const std::vector<std::string>& w) { set_setting(s, e, w); }, e.help)
        ->expected(int(arity))
        ->type_name(type)
        ->default_str(setting_text(s, e));
  }
}

void settings_to_json(const RunSettings& s, json& j) {
  for (const Setting& e : run_settings())
    std::visit([&](auto member) { j[e.key] = s.*member; }, e.field);
}

RunSettings settings_from_json(const json& j, const std::string& path) {
  RunSettings s;
  for (const Setting& e : run_settings()) {
    if (!j.contains(e.key)) {
      FDL_CHECK(e.optional_in_config, path, ": missing '", e.key, "'");
      if (e.legacy) set_setting(s, e, {e.legacy});
      continue;
    }
    try {
      const json& v = j.at(e.key);
      if (std::holds_alternative<bool RunSettings::*>(e.field)) {
        FDL_CHECK(v.is_boolean(), path, ": '", e.key, "' holds ", v.dump(), ", not true or false");
        s.*std::get<bool RunSettings::*>(e.field) = v.get<bool>();
      } else {
        set_setting(s, e, json_words(v, e, path));
      }
    } catch (const Error& err) {
      throw Error(path + ": " + err.what());
    }
  }
  try {
    validate(s);
  } catch (const Error& err) {
    throw Error(path + ": " + err.what());
  }
  return s;
}

std::string settings_difference(const RunSettings& saved, const RunSettings& now) {
  for (const Setting& e : run_settings()) {
    if (e.resume_may_change) continue;
    const std::string a = setting_text(saved, e), b = setting_text(now, e);
    if (a != b)
      return std::string(e.flag) + " differs: the run was made with " + a + ", this command has " +
             b;
  }
  return {};
}

std::vector<std::string> settings_args(const RunSettings& s) {
  std::vector<std::string> args;
  for (const Setting& e : run_settings()) {
    if (std::holds_alternative<bool RunSettings::*>(e.field)) {
      if (s.*std::get<bool RunSettings::*>(e.field)) args.push_back(e.flag);
      continue;
    }
    args.push_back(e.flag);
    const std::string text = setting_text(s, e);
    for (size_t at = 0;;) {  // one argument per word
      const size_t sp = text.find(' ', at);
      args.push_back(text.substr(at, sp - at));
      if (sp == std::string::npos) break;
      at = sp + 1;
    }
  }
  return args;
}

void resolve_auto(RunSettings& s) {
  const bool fdl = s.recipe == "fdl";
  if (s.loss == "auto") s.loss = fdl ? "dice-ce" : "soft-dice";
  if (s.optimizer == "auto") s.optimizer = fdl ? "sgd" : "adam";
  if (s.lr_schedule == "auto") s.lr_schedule = fdl ? "poly" : "constant";
  if (s.lr == 0) s.lr = s.optimizer == "sgd" ? 1e-2 : 1e-3;
}

AugmentOptions augment_options(const RunSettings& s) {
  const auto range = [](const std::array<double, 3>& a) { return AugmentRange{a[0], a[1], a[2]}; };
  AugmentOptions o;
  o.rotation = range(s.aug_rotation);
  o.scaling = range(s.aug_scaling);
  o.elastic = range(s.aug_elastic);
  o.mirror = s.aug_mirror;
  o.noise = range(s.aug_noise);
  o.blur = range(s.aug_blur);
  o.brightness = range(s.aug_brightness);
  o.contrast = range(s.aug_contrast);
  o.low_res = range(s.aug_low_res);
  o.gamma_inverted = range(s.aug_gamma_inverted);
  o.gamma = range(s.aug_gamma);
  return o;
}

}  // namespace fdl::train
