#include "train/study_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/data/dataset.h"
#include "engine/data/patch.h"
#include "engine/io/atomic_file.h"
#include "engine/io/json_file.h"
#include "engine/io/png.h"
#include "kernels/common/error.h"
#include "train/checkpoint.h"
#include "train/montage.h"
#include "train/plot.h"
#include "train/predict.h"

namespace fdl::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string fmt(const char* f, double v) {
  if (!std::isfinite(v)) return "nan";
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// Test metrics of the finished runs of one (arm, percent): per class index in the file,
// metric -> case id -> its values, one per fold.
struct RunMetrics {
  double train_cases = 0;
  std::vector<std::map<std::string, std::map<std::string, std::vector<double>>>> classes;
};

// A case's value over the folds: the mean of its finite values (NaN when none is). Every
// fold tests the same cases (the test set depends on the seed only), so folds are averaged
// per case rather than counted as more cases.
double case_value(const std::vector<double>& v) {
  double sum = 0;
  int n = 0;
  for (double x : v)
    if (std::isfinite(x)) sum += x, ++n;
  return n ? sum / n : NAN;
}

const char* const kMetrics[] = {"dice", "hd95_mm"};  // as test_metrics.json names them

// Adds one run's test metrics to `to`; the first run read fixes the classes.
void read_run(const std::string& run_dir, std::vector<ReportClass>& classes, RunMetrics& to) {
  to.train_cases += double(io::read_json(run_dir + "/config.json").at("split").at("train").size());
  const json j = io::read_json(run_dir + "/test_metrics.json");
  if (classes.empty())
    for (const auto& c : j.at("classes"))
      classes.push_back({c.at("class").get<int>(), c.at("name").get<std::string>()});
  FDL_CHECK(j.at("classes").size() == classes.size(), run_dir,
            ": its classes differ from the other runs'");
  to.classes.resize(classes.size());
  for (size_t c = 0; c < classes.size(); ++c)
    for (const char* metric : kMetrics)
      for (const auto& row : j.at("classes")[c].at("cases")) {
        const json& v = row.at(metric);
        to.classes[c][metric][row.at("case").get<std::string>()].push_back(
            v.is_number() ? v.get<double>() : NAN);
      }
}

// One point of an arm's Dice curve.
struct CurvePoint {
  double cases, mean, lo, hi;
};
using Curves = std::vector<std::pair<std::string, std::vector<CurvePoint>>>;  // per arm

// Each class's Dice curve per arm, in arm order, its points by the number of training cases.
std::vector<Curves> dice_curves(const StudyReport& r) {
  std::vector<Curves> curves(r.classes.size());
  for (const ReportRow& row : r.rows) {
    if (row.metric != "dice" || !row.summary) continue;
    Curves& cv = curves[row.class_index];
    auto it = std::find_if(cv.begin(), cv.end(), [&](const auto& e) { return e.first == row.arm; });
    if (it == cv.end()) it = cv.insert(cv.end(), {row.arm, {}});
    it->second.push_back(
        {row.train_cases, row.summary->mean, row.summary->ci_low, row.summary->ci_high});
  }
  for (auto& cls : curves)  // percents may be listed in any order
    for (auto& [m, pts] : cls)
      std::sort(pts.begin(), pts.end(),
                [](const CurvePoint& a, const CurvePoint& b) { return a.cases < b.cases; });
  return curves;
}

}  // namespace

