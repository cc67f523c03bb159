#include "engine/data/check.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

namespace fdl {

namespace {

namespace fs = std::filesystem;

std::string voxel(int64_t i, const Shape& s) {
  return detail::concat("(", i / (s[1] * s[2]), ", ", i / s[2] % s[1], ", ", i % s[2], ")");
}

std::string shape_str(const Tensor& t, bool spatial) {
  if (!spatial || t.ndim() == 3) return t.shape().str();
  return Shape{t.size(-3), t.size(-2), t.size(-1)}.str();
}

struct CaseChecker {
  const Dataset& d;
  CheckReport& r;
  std::vector<int64_t>& class_voxels;  // over the whole dataset
  const Case& c;

  void error(const std::string& file, std::string problem) {
    r.errors.push_back({c.id, file, trim(file, problem)});
  }
  void warn(const std::string& file, std::string problem) {
    r.warnings.push_back({c.id, file, trim(file, problem)});
  }

  // An fdl::Error names its file first; the report prints the file once.
  static std::string trim(const std::string& file, std::string problem) {
    if (problem.rfind(file + ": ", 0) == 0) problem.erase(0, file.size() + 2);
    return problem;
  }

  // Reads a file; a failure becomes an error and an undefined volume.
  bool read(const std::string& file, Volume& v) {
    if (file.empty() || !fs::is_regular_file(file)) {
      error(file.empty() ? "(none)" : file, "file does not exist");
      return false;
    }
    try {
      v = read_nifti(file);
      return true;
    } catch (const std::exception& e) {  // fdl::Error, or bad_alloc from a lying header
      error(file, e.what());
      return false;
    }
  }

  void same_grid(const std::string& file, const Volume& v, const std::string& ref_file,
                 const Volume& ref, const char* what) {
    if (shape_str(v.data, true) != shape_str(ref.data, true)) {
      error(file, detail::concat(what, " shape ", shape_str(v.data, true), " differs from ",
                                 ref_file, " ", shape_str(ref.data, true)));
      return;
    }
    std::string why;
    if (!affines_agree(v.affine, ref.affine, &why))
      error(file, detail::concat(what, " affine differs from that of ", ref_file, ": ", why));
  }

  void image(std::vector<std::string> files, Volume& first) {
    std::vector<Volume> vols(files.size());
    int64_t channels = 0;
    bool all_read = true;
    for (size_t k = 0; k < files.size(); ++k) {
      if (!read(files[k], vols[k])) {
        all_read = false;
        continue;
      }
      const Tensor& t = vols[k].data;
      if (files.size() > 1 && t.ndim() != 3)
        error(files[k], "a channel file must be 3-D, got " + t.shape().str());
      channels += t.ndim() == 4 ? t.size(0) : 1;
      const float* p = t.data<float>();
      if (std::all_of(p, p + t.numel(), [&](float x) { return x == p[0]; }))
        warn(files[k], detail::concat("every voxel is ", p[0]));
      if (k > 0 && vols[0].data.defined())
        same_grid(files[k], vols[k], files[0], vols[0], "channel");
    }
    if (all_read && channels != d.channels)
      error(files[0], detail::concat("the image has ", channels, " channels, the dataset declares ",
                                     d.channels));
    first = std::move(vols[0]);
  }

