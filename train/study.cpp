#include "train/study.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "engine/data/dataset.h"
#include "engine/data/split.h"
#include "engine/io/atomic_file.h"
#include "engine/io/json_file.h"
#include "engine/io/output_dir.h"
#include "kernels/common/error.h"
#include "train/checkpoint.h"

namespace fdl::train {

const std::vector<std::string> kStudyOwnedSettings{"model", "fold", "train_percent",
                                                   "kspace_centre"};
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// "a b" -> "axb": a value as it appears in an arm's label and directory name.
std::string value_label(const std::vector<std::string>& words) {
  std::string l;
  for (const auto& w : words) l += (l.empty() ? "" : "x") + w;
  return l;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  for (size_t at = 0;;) {
    const size_t end = text.find(sep, at);
    parts.push_back(text.substr(at, end - at));
    if (end == std::string::npos) return parts;
    at = end + 1;
  }
}

}  // namespace

StudyFactor parse_factor(const std::string& spec) {
  const size_t eq = spec.find('=');
  FDL_CHECK(eq != std::string::npos && eq > 0, "fdl study: --vary '", spec,
            "' is not KEY=V1,V2,...");
  std::string key = spec.substr(0, eq);
  key.erase(0, key.find_first_not_of('-'));
  std::replace(key.begin(), key.end(), '-', '_');
  const Setting* found = nullptr;
  try {
    found = &run_setting(key);
  } catch (const Error& err) {
    throw Error("fdl study: --vary '" + spec + "': " + err.what());
  }
  const Setting& e = *found;
  FDL_CHECK(std::find(kStudyOwnedSettings.begin(), kStudyOwnedSettings.end(), key) ==
                kStudyOwnedSettings.end(),
            "fdl study: --vary '", spec, "': the study sets ", e.flag,
            " itself; use its own option (", key == "model" ? "--models" : e.flag, ")");
  FDL_CHECK(key != "folds" && key != "test_fraction", "fdl study: --vary '", spec, "': ", e.flag,
            " decides the split, which every arm of a cell must share");
  StudyFactor f{key, {}};
  for (const std::string& v : split(spec.substr(eq + 1), ',')) {
    std::vector<std::string> words;
    for (const std::string& w : split(v, ' '))
      if (!w.empty()) words.push_back(w);
    FDL_CHECK(!words.empty(), "fdl study: --vary '", spec, "' has an empty value");
    FDL_CHECK(std::find(f.values.begin(), f.values.end(), words) == f.values.end(),
              "fdl study: --vary '", spec, "' names ", value_label(words), " twice");
    RunSettings probe;
    try {
      set_setting(probe, e, words);
    } catch (const Error& err) {
      throw Error("fdl study: --vary '" + spec + "': " + err.what());
    }
    f.values.push_back(words);
  }
  return f;
}

const StudyArm& baseline_arm(const std::vector<StudyArm>& arms) {
  for (const StudyArm& a : arms)
    if (a.model == "unet3d") return a;
  return arms.front();
}

std::string percent_label(double p) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", p);
  return b;
}

std::string study_run_dir(const std::string& study_dir, const std::string& arm, double percent,
                          int fold) {
  // append(), not "p" + ...: GCC 12 warns falsely (-Wrestrict) on a literal + a temporary.
  return (fs::path(study_dir) / arm / std::string("p").append(percent_label(percent)) /
          std::string("fold").append(std::to_string(fold)))
      .string();
}

std::vector<StudyArm> study_arms(const StudyOptions& o) {
  FDL_CHECK(
      o.kspace_centre == "shifted" || o.kspace_centre == "unshifted" || o.kspace_centre == "both",
      "fdl study: --kspace-centre must be shifted, unshifted or both, got '", o.kspace_centre, "'");
  std::vector<StudyArm> arms;
  const bool both = o.kspace_centre == "both";
  for (const auto& m : o.models) {
    arms.push_back({m, m, both ? "shifted" : o.kspace_centre, {}});
    if (both && m.rfind("fd-", 0) == 0) arms.push_back({m + "-unshifted", m, "unshifted", {}});
  }
  for (const StudyFactor& f : o.vary) {  // each factor multiplies the arms so far
    std::vector<StudyArm> crossed;
    for (const StudyArm& a : arms)
      for (const auto& v : f.values) {
        StudyArm b = a;
        b.label += "+" + f.key + "=" + value_label(v);
        b.settings.emplace_back(f.key, v);
        crossed.push_back(b);
      }
    arms = crossed;
  }
  return arms;
}

StudyPlan plan_study(const StudyOptions& o) {
  FDL_CHECK(!o.models.empty(), "fdl study: --models is empty");
  FDL_CHECK(!o.percents.empty(), "fdl study: --train-percent is empty");
  FDL_CHECK(!o.folds.empty(), "fdl study: --fold is empty");
  validate(o.run);
  for (int f : o.folds)
    FDL_CHECK(f >= 1 && f <= o.run.folds, "fdl study: --fold ", f, " is not in 1..--folds (",
              o.run.folds, ")");
  for (double p : o.percents)
    FDL_CHECK(p > 0 && p <= 100, "fdl study: --train-percent ", p, " is not in (0, 100]");
  const fs::path root = fs::absolute(o.study_dir);
  const std::string dataset = fs::absolute(o.dataset_dir).string();
  const Dataset ds = open_dataset(dataset, {.allow_outside_paths = o.allow_outside_paths});
  StudyPlan plan;
  for (double p : o.percents)
    for (int fold : o.folds) {
      const std::string cell = std::string("p").append(percent_label(p)) +
                               std::string("_fold").append(std::to_string(fold));
      const std::string splits = (root / "splits" / (cell + ".json")).string();
      if (!fs::exists(splits)) {
        const Split s =
            make_split(int(ds.cases.size()), o.run.seed, fold, p, o.run.test_fraction, o.run.folds);
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
        const fs::path dir = study_run_dir(root.string(), m, p, fold);
        r.run_dir = dir.string();
        r.log_file = (dir / "study.log").string();
        r.finished = fs::exists(dir / "test_metrics.json");
        r.resume = !r.finished && fs::exists(dir / "state.json");
        RunSettings run = o.run;
        run.model = arm.model, run.kspace_centre = arm.kspace_centre, run.fold = fold,
        run.train_percent = p;
        for (const auto& [key, words] : arm.settings) set_setting(run, run_setting(key), words);
        try {
          validate(run);
        } catch (const Error& e) {
          throw Error("fdl study: arm " + arm.label + (arm.settings.empty() ? "" : " (of --vary)") +
                      ": " + e.what());
        }
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
    if (!w.empty() &&
        w.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
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
  const int threads =
      o.threads > 0 ? o.threads : std::max(1, int(std::thread::hardware_concurrency()) / jobs);
  std::map<pid_t, const StudyRun*> running;
  int failed = 0;
  auto reap = [&] {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    auto it = running.find(pid);
    if (it == running.end()) return;
    const StudyRun& r = *it->second;
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    std::fprintf(stderr, "fdl study: %s p%s fold%d %s\n", r.model.c_str(),
                 percent_label(r.percent).c_str(), r.fold,
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
    std::fprintf(stderr, "fdl study: %s p%s fold%d %s\n", r.model.c_str(),
                 percent_label(r.percent).c_str(), r.fold, r.resume ? "resumed" : "started");
    running[spawn(exe, args, r.log_file)] = &r;
  }
  while (!running.empty()) reap();
  return failed;
}

}  // namespace fdl::train
