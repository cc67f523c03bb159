#include "engine/data/dataset.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/data/resample.h"
#include "engine/io/atomic_file.h"
#include "engine/io/nifti.h"

namespace fdl {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// An MSD index map {"0": "background", "1": ...} as names ordered by index; the keys must be
// exactly 0..n-1.
std::vector<std::string> index_map(const json& j, const std::string& file, const char* field) {
  FDL_CHECK(j.is_object() && !j.empty(), file, ": '", field, "' must be a non-empty object {\"0\": name, ...}");
  std::map<int, std::string> by_index;
  for (const auto& [key, value] : j.items()) {
    size_t used = 0;
    int i = -1;
    try {
      i = std::stoi(key, &used);
    } catch (const std::exception&) {
    }
    FDL_CHECK(used == key.size() && i >= 0, file, ": '", field, "' key \"", key, "\" is not an index");
    by_index[i] = value.is_string() ? value.get<std::string>() : value.dump();
  }
  std::vector<std::string> names;
  for (const auto& [i, name] : by_index) {
    FDL_CHECK(i == int(names.size()), file, ": '", field, "' indices must be 0..", by_index.size() - 1,
              ", index ", names.size(), " is missing");
    names.push_back(name);
  }
  return names;
}

// A path from dataset.json ("./imagesTr/x.nii.gz") made absolute against the dataset root.
std::string resolve(const fs::path& root, const json& entry, const char* key, const std::string& file,
                    size_t index) {
  FDL_CHECK(entry.is_object() && entry.contains(key) && entry[key].is_string(), file, ": training[", index,
            "] has no '", key, "' path");
  const fs::path p = (root / entry[key].get<std::string>()).lexically_normal();
  FDL_CHECK(fs::is_regular_file(p), file, ": training[", index, "] ", key, " ", p.string(), " does not exist");
  return p.string();
}

std::string case_id(const std::string& image_path) {
  std::string name = fs::path(image_path).filename().string();
  for (const std::string ext : {".nii.gz", ".nii"})
    if (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0)
      return name.substr(0, name.size() - ext.size());
  return name;
}

}  // namespace

Dataset open_dataset(const std::string& dir) {
  FDL_CHECK(fs::is_directory(dir), dir, ": no such dataset directory");
  const fs::path root = fs::absolute(dir).lexically_normal();
  const std::string file = (root / "dataset.json").string();
  FDL_CHECK(fs::is_regular_file(file), file, ": missing (fdl reads the MSD layout: dataset.json, imagesTr/, labelsTr/)");
  json j;
  try {
    j = json::parse(io::read_file(file));
  } catch (const json::exception& e) {
    throw Error(file + ": not valid JSON: " + e.what());
  }
  FDL_CHECK(j.is_object(), file, ": expected a JSON object");

  Dataset d;
  d.root = root.string();
  if (j.contains("modality")) d.channels = int(index_map(j["modality"], file, "modality").size());
  FDL_CHECK(j.contains("labels"), file, ": no 'labels' map");
  d.class_names = index_map(j["labels"], file, "labels");
  d.classes = int(d.class_names.size());
  FDL_CHECK(d.classes >= 2, file, ": 'labels' must name the background and at least one class");

  FDL_CHECK(j.contains("training") && j["training"].is_array(), file, ": no 'training' list");
  const json& training = j["training"];
  FDL_CHECK(!training.empty(), file, ": the training list is empty");
  for (size_t i = 0; i < training.size(); ++i) {
    Case c;
    c.image = resolve(root, training[i], "image", file, i);
    c.label = resolve(root, training[i], "label", file, i);
    c.id = case_id(c.image);
    d.cases.push_back(std::move(c));
  }
  return d;
}

Sample load_case(const Case& c, std::array<int64_t, 3> shape, int classes) {
  const Volume img = read_nifti(c.image);
  const Volume lab = read_nifti(c.label);
  const Tensor& x = img.data;
  const Shape spatial{x.size(-3), x.size(-2), x.size(-1)};
  FDL_CHECK(lab.data.ndim() == 3, c.label, ": a label map must be 3-D, got ", lab.data.shape().str());
  FDL_CHECK(lab.data.shape() == spatial, c.image, " ", spatial.str(), " and ", c.label, " ",
            lab.data.shape().str(), " differ in shape");

  const int64_t C = x.ndim() == 4 ? x.size(0) : 1, n = spatial.numel();
  const float* xi = x.data<float>();
  int64_t bad = 0;
#pragma omp parallel for reduction(+ : bad) schedule(static)
  for (int64_t i = 0; i < C * n; ++i) bad += std::isfinite(xi[i]) ? 0 : 1;
  FDL_CHECK(bad == 0, c.image, ": ", bad, " voxels are NaN or Inf");

  // Labels: integers in [0, classes), checked before any resizing can hide a bad value.
  Tensor labels = Tensor::empty(spatial, DType::I32);
  const float* li = lab.data.data<float>();
  int32_t* lo = labels.data<int32_t>();
  int64_t first_bad = -1;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float v = li[i];
    if (v >= 0 && v < float(classes) && v == std::floor(v)) {
      lo[i] = int32_t(v);
    } else {
#pragma omp critical
      if (first_bad < 0 || i < first_bad) first_bad = i;
    }
  }
  if (first_bad >= 0) {
    const int64_t Y = spatial[1], Z = spatial[2];
    throw Error(detail::concat(c.label, ": label value ", li[first_bad], " at voxel (", first_bad / (Y * Z), ", ",
                               first_bad / Z % Y, ", ", first_bad % Z, ") is not a class in 0..", classes - 1));
  }

  Sample s;
  s.id = c.id;
  s.image = resize_trilinear(x.reshape({C, spatial[0], spatial[1], spatial[2]}), shape);
  s.label = resize_nearest(labels, shape);

  // Min-max per channel; a constant channel carries no information and becomes zeros.
  const int64_t m = shape[0] * shape[1] * shape[2];
  for (int64_t ch = 0; ch < C; ++ch) {
    float* v = s.image.data<float>() + ch * m;
    float lo_v = v[0], hi_v = v[0];
#pragma omp parallel for reduction(min : lo_v) reduction(max : hi_v) schedule(static)
    for (int64_t i = 0; i < m; ++i) lo_v = std::min(lo_v, v[i]), hi_v = std::max(hi_v, v[i]);
    const float range = hi_v - lo_v, inv = range > 0 ? 1.0f / range : 0.0f;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < m; ++i) v[i] = std::min(1.0f, (v[i] - lo_v) * inv);
  }
  return s;
}

}  // namespace fdl
