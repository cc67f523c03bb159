#pragma once
// Metric reports: a CSV of every case and class, a JSON with the per-class summaries, and the
// summary table for the terminal.
#include <string>
#include <vector>

#include "engine/metrics/segmentation.h"

namespace fdl {

struct CaseMetrics {
  std::string id;
  std::vector<ClassMetrics> classes;
};

// Writes OUT.csv (header, then a row per case and class: case, class, class_name, every metric,
// pred_voxels, label_voxels, note; NaN as "nan") and OUT.json ({"metrics": [names], "classes":
// [{class, name, summary: {metric: {mean, std, ci_low, ci_high, n}}, cases: [rows]}]}; NaN as
// null), each atomically (engine/io/atomic_file.h), with OUT = out_prefix. Summaries are
// those of summarise() (engine/metrics/summary.h) over the cases' finite values.
// class_names[c] names class c (entry 0 is the background); a class without an entry is
// called "class<c>". Returns the summary table as printed text.
std::string write_metrics_report(const std::string& out_prefix,
                                 const std::vector<CaseMetrics>& cases,
                                 const std::vector<std::string>& class_names);

}  // namespace fdl
