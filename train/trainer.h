#pragma once
// The training loop behind `fdl train`, in two recipes. paper (docs/method.md §5.3): whole
// volumes on one grid, sigmoid soft Dice, Adam, validation on the fold's validation cases every
// epoch. fdl (§5.5): patches at native spacing from the worker threads of patch_loader.h,
// Dice+CE, SGD and the poly schedule (--loss, --optimizer, --lr-schedule choose others),
// sliding-window validation every --val-every epochs, the best weights by a moving average of
// the validation Dice. Both write a checkpoint (checkpoint.h) after every epoch from which
// --resume continues bit for bit on the CPU.
// With --device cuda the weights and Adam's moments move to the GPU once, each batch is copied
// there, and only the logged scalars come back; checkpoints are written from host copies, so
// a run may resume on either device.
// Before training the dataset is checked (engine/data/check.h); at the end the best weights
// predict the held-out test cases (predict.h): RUN_DIR/test_metrics.csv/.json and
// RUN_DIR/test_montage.png.
// train() reads as its steps (trainer.cpp): plan_run (options, dataset, split, config; writes
// nothing), claim the run directory, build_model, load_data, plan_patches (fdl: the patch and
// the printed plan), start_or_resume, then per epoch train_epoch, validate and
// checkpoint_epoch, and at the end test_and_report.
#include <array>
#include <cstdint>
#include <string>

#include "train/run_settings.h"

namespace fdl::train {

struct TrainOptions {
  std::string dataset_dir, run_dir;
  RunSettings run;                   // everything that changes the run's numbers (run_settings.h)
  std::string device = "cpu";        // cpu | cuda: the model, its batches and Adam live there
  std::string splits_file;           // a splits.json to reuse instead of drawing the split
  bool skip_check = false;           // train even when the dataset check reports errors
  bool allow_outside_paths = false;  // dataset files may resolve outside its directory (dataset.h)
  bool resume = false;
  bool overwrite = false;  // run_dir may hold files fdl did not write (engine/io/output_dir.h)
  int profile_steps = 0;   // > 0: time this many training steps, print, write nothing
};

struct TrainResult {
  int64_t epochs_done = 0;  // epochs completed in the run directory
  int64_t best_epoch = 0;
  double best_val_loss = 0;
  std::string test_summary;  // the test-set metrics table; empty without test cases
};

// Runs (or resumes) training. fdl::Error, before anything is written to run_dir, for bad
// options (--device cuda without a GPU or in a build without CUDA), an unreadable dataset or
// one that is not a set or reaches outside its directory (open_dataset, whatever skip_check),
// a dataset check with errors (the report goes to stderr) unless skip_check, a splits file
// naming cases the dataset lacks, a run directory that already holds a checkpoint without
// `resume`, or one that output_dir.h refuses (another writer holds it, it holds files fdl did
// not write, it overlaps the dataset or the splits file); with `resume`, for a run directory
// without state.json (nothing to resume) or a configuration that differs from the saved one
// (naming the option; the device may differ, the GPU conv settings may not). The run
// directory stays locked until training and the test evaluation end. A NaN or Inf loss stops
// the run with an fdl::Error; the checkpoint of the last completed epoch is left as it was.
TrainResult train(const TrainOptions& o);

}  // namespace fdl::train
