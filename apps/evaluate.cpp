// `fdl evaluate PRED_DIR LABEL_DIR -o OUT [--classes K | --classes NAME...]`: segmentation
// metrics per case and foreground class (engine/metrics/segmentation.h) and their summaries.
//   Pairs PRED_DIR/<name>.nii[.gz] with LABEL_DIR/<name>.nii[.gz]; every label needs a
//   prediction and every prediction a label (fdl predict's <name>_prob files are skipped).
//   Each pair must agree in shape and, within 1e-3 (relative to the entry's scale), in affine.
//   Distances use the label file's spacing. Values must be integers in [0, K).
//   --classes K, or the names of all K classes starting with the background; without it K is
//   the largest value seen plus one, and fdl says so.
// Writes OUT.csv and OUT.json (engine/metrics/report.h) only after every case has been
// evaluated, so a bad case leaves no output; prints the summary table. OUT's directory is an
// output directory like any other (engine/io/output_dir.h): not PRED_DIR or LABEL_DIR, nor
// inside or around them, and fdl's unless --overwrite.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "apps/command.h"
#include "engine/data/dataset.h"
#include "engine/io/nifti.h"
#include "engine/io/output_dir.h"
#include "engine/metrics/report.h"

namespace {

namespace fs = std::filesystem;
using namespace fdl;

struct Options {
  std::string pred_dir, label_dir, out;
  std::vector<std::string> classes;
  bool overwrite = false;
};

// The NIfTI files of a directory by case name (file name less .nii.gz or .nii).
std::map<std::string, fs::path> nifti_files(const std::string& dir, const char* what) {
  FDL_CHECK(fs::is_directory(dir), dir, ": the ", what, " directory does not exist");
  std::map<std::string, fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    for (const std::string ext : {".nii.gz", ".nii"})
      if (name.size() > ext.size() &&
          name.compare(name.size() - ext.size(), ext.size(), ext) == 0) {
        const std::string stem = name.substr(0, name.size() - ext.size());
        FDL_CHECK(!files.count(stem), e.path().string(), ": case '", stem, "' appears twice in ",
                  dir);
        files[stem] = e.path();
        break;
      }
  }
  FDL_CHECK(!files.empty(), dir, ": no .nii or .nii.gz files in the ", what, " directory");
  return files;
}

// A 3-D label map as int32; `path` is named if a value is not a non-negative integer.
Tensor to_labels(const Volume& v, const fs::path& path) {
  const Tensor& d = v.data;
  FDL_CHECK(d.ndim() == 3 || (d.ndim() == 4 && d.size(0) == 1), path.string(),
            ": expected a 3-D label map, got ", d.shape().str());
  Tensor out = Tensor::empty({d.size(-3), d.size(-2), d.size(-1)}, DType::I32);
  const float* in = d.data<float>();
  int32_t* o = out.data<int32_t>();
  for (int64_t i = 0; i < d.numel(); ++i) {
    const float r = std::nearbyint(in[i]);
    FDL_CHECK(std::abs(in[i] - r) <= 1e-3f && r >= 0 && r < 1e9f, path.string(), ": voxel ", i,
              " holds ", in[i], ", not a class index (a non-negative integer)");
    o[i] = int32_t(r);
  }
  return out;
}

void check_same_grid(const Volume& p, const Volume& l, const fs::path& pp, const fs::path& lp) {
  const Shape ps{p.data.size(-3), p.data.size(-2), p.data.size(-1)};
  const Shape ls{l.data.size(-3), l.data.size(-2), l.data.size(-1)};
  FDL_CHECK(ps == ls, pp.string(), " ", ps.str(), " and ", lp.string(), " ", ls.str(),
            " differ in shape");
  for (size_t r = 0; r < 3; ++r)
    for (size_t c = 0; c < 4; ++c) {
      const double a = p.affine[r][c], b = l.affine[r][c];
      FDL_CHECK(std::abs(a - b) <= 1e-3 * std::max({1.0, std::abs(a), std::abs(b)}), pp.string(),
                " and ", lp.string(), " differ in affine: entry [", r, "][", c, "] is ", a, " vs ",
                b);
    }
}

