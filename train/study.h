#pragma once
// `fdl study`: the training-size study of the paper. Every (model, train percent, fold) is an
// ordinary `fdl train` run in STUDY_DIR/<arm>/p<percent>/fold<k> (study_arms); all models of a
// (percent, fold) cell train on the same split, STUDY_DIR/splits/p<percent>_fold<k>.json,
// drawn once up front, and with the same seed. A run with test_metrics.json is finished and
// skipped; one with state.json but no test_metrics.json is resumed (--resume).
// The report compares each arm with the baseline (unet3d, at the first value of every --vary
// factor) on the held-out test cases.
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "train/checkpoint.h"

namespace fdl::train {

// A setting the study varies, crossed with the models: `--vary norm=zscore,minmax` runs every
// model once per value. Values are the setting's command-line words, space-separated.
struct StudyFactor {
  std::string key;  // the run setting's config.json key
  std::vector<std::vector<std::string>> values;
};
// "KEY=V1,V2,...": KEY is a setting's key or flag (norm, base-filters, --lr). fdl::Error naming
// the spec for an unknown key, a setting the study owns (--models, --fold, --train-percent,
// --kspace-centre) or one that fixes the split (folds, test_fraction), an empty or repeated
// value, or a value the setting refuses.
StudyFactor parse_factor(const std::string& spec);

struct StudyOptions {
  std::string dataset_dir, study_dir;
  // Every run's settings (run_settings.h), but for those the study sets per run: the model,
  // the fold, the train percent and the k-space centre.
  RunSettings run;
  std::vector<std::string> models{"unet3d", "fd-early", "fd-late"};
  std::vector<double> percents{15, 30, 100};
  std::vector<int> folds{1};              // the validation folds (of run.folds) to run
  std::string kspace_centre = "shifted";  // shifted | unshifted | both (the ablation)
  std::vector<StudyFactor> vary;          // crossed with the models and with each other
  std::string device = "cpu";
  int jobs = 1;            // runs in parallel processes
  int threads = 0;         // per run; 0: max(1, cores / jobs)
  bool overwrite = false;  // --overwrite of the study directory, passed on to every run
  bool allow_outside_paths =
      false;  // dataset files may resolve outside its directory; passed on too
};

// The settings keys the study sets per run rather than taking from the command line.
extern const std::vector<std::string> kStudyOwnedSettings;

// What the study compares: a model with its k-space centre and one value of each --vary
// factor. With kspace_centre "both", every FD model (fd-*) runs twice: as <model> with the
// shifted centre and as <model>-unshifted (docs/method.md §2.3: the paper and the release
// differ there); otherwise with the given centre. Each factor's value appends
// "+<key>=<value>" to the label (words joined by 'x'): "fd-early+norm=zscore". Arms are
// ordered by model, then by the factors' values, the first factor slowest.
struct StudyArm {
  std::string label, model, kspace_centre;
  std::vector<std::pair<std::string, std::vector<std::string>>> settings;  // key, words
};
std::vector<StudyArm> study_arms(const StudyOptions& o);
// The arm every other is compared with: the first unet3d arm, else the first arm.
const StudyArm& baseline_arm(const std::vector<StudyArm>& arms);

struct StudyRun {
  std::string model;  // the arm's label (its directory under STUDY_DIR)
  double percent = 100;
  int fold = 1;
  std::string run_dir, splits_file, log_file;
  std::vector<std::string> args;  // the `fdl train` arguments, without the program
  bool finished = false, resume = false;
};

// "15", "12.5": a percent as it appears in paths and tables.
std::string percent_label(double p);
// STUDY_DIR/<arm>/p<percent>/fold<k>: where a run of the study lives.
std::string study_run_dir(const std::string& study_dir, const std::string& arm, double percent,
                          int fold);

struct StudyPlan {
  std::vector<StudyRun> runs;
  std::map<std::string, SplitRecord> new_splits;  // the splits files that do not exist yet
};

// Every run of the study with its command line and status, and the splits it needs. Opens
// the dataset; writes nothing.
StudyPlan plan_study(const StudyOptions& o);
// Writes the plan's new splits files (so printed commands can run elsewhere) into
// STUDY_DIR/splits, which the caller has claimed with STUDY_DIR (engine/io/output_dir.h).
void write_new_splits(const StudyPlan& plan);

// A shell command line for `exe` and the run's arguments (words quoted where needed).
std::string shell_command(const std::string& exe, const StudyRun& r);

// Runs the unfinished runs of `plan` with the binary `exe`, `o.jobs` at a time, each with its
// output in its log file (appended as it comes: the one file fdl writes in place, besides the
// lock files). Each run's directory is made as fdl's output (engine/io/output_dir.h) and
// locked by its `fdl train`. Returns the number of runs that failed (they are named on stderr).
int run_study(const StudyOptions& o, const std::vector<StudyRun>& plan, const std::string& exe);

}  // namespace fdl::train
