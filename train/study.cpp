#include "train/study.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "engine/data/dataset.h"
#include "engine/data/split.h"
#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/json_file.h"
#include "engine/io/output_dir.h"
#include "engine/metrics/paired.h"
#include "engine/metrics/summary.h"
#include "engine/io/png.h"
#include "train/checkpoint.h"
#include "train/montage.h"
#include "train/plot.h"
#include "train/predict.h"

namespace fdl::train {

const std::vector<std::string> kStudyOwnedSettings{"model", "fold", "train_percent", "kspace_centre"};
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string fmt(const char* f, double v) {
  if (!std::isfinite(v)) return "nan";
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

std::vector<std::string> arm_labels(const StudyOptions& o) {
  std::vector<std::string> l;
  for (const StudyArm& a : study_arms(o)) l.push_back(a.label);
  return l;
}

std::string baseline_of(const std::vector<std::string>& labels) {
  for (const auto& m : labels)
    if (m == "unet3d") return m;
  return labels.front();
}

}  // namespace

std::string percent_label(double p) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", p);
  return b;
}

std::vector<StudyArm> study_arms(const StudyOptions& o) {
  FDL_CHECK(o.kspace_centre == "shifted" || o.kspace_centre == "unshifted" || o.kspace_centre == "both",
            "fdl study: --kspace-centre must be shifted, unshifted or both, got '", o.kspace_centre, "'");
  std::vector<StudyArm> arms;
  const bool both = o.kspace_centre == "both";
  for (const auto& m : o.models) {
    arms.push_back({m, m, both ? "shifted" : o.kspace_centre});
    if (both && m.rfind("fd-", 0) == 0) arms.push_back({m + "-unshifted", m, "unshifted"});
  }
  return arms;
}

StudyPlan plan_study(const StudyOptions& o) {
  FDL_CHECK(!o.models.empty(), "fdl study: --models is empty");
  FDL_CHECK(!o.percents.empty(), "fdl study: --train-percent is empty");
  FDL_CHECK(!o.folds.empty(), "fdl study: --fold is empty");
  validate(o.run);
  for (int f : o.folds)
    FDL_CHECK(f >= 1 && f <= o.run.folds, "fdl study: --fold ", f, " is not in 1..--folds (", o.run.folds, ")");
  for (double p : o.percents) FDL_CHECK(p > 0 && p <= 100, "fdl study: --train-percent ", p, " is not in (0, 100]");
  const fs::path root = fs::absolute(o.study_dir);
  const std::string dataset = fs::absolute(o.dataset_dir).string();
  const Dataset ds = open_dataset(dataset, {.allow_outside_paths = o.allow_outside_paths});
  StudyPlan plan;
  for (double p : o.percents)
    for (int fold : o.folds) {
      const std::string cell = std::string("p").append(percent_label(p)) + std::string("_fold").append(std::to_string(fold));
      const std::string splits = (root / "splits" / (cell + ".json")).string();
      if (!fs::exists(splits)) {
        const Split s = make_split(int(ds.cases.size()), o.run.seed, fold, p, o.run.test_fraction, o.run.folds);
        SplitRecord r;
        r.seed = o.run.seed, r.fold = fold, r.train_percent = p;
        r.folds = o.run.folds, r.test_fraction = o.run.test_fraction;
        for (int i : s.test) r.test.push_back(ds.cases[size_t(i)].id);
        for (int i : s.train) r.train.push_back(ds.cases[size_t(i)].id);
        for (int i : s.val) r.val.push_back(ds.cases[size_t(i)].id);
        plan.new_splits.emplace(splits, r);
      }
      for (const StudyArm& arm : study_arms(o)) {
        const std::string& m = arm.label;
        StudyRun r;
        r.model = m, r.percent = p, r.fold = fold, r.splits_file = splits;
        const fs::path dir = root / m / (std::string("p").append(percent_label(p))) / (std::string("fold").append(std::to_string(fold)));
        r.run_dir = dir.string();
        r.log_file = (dir / "study.log").string();
        r.finished = fs::exists(dir / "test_metrics.json");
        r.resume = !r.finished && fs::exists(dir / "state.json");
        RunSettings run = o.run;
        run.model = arm.model, run.kspace_centre = arm.kspace_centre, run.fold = fold, run.train_percent = p;
        r.args = {"train", dataset, "-o", r.run_dir, "--splits", splits, "--device", o.device};
        for (const std::string& a : settings_args(run)) r.args.push_back(a);
        if (o.threads > 0) r.args.insert(r.args.end(), {"--threads", std::to_string(o.threads)});
        if (r.resume) r.args.push_back("--resume");
        if (o.overwrite) r.args.push_back("--overwrite");
        if (o.allow_outside_paths) r.args.push_back("--allow-outside-paths");
        plan.runs.push_back(r);
      }
    }
  return plan;
}