// A band of each arm's 95% CI (clipped to [0, 1]) under its line.
void write_dice_plot(const std::string& path, const StudyReport& r) {
  const std::vector<Curves> curves = dice_curves(r);
  std::vector<std::string> class_names;
  for (const ReportClass& c : r.classes) class_names.push_back(c.name);
  size_t models = 0;
  for (const auto& cls : curves) models = std::max(models, cls.size());
  const int pw = 420, ph = 300, W = 60 + int(class_names.size()) * (pw + 70),
            H = ph + 100 + 16 * int(models);
  Canvas cv(W, H);
  double x_lo = INFINITY, x_hi = -INFINITY;
  for (const auto& cls : curves)
    for (const auto& [m, pts] : cls)
      for (const auto& p : pts) x_lo = std::min(x_lo, p.cases), x_hi = std::max(x_hi, p.cases);
  if (!std::isfinite(x_lo)) x_lo = 0, x_hi = 1;
  if (x_hi <= x_lo) x_lo -= 1, x_hi += 1;
  const double pad = 0.05 * (x_hi - x_lo);  // keeps the end points off the y axis
  x_lo -= pad, x_hi += pad;
  for (size_t c = 0; c < class_names.size(); ++c) {
    const int x0 = 60 + int(c) * (pw + 70), y0 = 40, x1 = x0 + pw, y1 = y0 + ph;
    auto px = [&](double v) {
      return x0 + int(std::lround((v - x_lo) / (x_hi - x_lo) * (x1 - x0)));
    };
    auto py = [&](double v) {
      const double k = std::isfinite(v) ? std::clamp(v, 0.0, 1.0) : 0.0;
      return y1 - int(std::lround(k * (y1 - y0)));
    };
    cv.text(x0, y0 - 24, class_names[c] + " DICE", kAxis);
    for (int k = 0; k <= 4; ++k) {
      const int y = y1 - (y1 - y0) * k / 4;
      cv.line(x0, y, x1, y, k == 0 ? kAxis : kGrid);
      if (k % 2 == 0) cv.text(x0 - 34, y - 5, k == 0 ? "0" : k == 2 ? "0.5" : "1", kAxis);
    }
    cv.line(x0, y0, x0, y1, kAxis);
    cv.text((x0 + x1) / 2 - 56, y1 + 26, "TRAINING CASES", kAxis);
    for (size_t m = 0; m < curves[c].size(); ++m) {  // translucent bands first, then the lines
      const Rgb col = kColours[m % std::size(kColours)];
      const auto& pts = curves[c][m].second;
      auto band = [&](int x, double lo, double hi) {
        if (!std::isfinite(lo) || !std::isfinite(hi)) return;
        for (int y = py(hi); y <= py(lo); ++y) cv.tint(x, y, col, 0.2);
      };
      for (size_t i = 0; i + 1 < pts.size(); ++i) {
        const int xa = px(pts[i].cases), xb = px(pts[i + 1].cases);
        for (int x = xa; x < xb; ++x) {
          const double t = double(x - xa) / (xb - xa);
          band(x, pts[i].lo + t * (pts[i + 1].lo - pts[i].lo),
               pts[i].hi + t * (pts[i + 1].hi - pts[i].hi));
        }
      }
      if (!pts.empty()) band(px(pts.back().cases), pts.back().lo, pts.back().hi);
      for (const auto& p : pts)  // the x ticks: the training-set sizes
        cv.text(px(p.cases) - 4 * int(fmt("%g", p.cases).size()), y1 + 8, fmt("%g", p.cases),
                kAxis);
    }
    for (size_t m = 0; m < curves[c].size(); ++m) {
      const Rgb col = kColours[m % std::size(kColours)];
      const auto& pts = curves[c][m].second;
      for (size_t i = 0; i < pts.size(); ++i) {
        cv.rect(px(pts[i].cases) - 2, py(pts[i].mean) - 2, px(pts[i].cases) + 2,
                py(pts[i].mean) + 2, col);
        if (i + 1 < pts.size())
          cv.line(px(pts[i].cases), py(pts[i].mean), px(pts[i + 1].cases), py(pts[i + 1].mean), col,
                  2);
      }
      cv.line(x0 + 8, y1 + 50 + 16 * int(m) + 4, x0 + 24, y1 + 50 + 16 * int(m) + 4, col, 3);
      cv.text(x0 + 30, y1 + 50 + 16 * int(m), curves[c][m].first, col);
    }
  }
  write_rgb_png(path, cv.px, W, H);
}