  void label(const Volume& img) {
    Volume lab;
    if (!read(c.label, lab)) return;
    const Tensor& t = lab.data;
    if (t.ndim() != 3) return error(c.label, "a label map must be 3-D, got " + t.shape().str());
    if (img.data.defined()) same_grid(c.label, lab, c.image, img, "label");

    const float* p = t.data<float>();
    // read_nifti has refused NaN and Inf.
    int64_t fractional = 0, outside = 0, first_frac = -1, first_out = -1;
    std::set<float> bad_values;
    std::vector<int64_t> counts(size_t(d.classes), 0);
    for (int64_t i = 0; i < t.numel(); ++i) {
      const float v = p[i];
      if (v != std::floor(v)) {
        if (fractional++ == 0) first_frac = i;
      } else if (v < 0 || v >= float(d.classes)) {
        if (outside++ == 0) first_out = i;
        if (bad_values.size() < 6) bad_values.insert(v);
      } else {
        ++counts[size_t(v)];
      }
    }
    if (fractional)
      error(c.label,
            detail::concat(fractional, " voxels are not integers (the first, ", p[first_frac],
                           ", at voxel ", voxel(first_frac, t.shape()), ")"));
    if (outside) {
      std::string vals;
      for (float v : bad_values) vals += detail::concat(vals.empty() ? "" : ", ", v);
      error(c.label,
            detail::concat("label value", bad_values.size() > 1 ? "s " : " ", vals, " (", outside,
                           " voxels, the first at voxel ", voxel(first_out, t.shape()),
                           ") outside the classes 0..", d.classes - 1));
    }
    int64_t fg = 0;
    for (size_t k = 0; k < counts.size(); ++k) {
      class_voxels[k] += counts[k];
      if (k > 0) fg += counts[k];
    }
    if (fg == 0 && !fractional && !outside) warn(c.label, "no foreground voxels");
  }

  void run() {
    const std::vector<std::string> files =
        c.channel_files.empty() ? std::vector<std::string>{c.image} : c.channel_files;
    Volume first;
    image(files, first);
    label(first);
  }
};

}  // namespace

bool affines_agree(const Affine& a, const Affine& b, std::string* why) {
  auto col_norm = [](const Affine& m, size_t j) {
    return std::sqrt(m[0][j] * m[0][j] + m[1][j] * m[1][j] + m[2][j] * m[2][j]);
  };
  double voxel = 0;
  for (size_t j = 0; j < 3; ++j) voxel = std::max({voxel, col_norm(a, j), col_norm(b, j)});
  double worst = 0, worst_tol = 0, worst_ratio = 0;
  for (size_t j = 0; j < 4; ++j) {
    const double scale = j < 3 ? std::max(col_norm(a, j), col_norm(b, j))
                               : std::max({col_norm(a, 3), col_norm(b, 3), voxel});
    const double tol = std::max(1e-3 * scale, 1e-9);
    for (size_t i = 0; i < 3; ++i) {
      const double diff = std::abs(a[i][j] - b[i][j]);
      if (diff > tol && diff / tol > worst_ratio)
        worst_ratio = diff / tol, worst = diff, worst_tol = tol;
    }
  }
  const bool ok = worst_ratio == 0;
  if (!ok && why) {
    std::ostringstream s;
    s << "entries differ by up to " << worst << " (tolerance " << worst_tol << ")";
    *why = s.str();
  }
  return ok;
}

std::string CheckReport::text() const {
  std::ostringstream s;
  s << cases << (cases == 1 ? " case" : " cases") << " checked: " << errors.size()
    << (errors.size() == 1 ? " error, " : " errors, ") << warnings.size()
    << (warnings.size() == 1 ? " warning" : " warnings") << (ok() ? " (ok)" : "") << "\n";
  for (const auto& e : errors)
    s << "error: " << e.case_id << ": " << e.file << ": " << e.problem << "\n";
  for (const auto& w : warnings)
    s << "warning: " << w.case_id << ": " << w.file << ": " << w.problem << "\n";
  return s.str();
}

CheckReport check_dataset(const Dataset& d) {
  CheckReport r;
  std::vector<int64_t> class_voxels(size_t(std::max(d.classes, 0)), 0);
  for (const Case& c : d.cases) {
    ++r.cases;
    CaseChecker{d, r, class_voxels, c}.run();
  }
  for (size_t k = 1; k < class_voxels.size(); ++k)
    if (class_voxels[k] == 0) {
      const std::string name = k < d.class_names.size() ? " (" + d.class_names[k] + ")" : "";
      r.warnings.push_back(
          {"*", d.root, detail::concat("class ", k, name, " appears in no label")});
    }
  return r;
}

}  // namespace fdl
