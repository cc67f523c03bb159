#pragma once
// The training loop of SPEC section 5 behind `fdl train`: whole volumes on one grid, sigmoid
// soft Dice, Adam, validation on the fold's validation cases every epoch, and a checkpoint
// (checkpoint.h) after every epoch from which --resume continues bit for bit on the CPU.
#include <array>
#include <cstdint>
#include <string>

namespace fdl::train {

struct TrainOptions {
  std::string dataset_dir, run_dir;
  std::string model = "unet3d";
  std::array<int64_t, 3> shape{160, 160, 128};
  int epochs = 300;
  int batch = 2;
  double lr = 1e-3;
  uint64_t seed = 1;  // the split, the initial weights, dropout and the shuffling
  std::string device = "cpu";
  std::array<double, 3> beta{0.1, 0.1, 1.0};
  std::string kspace_centre = "shifted";
  int fold = 1;  // 1-based validation fold
  double train_percent = 100;
  bool resume = false;
  int profile_steps = 0;  // > 0: time this many training steps, print, write nothing
};

struct TrainResult {
  int64_t epochs_done = 0;  // epochs completed in the run directory
  int64_t best_epoch = 0;
  double best_val_loss = 0;
};

// Runs (or resumes) training. fdl::Error, before anything is written to run_dir, for bad
// options, an unreadable dataset or a run directory that already holds a checkpoint without
// `resume`; with `resume`, for a configuration that differs from the saved one (naming the
// option). A NaN or Inf loss stops the run with an fdl::Error; the checkpoint of the last
// completed epoch is left as it was.
TrainResult train(const TrainOptions& o);

}  // namespace fdl::train