// The first test cases of the largest percent's first fold, segmented by every model that
// has finished it: rows case 1 with each model in --models order, then case 2, ...; the
// montage picks its slices from the label, so each case's rows show the same slices.
// Returns the models shown, in row order; none when no model finished the cell.
// Rows: case 1 with each arm in study_arms' order, then case 2, ...; the montage picks its
// slices from the label, so each case's rows show the same slices.
std::vector<std::string> write_examples(const StudyOptions& o, const std::string& path, int cases) {
  const double pct = *std::max_element(o.percents.begin(), o.percents.end());
  std::vector<std::string> shown;
  std::vector<TrainedModel> models;
  for (const StudyArm& arm : study_arms(o)) {
    const std::string& m = arm.label;
    const std::string dir = study_run_dir(o.study_dir, m, pct, o.folds.front());
    if (!fs::exists(dir + "/test_metrics.json")) continue;
    models.push_back(load_trained(dir));
    shown.push_back(m);
  }
  if (models.empty()) return shown;
  const Dataset ds =
      open_dataset(models.front().config.dataset, {.allow_outside_paths = o.allow_outside_paths});
  std::vector<MontageCase> rows;
  const auto& test = models.front().config.test_cases;
  for (size_t t = 0; t < test.size() && t < size_t(cases); ++t) {
    auto c = std::find_if(ds.cases.begin(), ds.cases.end(),
                          [&](const Case& k) { return k.id == test[t]; });
    FDL_CHECK(c != ds.cases.end(), "fdl study: test case '", test[t], "' is not in ", ds.root);
    const Volume image = read_case_image(*c);
    const Tensor channel0 = channel_volume(image.data, 0);
    const Tensor label = read_nifti(c->label).data.to(DType::I32);
    for (const TrainedModel& m : models)
      rows.push_back({channel0, label, predict_image(m, image).mask});
  }
  if (!rows.empty()) write_montage_png(path, rows);
  return shown;
}

StudyReport study_rows(const StudyOptions& o) {
  StudyReport r;
  r.arms = study_arms(o);
  r.baseline = baseline_arm(r.arms).label;
  // [arm][percent index]: the runs of all folds, merged, and how many there are.
  std::map<std::string, std::vector<RunMetrics>> data;
  std::map<std::string, std::vector<int>> runs;
  for (const StudyArm& arm : r.arms) {
    data[arm.label].resize(o.percents.size());
    runs[arm.label].assign(o.percents.size(), 0);
    for (size_t p = 0; p < o.percents.size(); ++p)
      for (int fold : o.folds) {
        const std::string dir = study_run_dir(o.study_dir, arm.label, o.percents[p], fold);
        if (!fs::exists(dir + "/test_metrics.json")) continue;
        read_run(dir, r.classes, data[arm.label][p]);
        ++runs[arm.label][p];
      }
  }
  FDL_CHECK(!r.classes.empty(), "fdl study: no finished run under ", o.study_dir);
  for (size_t c = 0; c < r.classes.size(); ++c)
    for (const char* metric : kMetrics)
      for (size_t p = 0; p < o.percents.size(); ++p) {
        double cases_sum = 0;
        int cell_runs = 0;
        for (const StudyArm& arm : r.arms)
          cases_sum += data[arm.label][p].train_cases, cell_runs += runs[arm.label][p];
        const RunMetrics& base = data[r.baseline][p];
        for (const StudyArm& arm : r.arms) {
          ReportRow row;
          row.class_index = c, row.metric = metric, row.percent_index = p,
          row.percent = o.percents[p];
          row.arm = arm.label;
          row.cell_train_cases = cell_runs ? cases_sum / cell_runs : NAN;
          row.runs = runs[arm.label][p];
          if (row.runs) {
            const RunMetrics& m = data[arm.label][p];
            row.train_cases = m.train_cases / row.runs;
            std::vector<double> v;
            for (const auto& [id, x] : m.classes[c].at(metric)) v.push_back(case_value(x));
            row.summary = summarise(v);
            if (arm.label != r.baseline && runs[r.baseline][p]) {
              std::vector<double> x, y;  // the cases present in both
              for (const auto& [id, xv] : m.classes[c].at(metric)) {
                auto it = base.classes[c].at(metric).find(id);
                if (it == base.classes[c].at(metric).end()) continue;
                x.push_back(case_value(xv));
                y.push_back(case_value(it->second));
              }
              row.difference = ArmDifference{bootstrap_mean_diff(x, y, 10000, o.run.seed),
                                             wilcoxon_signed_rank(x, y)};
            }
          }
          r.rows.push_back(row);
        }
      }
  return r;
}

