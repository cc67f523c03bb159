// `fdl study DATASET_DIR -o STUDY_DIR --models ... --train-percent ...`: the training-size
// study (train/study.h): one `fdl train` run per (model, percent, fold), then the report.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "apps/command.h"
#include "engine/io/output_dir.h"
#include "kernels/common/error.h"
#include "models/seg_model.h"
#include "train/study.h"
#include "train/study_report.h"

namespace {

struct Args {
  fdl::train::StudyOptions o;
  bool print_commands = false, report_only = false;
};

const bool registered = fdl::app::add_command(
    "study", "Train every model at every training-set size and compare them on the test set",
    [](CLI::App& cmd) {
      auto a = std::make_shared<Args>();
      fdl::train::StudyOptions& o = a->o;
      cmd.add_option("dataset", o.dataset_dir, "Dataset directory")->required();
      cmd.add_option("-o,--out", o.study_dir,
                     "Study directory (a run directory per model, percent and fold; "
                     "report.md/.csv/.json)")
          ->required();
      cmd.add_option("--models", o.models, "Networks, the baseline (unet3d) first or anywhere")
          ->delimiter(',')
          ->check(CLI::IsMember(fdl::model_names()))
          ->capture_default_str();
      cmd.add_option("--train-percent", o.percents,
                     "Training-set sizes in percent of a fold's training cases")
          ->delimiter(',')
          ->check(fdl::app::in_range(0.0, 100.0, true))
          ->capture_default_str();
      cmd.add_option("--fold", o.folds, "Validation folds (of --folds) to run, e.g. 1,2,3,4,5")
          ->delimiter(',')
          ->check(fdl::app::in_range(1, 1000))
          ->capture_default_str();
      cmd.add_option("--kspace-centre", o.kspace_centre,
                     "shifted (the paper), unshifted (the released code) "
                     "or both (each FD model also runs as <model>-unshifted)")
          ->check(CLI::IsMember({"shifted", "unshifted", "both"}))
          ->capture_default_str();
      cmd.add_option_function<std::vector<std::string>>(
             "--vary",
             [&o](const std::vector<std::string>& specs) {
               for (const auto& spec : specs) o.vary.push_back(fdl::train::parse_factor(spec));
             },
             "Also run every model at each value of a train setting: KEY=V1,V2,... (e.g. "
             "norm=zscore,minmax; "
             "words of one value space-separated: \"percentiles=1 99,0.5 99.5\"); repeat to cross "
             "factors")
          ->type_name("KEY=V1,V2")
          ->expected(1)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
      // Every other `fdl train` setting, passed on to every run.
      fdl::train::bind_settings(cmd, o.run, fdl::train::kStudyOwnedSettings);
      cmd.add_option("--device", o.device, "cpu or cuda")
          ->check(CLI::IsMember({"cpu", "cuda"}))
          ->capture_default_str();
      cmd.add_option("--jobs", o.jobs, "Runs in parallel processes")
          ->check(fdl::app::in_range(1, 256))
          ->capture_default_str();
      cmd.add_option("--threads", o.threads, "CPU threads per run (default: cores / --jobs)")
          ->check(fdl::app::in_range(1, 1024));
      cmd.add_flag("--print-commands", a->print_commands,
                   "Print one `fdl train` command per run and exit");
      cmd.add_flag("--report-only", a->report_only,
                   "Write the report from the finished runs; train nothing");
      fdl::app::add_allow_outside_paths_option(cmd, o.allow_outside_paths);
      fdl::app::add_overwrite_option(cmd, o.overwrite);
      cmd.callback([a] {
        const std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
        const auto plan = fdl::train::plan_study(a->o);
        // Every mode writes (the splits at least); each run's directory is claimed by its own
        // train.
        const fdl::io::OutputDir out(a->o.study_dir,
                                     {{a->o.dataset_dir}, {"splits"}, a->o.overwrite});
        fdl::train::write_new_splits(plan);
        if (a->print_commands) {
          for (const auto& r : plan.runs)
            std::printf("%s\n", fdl::train::shell_command(exe, r).c_str());
          return;
        }
        const int failed = a->report_only ? 0 : fdl::train::run_study(a->o, plan.runs, exe);
        std::printf("%s", fdl::train::write_study_report(a->o).c_str());
        FDL_CHECK(failed == 0, "fdl study: ", failed, " run(s) failed; their logs are named above");
      });
    });

}  // namespace
