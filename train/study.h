#pragma once
// `fdl study`: the training-size study of the paper. Every (model, train percent, fold) is an
// ordinary `fdl train` run in STUDY_DIR/<arm>/p<percent>/fold<k> (study_arms); all models of a
// (percent, fold) cell train on the same split, STUDY_DIR/splits/p<percent>_fold<k>.json,
// drawn once up front, and with the same seed. A run with test_metrics.json is finished and
// skipped; one with state.json but no test_metrics.json is resumed (--resume).
// The report compares each model with the baseline (unet3d) on the held-out test cases.
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "train/checkpoint.h"

namespace fdl::train {

struct StudyOptions {
  std::string dataset_dir, study_dir;
  // Every run's settings (run_settings.h), but for those the study sets per run: the model,
  // the fold, the train percent and the k-space centre.
  RunSettings run;
  std::vector<std::string> models{"unet3d", "fd-early", "fd-late"};
  std::vector<double> percents{15, 30, 100};
  std::vector<int> folds{1};  // the validation folds (of run.folds) to run
  std::string kspace_centre = "shifted";  // shifted | unshifted | both (the ablation)
  std::string device = "cpu";
  int jobs = 1;     // runs in parallel processes
  int threads = 0;  // per run; 0: max(1, cores / jobs)
  bool overwrite = false;  // --overwrite of the study directory, passed on to every run
  bool allow_outside_paths = false;  // dataset files may resolve outside its directory; passed on too
};

// The settings keys the study sets per run rather than taking from the command line.
extern const std::vector<std::string> kStudyOwnedSettings;

// What the study compares: a model with its k-space centre. With kspace_centre "both", every
// FD model (fd-*) runs twice: as <model> with the shifted centre and as <model>-unshifted
// (docs/method.md §2.3: the paper and the release differ there); otherwise one arm per model,
// labelled by the model, with the given centre.
struct StudyArm {
  std::string label, model, kspace_centre;
};
std::vector<StudyArm> study_arms(const StudyOptions& o);

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

// STUDY_DIR/report.md, report.csv, report.json, examples.png (the first test cases of the
// largest percent segmented by each model, train/montage.h) and dice_vs_train_size.png (Dice against the
// number of training cases, a panel per class, a line per model over its CI band) from the finished
// runs' test_metrics.json and config.json. Per foreground class, metric (dice, hd95_mm), train
// percent and model: the mean, std and Student-t 95% CI (engine/metrics/summary.h) over the
// test cases, each case's value being its mean over the folds (all folds test the same cases);
// for every model but the baseline, the paired difference to the baseline over the case ids
// both have finite values for: its mean, a bootstrap
// 95% CI (10000 resamples, seeded) and the two-sided Wilcoxon signed-rank p
// (engine/metrics/paired.h). Returns report.md's text.
std::string write_study_report(const StudyOptions& o);

}  // namespace fdl::train