namespace {

std::vector<std::string> arm_labels(const StudyReport& r) {
  std::vector<std::string> l;
  for (const StudyArm& a : r.arms) l.push_back(a.label);
  return l;
}

// "norm over [zscore, minmax]; lr over [0.001, 0.0003]", or "" without --vary.
std::string varied_text(const StudyOptions& o) {
  std::string t;
  for (const StudyFactor& f : o.vary) {
    json values = json::array();
    for (const auto& words : f.values) {
      std::string v;
      for (const auto& w : words) v += (v.empty() ? "" : " ") + w;
      values.push_back(v);
    }
    t += (t.empty() ? "" : "; ") + f.key + " over " + values.dump();
  }
  return t;
}

}  // namespace

std::string report_markdown(const StudyOptions& o, const StudyReport& r) {
  const std::vector<std::string> labels = arm_labels(r);
  const std::string& base = r.baseline;
  std::ostringstream md;
  md << "# fdl study\n\nDataset `" << o.dataset_dir << "`; arms " << json(labels).dump()
     << "; train percents " << json(o.percents).dump() << "; folds " << json(o.folds).dump() << "; "
     << o.run.epochs << " epochs at " << o.run.shape[0] << "x" << o.run.shape[1] << "x"
     << o.run.shape[2] << "; k-space centre " << o.kspace_centre;
  if (!o.vary.empty()) md << "; varied: " << varied_text(o);
  md << "; seed " << o.run.seed
     << ".\n\nEach cell: the mean [95% CI, Student t] over the held-out test cases (n); with "
        "several folds, each case's value is its mean over the folds. "
     << "Each difference: arm - " << base << " over the same test cases (paired by case id): mean "
     << "[bootstrap 95% CI, 10000 resamples], and the two-sided Wilcoxon signed-rank p. HD95 is in "
        "mm (lower is "
     << "better); cases where it is undefined (an empty prediction or label) are left out.\n";
  // Rows come per (class, metric, percent) in runs of one per arm: a table line each.
  for (size_t at = 0; at < r.rows.size(); at += labels.size()) {
    const ReportRow& first = r.rows[at];
    if (first.percent_index == 0) {
      md << "\n## " << r.classes[first.class_index].name << ": "
         << (first.metric == "dice" ? "Dice" : "HD95 (mm)") << "\n\n| train % | train cases |";
      for (const auto& m : labels) md << " " << m << " |";
      for (const auto& m : labels)
        if (m != base) md << " " << m << " - " << base << " | p |";
      md << "\n|---|---|";
      for (const auto& m : labels) md << "---|" << (m != base ? "---|---|" : "");
      md << "\n";
    }
    md << "| " << percent_label(first.percent) << " | " << fmt("%.3g", first.cell_train_cases)
       << " |";
    std::string diffs;
    for (size_t a = 0; a < labels.size(); ++a) {
      const ReportRow& row = r.rows[at + a];
      if (row.summary)
        md << " " << fmt("%.3f", row.summary->mean) << " [" << fmt("%.3f", row.summary->ci_low)
           << ", " << fmt("%.3f", row.summary->ci_high) << "] (" << row.summary->n << ") |";
      else
        md << " - |";
      if (row.arm == base) continue;
      if (!row.difference) {
        diffs += " - | - |";
        continue;
      }
      const BootstrapCI& ci = row.difference->ci;
      std::ostringstream cell;  // not "literal" + string: GCC 12 warns falsely (-Wrestrict)
      cell << " " << fmt("%+.3f", ci.mean_diff) << " [" << fmt("%+.3f", ci.ci_low) << ", "
           << fmt("%+.3f", ci.ci_high) << "] (" << ci.n << ") | "
           << fmt("%.3g", row.difference->wilcoxon.p) << " |";
      diffs += cell.str();
    }
    md << diffs << "\n";
  }
  return md.str();
}