void write_new_splits(const StudyPlan& plan) {
  for (const auto& [path, split] : plan.new_splits) write_splits(path, split);
}

std::string shell_command(const std::string& exe, const StudyRun& r) {
  auto quote = [](const std::string& w) {
    if (!w.empty() && w.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                          "-_./=:,+@%") == std::string::npos)
      return w;
    std::string q = "'";
    for (char c : w) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  };
  std::string s = quote(exe);
  for (const auto& a : r.args) s.append(" ").append(quote(a));
  return s;
}

namespace {

// Starts `exe args...` with stdout and stderr going to `log`. Returns the child's pid.
pid_t spawn(const std::string& exe, const std::vector<std::string>& args, const std::string& log) {
  std::vector<char*> argv{const_cast<char*>(exe.c_str())};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  FDL_CHECK(fd >= 0, "fdl study: cannot open log file ", log);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::close(fd);
    ::execv(exe.c_str(), argv.data());
    std::_Exit(127);
  }
  ::close(fd);
  FDL_CHECK(pid > 0, "fdl study: fork failed");
  return pid;
}

}  // namespace

int run_study(const StudyOptions& o, const std::vector<StudyRun>& plan, const std::string& exe) {
  const int jobs = std::max(1, o.jobs);
  const int threads = o.threads > 0 ? o.threads : std::max(1, int(std::thread::hardware_concurrency()) / jobs);
  std::map<pid_t, const StudyRun*> running;
  int failed = 0;
  auto reap = [&] {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    auto it = running.find(pid);
    if (it == running.end()) return;
    const StudyRun& r = *it->second;
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    std::fprintf(stderr, "fdl study: %s p%s fold%d %s\n", r.model.c_str(), percent_label(r.percent).c_str(), r.fold,
                 ok ? "done" : ("FAILED, see " + r.log_file).c_str());
    failed += ok ? 0 : 1;
    running.erase(it);
  };
  for (const StudyRun& r : plan) {
    if (r.finished) {
      std::fprintf(stderr, "fdl study: %s p%s fold%d finished before, skipped\n", r.model.c_str(),
                   percent_label(r.percent).c_str(), r.fold);
      continue;
    }
    while (int(running.size()) >= jobs) reap();
    io::make_output_dir(r.run_dir);  // fdl's, so its `fdl train` may write beside the log
    std::vector<std::string> args = r.args;
    if (o.threads <= 0) args.insert(args.end(), {"--threads", std::to_string(threads)});
    std::fprintf(stderr, "fdl study: %s p%s fold%d %s\n", r.model.c_str(), percent_label(r.percent).c_str(), r.fold,
                 r.resume ? "resumed" : "started");
    running[spawn(exe, args, r.log_file)] = &r;
  }
  while (!running.empty()) reap();
  return failed;
}

