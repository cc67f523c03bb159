// `fdl predict RUN_DIR -o OUT_DIR INPUT... [--probabilities] [--device cpu|cuda]`: masks for
// NIfTI volumes from a trained run (train/predict.h).
#include <omp.h>

#include <memory>

#include "apps/command.h"
#include "train/predict.h"

namespace {

struct Args {
  fdl::train::PredictOptions p;
  int threads = 0;
};

const bool registered =
    fdl::app::add_command("predict", "Segment NIfTI volumes with a trained run", [](CLI::App& cmd) {
      auto a = std::make_shared<Args>();
      fdl::train::PredictOptions& p = a->p;
      cmd.add_option("run", p.run_dir,
                     "Run directory of fdl train (config.json, model.safetensors)")
          ->required();
      cmd.add_option("-o,--out", p.out_dir,
                     "Output directory: <name>.nii.gz masks (uint8, the input's grid)")
          ->required();
      cmd.add_option("inputs", p.inputs,
                     ".nii/.nii.gz files, or directories of them; for a multi-channel run, "
                     "nnU-Net's <case>_0000, <case>_0001, ... files are one case")
          ->required();
      cmd.add_flag(
          "--probabilities", p.probabilities,
          "Also write <name>_prob.nii.gz: float32 (X, Y, Z, K) sigmoid maps on the model's grid");
      cmd.add_option("--device", p.device, "cpu or cuda")
          ->check(CLI::IsMember({"cpu", "cuda"}))
          ->capture_default_str();
      cmd.add_option("--threads", a->threads, "CPU threads (default: OpenMP's)")
          ->check(fdl::app::in_range(1, 1024));
      fdl::app::add_overwrite_option(cmd, p.overwrite);
      cmd.callback([a] {
        if (a->threads > 0) omp_set_num_threads(a->threads);
        fdl::train::predict_files(a->p);
      });
    });

}  // namespace