std::string report_csv(const StudyReport& r) {
  std::ostringstream csv;
  csv << "class,class_name,metric,percent,train_cases,model,n,mean,std,ci_low,ci_high,baseline,n_"
         "pairs,diff_mean,"
         "diff_ci_low,diff_ci_high,wilcoxon_statistic,wilcoxon_p\n";
  for (const ReportRow& row : r.rows) {
    const ReportClass& c = r.classes[row.class_index];
    csv << c.index << "," << c.name << "," << row.metric << "," << percent_label(row.percent) << ","
        << fmt("%.6g", row.cell_train_cases) << "," << row.arm;
    if (row.summary)
      csv << "," << row.summary->n << "," << fmt("%.6g", row.summary->mean) << ","
          << fmt("%.6g", row.summary->std) << "," << fmt("%.6g", row.summary->ci_low) << ","
          << fmt("%.6g", row.summary->ci_high);
    else
      csv << ",0,nan,nan,nan,nan";
    csv << "," << r.baseline;
    if (row.difference) {
      const BootstrapCI& ci = row.difference->ci;
      csv << "," << ci.n << "," << fmt("%.6g", ci.mean_diff) << "," << fmt("%.6g", ci.ci_low) << ","
          << fmt("%.6g", ci.ci_high) << "," << fmt("%.6g", row.difference->wilcoxon.statistic)
          << "," << fmt("%.6g", row.difference->wilcoxon.p) << "\n";
    } else {
      csv << ",0,nan,nan,nan,nan,nan\n";
    }
  }
  return csv.str();
}

std::string report_json(const StudyOptions& o, const StudyReport& r) {
  json rows = json::array(), arms = json::array();
  for (const StudyArm& a : r.arms) {
    json settings = json::object();
    for (const auto& [key, words] : a.settings) {
      RunSettings s;  // the value as config.json holds it
      set_setting(s, run_setting(key), words);
      json one;
      settings_to_json(s, one);
      settings[key] = one.at(key);
    }
    arms.push_back({{"label", a.label},
                    {"model", a.model},
                    {"kspace_centre", a.kspace_centre},
                    {"settings", settings}});
  }
  for (const ReportRow& row : r.rows) {
    const ReportClass& c = r.classes[row.class_index];
    json j = {{"class", c.index},
              {"class_name", c.name},
              {"metric", row.metric},
              {"percent", row.percent},
              {"train_cases", num(row.cell_train_cases)},
              {"model", row.arm},
              {"runs", row.runs}};
    if (row.summary) {
      const Stat& s = *row.summary;
      j["summary"] = {{"n", s.n},
                      {"mean", num(s.mean)},
                      {"std", num(s.std)},
                      {"ci_low", num(s.ci_low)},
                      {"ci_high", num(s.ci_high)}};
    }
    if (row.difference) {
      const BootstrapCI& ci = row.difference->ci;
      const WilcoxonResult& w = row.difference->wilcoxon;
      j["difference"] = {{"baseline", r.baseline},     {"n_pairs", ci.n},
                         {"mean", num(ci.mean_diff)},  {"ci_low", num(ci.ci_low)},
                         {"ci_high", num(ci.ci_high)}, {"wilcoxon_statistic", num(w.statistic)},
                         {"wilcoxon_p", num(w.p)},     {"wilcoxon_exact", w.exact}};
    }
    rows.push_back(j);
  }
  const json report = {{"dataset", o.dataset_dir},
                       {"models", arm_labels(r)},
                       {"arms", arms},
                       {"baseline", r.baseline},
                       {"percents", o.percents},
                       {"folds", o.folds},
                       {"epochs", o.run.epochs},
                       {"shape", o.run.shape},
                       {"kspace_centre", o.kspace_centre},
                       {"seed", o.run.seed},
                       {"metrics", {"dice", "hd95_mm"}},
                       {"rows", rows}};
  return report.dump(2) + "\n";
}

std::string write_study_report(const StudyOptions& o) {
  const StudyReport r = study_rows(o);
  const fs::path dir(o.study_dir);
  io::write_file_atomic((dir / "report.json").string(), report_json(o, r));
  io::write_file_atomic((dir / "report.csv").string(), report_csv(r));
  write_dice_plot((dir / "dice_vs_train_size.png").string(), r);
  std::string md = report_markdown(o, r);
  const std::vector<std::string> shown = write_examples(o, (dir / "examples.png").string());
  if (!shown.empty()) {
    md += "\nexamples.png: the first test cases at " +
          percent_label(*std::max_element(o.percents.begin(), o.percents.end())) + "% of fold " +
          std::to_string(o.folds.front()) + ", a row per case and arm (" + json(shown).dump() +
          " for each case): ground truth in green, prediction in red, yellow where both run.\n";
  }
  io::write_file_atomic((dir / "report.md").string(), md);
  return md;
}

}  // namespace fdl::train