void run(const Options& o) {
  int classes = 0;  // 0: infer
  std::vector<std::string> names;
  if (o.classes.size() == 1 && !o.classes[0].empty() &&
      std::all_of(o.classes[0].begin(), o.classes[0].end(), ::isdigit)) {
    // Masks hold uint8 class indices, so a count beyond kMaxClasses names classes no mask has.
    FDL_CHECK(o.classes[0].size() <= 3 && std::stoi(o.classes[0]) <= kMaxClasses, "--classes ",
              o.classes[0], ": at most ", kMaxClasses, " classes (masks hold uint8 class indices)");
    classes = std::stoi(o.classes[0]);
  } else if (!o.classes.empty()) {
    names = o.classes;
    classes = int(names.size());
    FDL_CHECK(classes <= kMaxClasses, "--classes: ", classes, " names, but masks hold at most ",
              kMaxClasses, " classes (uint8 class indices)");
  }
  FDL_CHECK(o.classes.empty() || classes >= 2,
            "--classes: needs at least 2 classes (background and one more)");

  const auto preds = nifti_files(o.pred_dir, "prediction");
  const auto labels = nifti_files(o.label_dir, "label");
  for (const auto& [name, path] : labels)
    FDL_CHECK(preds.count(name), path.string(), ": no prediction ", name, ".nii.gz in ",
              o.pred_dir);
  for (const auto& [name, path] : preds) {
    const bool prob = name.size() > 5 && name.compare(name.size() - 5, 5, "_prob") == 0 &&
                      labels.count(name.substr(0, name.size() - 5));
    FDL_CHECK(prob || labels.count(name), path.string(), ": no label ", name, ".nii.gz in ",
              o.label_dir);
  }

  std::vector<CaseMetrics> cases;
  int seen_max = 0;
  for (const auto& [name, lpath] : labels) {
    const fs::path& ppath = preds.at(name);
    const Volume lv = read_nifti(lpath.string()), pv = read_nifti(ppath.string());
    check_same_grid(pv, lv, ppath, lpath);
    const Tensor pred = to_labels(pv, ppath), label = to_labels(lv, lpath);
    int k = classes;
    if (!k) {  // this case's own count; the classes it lacks are added below
      for (const Tensor* t : {&pred, &label}) {
        const int32_t* v = t->data<int32_t>();
        k = std::max(k, *std::max_element(v, v + t->numel()) + 1);
      }
      seen_max = std::max(seen_max, k - 1);
      k = std::max(k, 2);
    }
    try {
      cases.push_back({name, evaluate_case(pred, label, lv.spacing, k)});
    } catch (const Error& e) {
      throw Error(ppath.string() + " vs " + lpath.string() + ": " + e.what());
    }
  }
  if (!classes) {
    classes = std::max(seen_max + 1, 2);
    std::printf(
        "--classes not given: %d classes (0..%d) inferred from the largest value seen, %d\n",
        classes, classes - 1, seen_max);
    // A class above a case's largest value is empty in both of its masks; its entry comes from
    // evaluate_case itself on one background voxel, so it cannot drift from the real thing.
    Tensor zero = Tensor::zeros({1, 1, 1}, DType::I32);
    const std::vector<ClassMetrics> empty = evaluate_case(zero, zero, {1, 1, 1}, classes);
    for (CaseMetrics& c : cases)
      for (size_t i = c.classes.size(); i < empty.size(); ++i) c.classes.push_back(empty[i]);
  }

  std::string prefix = o.out;
  for (const std::string ext : {".csv", ".json"})
    if (prefix.size() > ext.size() &&
        prefix.compare(prefix.size() - ext.size(), ext.size(), ext) == 0)
      prefix.resize(prefix.size() - ext.size());
  const fs::path parent = fs::path(prefix).parent_path();
  const io::OutputDir out(parent.empty() ? "." : parent.string(),
                          {{o.pred_dir, o.label_dir}, {}, o.overwrite});
  const std::string table = write_metrics_report(prefix, cases, names);
  std::printf("%zu cases, %d classes -> %s.csv, %s.json\n%s", cases.size(), classes, prefix.c_str(),
              prefix.c_str(), table.c_str());
}

const bool registered = fdl::app::add_command(
    "evaluate", "Segmentation metrics of predicted masks against labels", [](CLI::App& cmd) {
      auto o = std::make_shared<Options>();
      cmd.add_option("pred_dir", o->pred_dir, "Predicted masks, <name>.nii.gz")->required();
      cmd.add_option("label_dir", o->label_dir, "Reference labels, <name>.nii.gz")->required();
      cmd.add_option("-o,--out", o->out, "Output prefix: writes OUT.csv and OUT.json")->required();
      cmd.add_option(
          "--classes", o->classes,
          "The class count K, or the names of all K classes starting with the background "
          "(default: the largest value seen plus one); it takes every word up to the next option, "
          "so give it after the directories");
      fdl::app::add_overwrite_option(cmd, o->overwrite);
      cmd.callback([o] { run(*o); });
    });

}  // namespace
