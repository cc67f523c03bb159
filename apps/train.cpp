// `fdl train DATASET_DIR --model unet3d|fd-early|fd-late -o RUN_DIR [options]`: trains a
// network on a dataset directory (train/trainer.h); --resume continues a run.
#include <omp.h>

#include <memory>

#include "apps/command.h"
#include "train/trainer.h"
#include "models/seg_model.h"

namespace {

struct Args {
  fdl::train::TrainOptions t;
  std::vector<int64_t> shape{160, 160, 128};
  std::vector<double> beta{0.1, 0.1, 1.0};
  std::vector<double> percentiles{0.5, 99.5};
  int threads = 0;
};

const bool registered = fdl::app::add_command(
    "train", "Train a segmentation network on a dataset directory", [](CLI::App& cmd) {
      auto a = std::make_shared<Args>();
      fdl::train::TrainOptions& t = a->t;
      cmd.add_option("dataset", t.dataset_dir, "Dataset directory (MSD layout: dataset.json, imagesTr/, labelsTr/)")
          ->required();
      cmd.add_option("--model", t.model, "Network")
          ->check(CLI::IsMember(fdl::model_names()))
          ->required();
      cmd.add_option("-o,--out", t.run_dir, "Run directory (checkpoints, train.csv, progress.png)")->required();
      cmd.add_option("--shape", a->shape, "Training grid X Y Z (multiples of 4)")->expected(3)->capture_default_str();
      cmd.add_option("--fit", t.fit, "How volumes reach --shape: resize (trilinear image, nearest label) or "
                     "crop-pad (centred)")
          ->check(CLI::IsMember({"resize", "crop-pad"}))
          ->capture_default_str();
      cmd.add_option("--norm", t.norm, "Per-channel intensity normalisation: minmax, zscore or percentile "
                     "(clip to --percentiles, then min-max)")
          ->check(CLI::IsMember({"minmax", "zscore", "percentile"}))
          ->capture_default_str();
      cmd.add_option("--percentiles", a->percentiles, "LOW HIGH clip of --norm percentile")
          ->expected(2)
          ->capture_default_str();
      cmd.add_option("--epochs", t.epochs, "Epochs (the total, also when resuming)")->capture_default_str();
      cmd.add_option("--batch", t.batch, "Volumes per step")->capture_default_str();
      cmd.add_option("--lr", t.lr, "Adam learning rate")->capture_default_str();
      cmd.add_option("--seed", t.seed, "Seed of the split, weights, dropout and shuffling")->capture_default_str();
      cmd.add_option("--device", t.device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
      fdl::app::add_gpu_conv_options(cmd, t.conv, t.fast_nondeterministic);
      cmd.add_option("--beta", a->beta, "Spectral block fraction per axis: BX BY BZ (FD models)")
          ->expected(3)
          ->capture_default_str();
      cmd.add_option("--kspace-centre", t.kspace_centre,
                     "shifted (the paper: true low frequencies) or unshifted (the release)")
          ->check(CLI::IsMember({"shifted", "unshifted"}))
          ->capture_default_str();
      cmd.add_option("--fold", t.fold, "Validation fold, 1..--folds")->capture_default_str();
      cmd.add_option("--train-percent", t.train_percent, "Percent of the fold's training cases to use")
          ->capture_default_str();
      cmd.add_option("--folds", t.folds, "Cross-validation folds on the non-test cases")->capture_default_str();
      cmd.add_option("--test-fraction", t.test_fraction, "Held-out test fraction of the cases")->capture_default_str();
      cmd.add_option("--splits", t.splits_file, "Reuse the split of a splits.json (from another run) instead of "
                     "drawing one; --fold, --folds, --test-fraction and --train-percent are then the file's");
      cmd.add_flag("--skip-check", t.skip_check, "Train even when the dataset integrity check finds errors");
      cmd.add_flag("--resume", t.resume, "Continue the run in RUN_DIR from its last checkpoint (an error when it "
                   "has none)");
      fdl::app::add_overwrite_option(cmd, t.overwrite);
      cmd.add_option("--profile-steps", t.profile_steps, "Time N training steps and exit, writing nothing");
      cmd.add_option("--threads", a->threads, "CPU threads (default: OpenMP's)");
      cmd.callback([a] {
        if (a->threads > 0) omp_set_num_threads(a->threads);
        a->t.shape = {a->shape[0], a->shape[1], a->shape[2]};
        a->t.beta = {a->beta[0], a->beta[1], a->beta[2]};
        a->t.percentiles = {a->percentiles[0], a->percentiles[1]};
        fdl::train::train(a->t);
      });
    });

}  // namespace
