#pragma once
// The report of `fdl study` (train/study.h), made in two steps: the rows (one per class,
// metric, train percent and arm, with its statistics), then one writer per format, so every
// format shows the same numbers.
#include <optional>
#include <string>
#include <vector>

#include "engine/metrics/paired.h"
#include "engine/metrics/summary.h"
#include "train/study.h"

namespace fdl::train {

// An arm's paired difference to the baseline over the test cases both have finite values for.
struct ArmDifference {
  BootstrapCI ci;           // of the mean (10000 resamples, seeded)
  WilcoxonResult wilcoxon;  // two-sided signed-rank
};

struct ReportRow {
  size_t class_index = 0;    // into StudyReport::classes
  std::string metric;        // dice | hd95_mm, as test_metrics.json names them
  size_t percent_index = 0;  // into StudyOptions::percents
  double percent = 100;
  double cell_train_cases = 0;  // the mean over the cell's runs of every arm (NaN: none)
  std::string arm;
  int runs = 0;                             // its finished folds
  double train_cases = 0;                   // the mean over this arm's runs
  std::optional<Stat> summary;              // over the test cases, each the mean over its folds
  std::optional<ArmDifference> difference;  // for arms but the baseline, where both ran
};

struct ReportClass {
  int index;  // the label value
  std::string name;
};

struct StudyReport {
  std::vector<StudyArm> arms;
  std::string baseline;  // an arm's label
  std::vector<ReportClass> classes;
  std::vector<ReportRow> rows;  // by class, metric, percent, then arm (study_arms' order)
};

// The rows from the finished runs' test_metrics.json and config.json. Per foreground class,
// metric, train percent and arm: the mean, std and Student-t 95% CI (engine/metrics/summary.h)
// over the test cases, each case's value being its mean over the folds (all folds test the
// same cases), and for every arm but the baseline the paired difference (engine/metrics/paired.h).
// fdl::Error when no run has finished.
StudyReport study_rows(const StudyOptions& o);

std::string report_markdown(const StudyOptions& o, const StudyReport& r);
std::string report_csv(const StudyReport& r);
std::string report_json(const StudyOptions& o, const StudyReport& r);  // report.json's text
// Dice against the number of training cases: a panel per class, a line per arm over its CI band.
void write_dice_plot(const std::string& path, const StudyReport& r);
// The first test cases of the largest percent's first fold, segmented by every arm that has
// finished it. Returns the arms shown, in row order; none when no arm finished the cell.
std::vector<std::string> write_examples(const StudyOptions& o, const std::string& path,
                                        int cases = 2);

// Every step: STUDY_DIR/report.md, report.csv, report.json, dice_vs_train_size.png and
// examples.png. Returns report.md's text.
std::string write_study_report(const StudyOptions& o);

}  // namespace fdl::train
