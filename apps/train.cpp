// `fdl train DATASET_DIR --model unet3d|fd-early|fd-late -o RUN_DIR [options]`: trains a
// network on a dataset directory (train/trainer.h); --resume continues a run.
#include <omp.h>

#include <memory>

#include "apps/command.h"
#include "train/trainer.h"

namespace {

struct Args {
  fdl::train::TrainOptions t;
  int threads = 0;
};

const bool registered = fdl::app::add_command(
    "train", "Train a segmentation network on a dataset directory", [](CLI::App& cmd) {
      auto a = std::make_shared<Args>();
      fdl::train::TrainOptions& t = a->t;
      cmd.add_option("dataset", t.dataset_dir,
                     "Dataset directory (MSD layout: dataset.json, imagesTr/, labelsTr/)")
          ->required();
      cmd.add_option("-o,--out", t.run_dir, "Run directory (checkpoints, train.csv, progress.png)")
          ->required();
      fdl::train::bind_settings(cmd, t.run);
      cmd.get_option("--model")->required();
      cmd.add_option("--device", t.device, "cpu or cuda")
          ->check(CLI::IsMember({"cpu", "cuda"}))
          ->capture_default_str();
      cmd.add_option(
          "--splits", t.splits_file,
          "Reuse the split of a splits.json (from another run) instead of "
          "drawing one; --fold, --folds, --test-fraction and --train-percent are then the file's");
      fdl::app::add_allow_outside_paths_option(cmd, t.allow_outside_paths);
      cmd.add_flag("--skip-check", t.skip_check,
                   "Train even when the dataset integrity check finds errors");
      cmd.add_flag("--resume", t.resume,
                   "Continue the run in RUN_DIR from its last checkpoint (an error when it "
                   "has none)");
      fdl::app::add_overwrite_option(cmd, t.overwrite);
      cmd.add_option("--profile-steps", t.profile_steps,
                     "Time N training steps and exit, writing nothing")
          ->check(fdl::app::in_range(0, 100000));
      cmd.add_option("--threads", a->threads, "CPU threads (default: OpenMP's)")
          ->check(fdl::app::in_range(1, 1024));
      cmd.callback([a] {
        if (a->threads > 0) omp_set_num_threads(a->threads);
        fdl::train::train(a->t);
      });
    });

}  // namespace
