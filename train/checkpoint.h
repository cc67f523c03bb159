#pragma once
// A training run's directory and its checkpoint:
//   config.json            what the run was made with (resume insists on the same), including
//                          the preprocessing that `fdl predict` applies again
//   splits.json            the case ids of the test, training and validation sets, and how
//                          they were drawn (`fdl train --splits` reuses it)
//   last.safetensors       the weights after the last completed epoch
//   model.safetensors      the best weights: the epoch with the lowest validation loss (paper
//                          recipe) or the highest moving average of the validation Dice (fdl)
//   optimizer.safetensors  the optimiser's state (Adam's moments or SGD's momentum buffers)
//                          and its step count
//   state.json             the commit record: epoch completed, best epoch, RNG states
// Each weight file carries its epoch in the safetensors metadata. A checkpoint is written as
// "<file>.next" files first, then state.json (atomic: the moment of commit), then the .next
// files are renamed into place. Opening a run rolls a committed epoch forward and drops an
// uncommitted one, so a kill -9 at any moment leaves a consistent, resumable checkpoint.
#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "engine/data/preprocess.h"
#include "engine/nn/module.h"
#include "engine/optim/adam.h"
#include "engine/optim/sgd.h"
#include "engine/random.h"
#include "train/run_settings.h"

namespace fdl::train {

struct RunConfig {
  RunSettings run;      // the settings of run_settings.h, "auto" resolved (resolve_auto)
  std::string dataset;  // absolute path
  int channels = 1, classes = 2;
  std::vector<std::string> class_names;
  AdamOptions adam;  // the other Adam settings; adam.lr follows run.lr (SGD's are its defaults)
  std::vector<std::string> train_cases, val_cases, test_cases;  // case ids of the split
};

// config.json. Files written before a setting existed read it as its default
// (Setting::optional_in_config).
void write_config(const std::string& path, const RunConfig& c);
RunConfig read_config(const std::string& path);
// The preprocessing a run trains with, and that prediction repeats.
Preprocess run_preprocess(const RunConfig& c);

// splits.json: how the split was drawn and the case ids it holds.
struct SplitRecord {
  uint64_t seed = 1;
  int fold = 1, folds = 5;
  double test_fraction = 0.2, train_percent = 100;
  std::vector<std::string> test, train, val;
};
void write_splits(const std::string& path, const SplitRecord& s);
// fdl::Error naming the file for bad JSON, a missing field, or an id listed twice.
SplitRecord read_splits(const std::string& path);
// Empty when `now` may resume `saved`; otherwise a sentence naming the first option that
// differs and both values. Only `epochs` may differ (the device is not part of the config).
std::string config_difference(const RunConfig& saved, const RunConfig& now);

struct RunState {
  int64_t epoch = 0;  // epochs completed
  int64_t best_epoch = 0;
  // The best epoch's score, lower is better: the validation loss (paper recipe), or 1 minus
  // the moving average of the validation Dice (fdl recipe).
  double best_val_loss = std::numeric_limits<double>::infinity();
  double dice_ema = std::numeric_limits<double>::quiet_NaN();  // fdl: the average so far
  Generator dropout, shuffle;                                  // their states after `epoch`
};

// File paths inside a run directory.
std::string run_file(const std::string& run_dir, const char* name);
// True when the directory holds state.json or a weight file (a run not to be overwritten).
// .next files alone are the uncommitted first epoch of a killed run, which holds nothing.
bool has_checkpoint(const std::string& run_dir);

// Commits the checkpoint of epoch st.epoch. `is_best` also replaces model.safetensors (the
// caller has set st.best_epoch = st.epoch).
void save_checkpoint(const std::string& run_dir, const Module& model, const Adam& opt,
                     const RunState& st, bool is_best);
void save_checkpoint(const std::string& run_dir, const Module& model, const Sgd& opt,
                     const RunState& st, bool is_best);

// Opens the committed checkpoint: completes or discards an interrupted commit, loads
// last.safetensors into `model` and the optimiser state into `opt`, and returns the state.
// fdl::Error when there is none or the files disagree. (The temporary files of interrupted
// writes are removed when the run directory is claimed, engine/io/output_dir.h.)
RunState load_checkpoint(const std::string& run_dir, Module& model, Adam& opt);
RunState load_checkpoint(const std::string& run_dir, Module& model, Sgd& opt);

}  // namespace fdl::train