namespace {

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

RunMetrics read_run(const std::string& run_dir, json& class_info) {
  RunMetrics m;
  m.train_cases = double(io::read_json(run_dir + "/config.json").at("split").at("train").size());
  const json j = io::read_json(run_dir + "/test_metrics.json");
  if (class_info.is_null()) {
    class_info = json::array();
    for (const auto& c : j.at("classes")) class_info.push_back({{"class", c.at("class")}, {"name", c.at("name")}});
  }
  FDL_CHECK(j.at("classes").size() == class_info.size(), run_dir, ": its classes differ from the other runs'");
  for (const auto& c : j.at("classes")) {
    auto& per = m.classes.emplace_back();
    for (const char* metric : kMetrics) {
      auto& values = per[metric];
      for (const auto& row : c.at("cases")) {
        const json& v = row.at(metric);
        values[row.at("case").get<std::string>()].push_back(v.is_number() ? v.get<double>() : NAN);
      }
    }
  }
  return m;
}

json stat_json(const Stat& s) {
  auto num = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
  return {{"n", s.n}, {"mean", num(s.mean)}, {"std", num(s.std)}, {"ci_low", num(s.ci_low)}, {"ci_high", num(s.ci_high)}};
}

// One point of a model's Dice curve.
struct CurvePoint {
  double cases, mean, lo, hi;
};
using Curves = std::vector<std::pair<std::string, std::vector<CurvePoint>>>;  // per model

// Dice against the number of training cases, one panel per class, a line per model over a
// band of its 95% CI (clipped to [0, 1]).
void write_dice_plot(const std::string& path, const std::vector<std::string>& class_names,
                     const std::vector<Curves>& curves) {
  size_t models = 0;
  for (const auto& cls : curves) models = std::max(models, cls.size());
  const int pw = 420, ph = 300, W = 60 + int(class_names.size()) * (pw + 70), H = ph + 100 + 16 * int(models);
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
    auto px = [&](double v) { return x0 + int(std::lround((v - x_lo) / (x_hi - x_lo) * (x1 - x0))); };
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
          band(x, pts[i].lo + t * (pts[i + 1].lo - pts[i].lo), pts[i].hi + t * (pts[i + 1].hi - pts[i].hi));
        }
      }
      if (!pts.empty()) band(px(pts.back().cases), pts.back().lo, pts.back().hi);
      for (const auto& p : pts)  // the x ticks: the training-set sizes
        cv.text(px(p.cases) - 4 * int(fmt("%g", p.cases).size()), y1 + 8, fmt("%g", p.cases), kAxis);
    }
    for (size_t m = 0; m < curves[c].size(); ++m) {
      const Rgb col = kColours[m % std::size(kColours)];
      const auto& pts = curves[c][m].second;
      for (size_t i = 0; i < pts.size(); ++i) {
        cv.rect(px(pts[i].cases) - 2, py(pts[i].mean) - 2, px(pts[i].cases) + 2, py(pts[i].mean) + 2, col);
        if (i + 1 < pts.size())
          cv.line(px(pts[i].cases), py(pts[i].mean), px(pts[i + 1].cases), py(pts[i + 1].mean), col, 2);
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
std::vector<std::string> write_examples(const StudyOptions& o, const std::string& path, int cases = 2) {
  const double pct = *std::max_element(o.percents.begin(), o.percents.end());
  const std::string cell = std::string("p").append(percent_label(pct));
  const std::string fold = std::string("fold").append(std::to_string(o.folds.front()));
  std::vector<std::string> shown;
  std::vector<TrainedModel> models;
  for (const auto& m : arm_labels(o)) {
    const std::string dir = (fs::path(o.study_dir) / m / cell / fold).string();
    if (!fs::exists(dir + "/test_metrics.json")) continue;
    models.push_back(load_trained(dir));
    shown.push_back(m);
  }
  if (models.empty()) return shown;
  const Dataset ds = open_dataset(models.front().config.dataset, {.allow_outside_paths = o.allow_outside_paths});
  std::vector<MontageCase> rows;
  const auto& test = models.front().config.test_cases;
  for (size_t t = 0; t < test.size() && t < size_t(cases); ++t) {
    auto c = std::find_if(ds.cases.begin(), ds.cases.end(), [&](const Case& k) { return k.id == test[t]; });
    FDL_CHECK(c != ds.cases.end(), "fdl study: test case '", test[t], "' is not in ", ds.root);
    const Volume image = read_case_image(*c);
    const Shape& s = image.data.shape();
    Tensor channel0 = Tensor::empty({s[1], s[2], s[3]});
    std::copy_n(image.data.data<float>(), channel0.numel(), channel0.data<float>());
    const Tensor label = read_nifti(c->label).data.to(DType::I32);
    for (const TrainedModel& m : models) rows.push_back({channel0, label, predict_image(m, image.data).mask});
  }
  if (!rows.empty()) write_montage_png(path, rows);
  return shown;
}

}  // namespace

std::string write_study_report(const StudyOptions& o) {
  const std::vector<std::string> labels = arm_labels(o);
  const std::string base = baseline_of(labels);
  json class_info;  // [{class, name}] from the first finished run
  // [model][percent index] -> the runs of all folds, merged.
  std::map<std::string, std::vector<RunMetrics>> data;
  std::map<std::string, std::vector<int>> runs_found;
  for (const auto& m : labels) {
    data[m].resize(o.percents.size());
    runs_found[m].assign(o.percents.size(), 0);
    for (size_t p = 0; p < o.percents.size(); ++p)
      for (int fold : o.folds) {
        const std::string dir = (fs::path(o.study_dir) / m / (std::string("p").append(percent_label(o.percents[p]))) /
                                 (std::string("fold").append(std::to_string(fold)))).string();
        if (!fs::exists(dir + "/test_metrics.json")) continue;
        RunMetrics r = read_run(dir, class_info);
        RunMetrics& acc = data[m][p];
        acc.train_cases += r.train_cases;  // summed here, averaged below
        acc.classes.resize(r.classes.size());
        for (size_t c = 0; c < r.classes.size(); ++c)
          for (auto& [metric, values] : r.classes[c])
            for (auto& [id, v] : values) {
              auto& to = acc.classes[c][metric][id];
              to.insert(to.end(), v.begin(), v.end());
            }
        ++runs_found[m][p];
      }
  }
  FDL_CHECK(!class_info.is_null(), "fdl study: no finished run under ", o.study_dir);
  std::vector<Curves> curves(class_info.size());
  std::vector<std::string> class_names;
  for (const auto& ci : class_info) class_names.push_back(ci.at("name").get<std::string>());
  json rows = json::array();
  std::ostringstream md, csv;
  md << "# fdl study\n\nDataset `" << o.dataset_dir << "`; models " << json(labels).dump() << "; train percents "
     << json(o.percents).dump() << "; folds " << json(o.folds).dump() << "; " << o.run.epochs << " epochs at "
     << o.run.shape[0] << "x" << o.run.shape[1] << "x" << o.run.shape[2] << "; k-space centre " << o.kspace_centre << "; seed "
     << o.run.seed << ".\n\nEach cell: the mean [95% CI, Student t] over the held-out test cases (n); with several folds, each case's value is its mean over the folds. "
     << "Each difference: model - " << base << " over the same test cases (paired by case id): mean "
     << "[bootstrap 95% CI, 10000 resamples], and the two-sided Wilcoxon signed-rank p. HD95 is in mm (lower is "
     << "better); cases where it is undefined (an empty prediction or label) are left out.\n";
  csv << "class,class_name,metric,percent,train_cases,model,n,mean,std,ci_low,ci_high,baseline,n_pairs,diff_mean,"
         "diff_ci_low,diff_ci_high,wilcoxon_statistic,wilcoxon_p\n";
  for (size_t c = 0; c < class_info.size(); ++c) {
    const std::string cname = class_info[c].at("name").get<std::string>();
    for (const char* metric : kMetrics) {
      md << "\n## " << cname << ": " << (std::string(metric) == "dice" ? "Dice" : "HD95 (mm)") << "\n\n| train % | train cases |";
      for (const auto& m : labels) md << " " << m << " |";
      for (const auto& m : labels)
        if (m != base) md << " " << m << " - " << base << " | p |";
      md << "\n|---|---|";
      for (const auto& m : labels) md << "---|" << (m != base ? "---|---|" : "");
      md << "\n";
      for (size_t p = 0; p < o.percents.size(); ++p) {
        double cases_sum = 0;
        int runs = 0;
        for (const auto& m : labels) cases_sum += data[m][p].train_cases, runs += runs_found[m][p];
        const double train_cases = runs ? cases_sum / runs : NAN;
        md << "| " << percent_label(o.percents[p]) << " | " << fmt("%.3g", train_cases) << " |";
        std::string diffs;
        const RunMetrics& b = data[base][p];
        for (const auto& m : labels) {
          const RunMetrics& r = data[m][p];
          json row = {{"class", class_info[c].at("class")}, {"class_name", cname}, {"metric", metric},
                      {"percent", o.percents[p]}, {"train_cases", runs ? json(train_cases) : json(nullptr)},
                      {"model", m}, {"runs", runs_found[m][p]}};
          csv << class_info[c].at("class").dump() << "," << cname << "," << metric << "," << percent_label(o.percents[p])
              << "," << fmt("%.6g", train_cases) << "," << m;
          if (runs_found[m][p] == 0) {
            md << " - |";
            if (m != base) diffs += " - | - |";
            csv << ",0,nan,nan,nan,nan," << base << ",0,nan,nan,nan,nan,nan\n";
            rows.push_back(row);
            continue;
          }
          std::vector<double> v;
          for (const auto& [k, x] : r.classes[c].at(metric)) v.push_back(case_value(x));
          const Stat s = summarise(v);
          row["summary"] = stat_json(s);
          if (std::string(metric) == "dice") {
            auto& cv = curves[c];
            auto it = std::find_if(cv.begin(), cv.end(), [&](const auto& e) { return e.first == m; });
            if (it == cv.end()) it = cv.insert(cv.end(), {m, {}});
            it->second.push_back({r.train_cases / runs_found[m][p], s.mean, s.ci_low, s.ci_high});
          }
          md << " " << fmt("%.3f", s.mean) << " [" << fmt("%.3f", s.ci_low) << ", " << fmt("%.3f", s.ci_high) << "] ("
             << s.n << ") |";
          csv << "," << s.n << "," << fmt("%.6g", s.mean) << "," << fmt("%.6g", s.std) << "," << fmt("%.6g", s.ci_low)
              << "," << fmt("%.6g", s.ci_high) << "," << base;
          if (m == base || runs_found[base][p] == 0) {
            csv << ",0,nan,nan,nan,nan,nan\n";
            if (m != base) diffs += " - | - |";
            rows.push_back(row);
            continue;
          }
          std::vector<double> x, y;  // pairs present in both runs
          for (const auto& [k, xv] : r.classes[c].at(metric)) {
            auto it = b.classes[c].at(metric).find(k);
            if (it == b.classes[c].at(metric).end()) continue;
            x.push_back(case_value(xv));
            y.push_back(case_value(it->second));
          }
          const BootstrapCI ci = bootstrap_mean_diff(x, y, 10000, o.run.seed);
          const WilcoxonResult w = wilcoxon_signed_rank(x, y);
          auto num = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
          row["difference"] = {{"baseline", base}, {"n_pairs", ci.n}, {"mean", num(ci.mean_diff)},
                               {"ci_low", num(ci.ci_low)}, {"ci_high", num(ci.ci_high)},
                               {"wilcoxon_statistic", num(w.statistic)}, {"wilcoxon_p", num(w.p)},
                               {"wilcoxon_exact", w.exact}};
          diffs.append(" ").append(fmt("%+.3f", ci.mean_diff)).append(" [").append(fmt("%+.3f", ci.ci_low));
          diffs.append(", ").append(fmt("%+.3f", ci.ci_high)).append("] (").append(std::to_string(ci.n));
          diffs.append(") | ").append(fmt("%.3g", w.p)).append(" |");
          csv << "," << ci.n << "," << fmt("%.6g", ci.mean_diff) << "," << fmt("%.6g", ci.ci_low) << ","
              << fmt("%.6g", ci.ci_high) << "," << fmt("%.6g", w.statistic) << "," << fmt("%.6g", w.p) << "\n";
          rows.push_back(row);
        }
        md << diffs << "\n";
      }
    }
  }
  const json report = {{"dataset", o.dataset_dir}, {"models", labels}, {"baseline", base},
                       {"percents", o.percents}, {"folds", o.folds}, {"epochs", o.run.epochs},
                       {"shape", o.run.shape}, {"kspace_centre", o.kspace_centre}, {"seed", o.run.seed},
                       {"metrics", {"dice", "hd95_mm"}}, {"rows", rows}};
  const fs::path dir(o.study_dir);
  io::write_file_atomic((dir / "report.json").string(), report.dump(2) + "\n");
  io::write_file_atomic((dir / "report.csv").string(), csv.str());
  for (auto& cls : curves)  // percents may be listed in any order
    for (auto& [m, pts] : cls)
      std::sort(pts.begin(), pts.end(), [](const CurvePoint& a, const CurvePoint& b) { return a.cases < b.cases; });
  write_dice_plot((dir / "dice_vs_train_size.png").string(), class_names, curves);
  const std::vector<std::string> shown = write_examples(o, (dir / "examples.png").string());
  if (!shown.empty()) {
    md << "\nexamples.png: the first test cases at " << percent_label(*std::max_element(o.percents.begin(), o.percents.end()))
       << "% of fold " << o.folds.front() << ", a row per case and model (" << json(shown).dump()
       << " for each case): ground truth in green, prediction in red, yellow where both run.\n";
  }
  io::write_file_atomic((dir / "report.md").string(), md.str());
  return md.str();
}

}  // namespace fdl::train
