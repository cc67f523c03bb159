#include "engine/data/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/io/atomic_file.h"
#include "engine/io/json_file.h"
#include "engine/io/json_int.h"

namespace fdl {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The name without its .nii/.nii.gz extension, or "" for a file that is not NIfTI by name.
std::string nifti_stem(const std::string& name) {
  for (const std::string ext : {".nii.gz", ".nii"})
    if (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0)
      return name.substr(0, name.size() - ext.size());
  return "";
}

// The NIfTI files of a directory (hidden ones, such as the "._x" debris that macOS leaves
// in MSD archives, skipped), by name.
std::vector<fs::path> nifti_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name[0] != '.' && !nifti_stem(name).empty() && fs::is_regular_file(e.path())) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Files a dataset needs but lacks, reported together so that one run lists every gap.
struct Missing {
  std::vector<std::string> items;
  void need(const fs::path& p, const std::string& what) {
    if (!fs::is_regular_file(p)) items.push_back(what + " " + p.string() + " does not exist");
  }
  void raise() const {
    if (items.empty()) return;
    std::string msg = items[0];
    if (items.size() > 1)
      msg += detail::concat(" (and ", items.size() - 1, items.size() == 2 ? " more missing file:" : " more missing files:");
    for (size_t i = 1; i < items.size(); ++i) msg += (i > 1 ? "; " : " ") + items[i];
    if (items.size() > 1) msg += ")";
    throw Error(msg);
  }
};

// {"0": name, "1": ...} or {name: 0, ...} as names ordered by index; the indices must be
// exactly 0..n-1.
std::vector<std::string> by_index(const std::map<int, std::string>& m, const std::string& file, const char* field) {
  std::vector<std::string> names;
  for (const auto& [i, name] : m) {
    FDL_CHECK(i == int(names.size()), file, ": '", field, "' indices must be 0..", m.size() - 1, ", index ",
              names.size(), " is missing");
    names.push_back(name);
  }
  return names;
}

int parse_index(const std::string& key, const std::string& file, const char* field) {
  size_t used = 0;
  int i = -1;
  try {
    i = std::stoi(key, &used);
  } catch (const std::exception&) {
  }
  FDL_CHECK(used == key.size() && i >= 0, file, ": '", field, "' key \"", key, "\" is not an index");
  return i;
}

// An MSD index map {"0": "background", "1": ...}.
std::vector<std::string> index_map(const json& j, const std::string& file, const char* field) {
  FDL_CHECK(j.is_object() && !j.empty(), file, ": '", field, "' must be a non-empty object {\"0\": name, ...}");
  std::map<int, std::string> m;
  for (const auto& [key, value] : j.items())
    m[parse_index(key, file, field)] = value.is_string() ? value.get<std::string>() : value.dump();
  return by_index(m, file, field);
}

// An nnU-Net v2 label map {"background": 0, "name": 1, ...}.
std::vector<std::string> name_map(const json& j, const std::string& file) {
  FDL_CHECK(j.is_object() && !j.empty(), file, ": 'labels' must be a non-empty object {name: index, ...}");
  std::map<int, std::string> m;
  for (const auto& [name, value] : j.items()) {
    FDL_CHECK(!value.is_array(), file, ": label '", name,
              "' is a region (a list of indices); fdl trains one class per index, not region-based labels");
    // Compared as int64: get<int> would wrap 4294967297 to 1.
    FDL_CHECK(value.is_number_integer() && value.get<int64_t>() >= 0 &&
                  value.get<int64_t>() < kMaxClasses,
              file, ": label '", name, "' must map to an integer index in 0..", kMaxClasses - 1,
              ", got ", value.dump());
    FDL_CHECK(name != "ignore", file, ": nnU-Net's 'ignore' label is not supported");
    FDL_CHECK(!m.count(value.get<int>()), file, ": labels '", m[value.get<int>()], "' and '", name,
              "' share index ", value.get<int>());
    m[value.get<int>()] = name;
  }
  return by_index(m, file, "labels");
}

void set_classes(Dataset& d, std::vector<std::string> names, const std::string& file) {
  d.class_names = std::move(names);
  d.classes = int(d.class_names.size());
  FDL_CHECK(d.classes >= 2, file, ": 'labels' must name the background and at least one class");
  FDL_CHECK(d.classes <= kMaxClasses, file, ": 'labels' names ", d.classes,
            " classes; fdl writes masks as uint8 ", "and handles at most ", kMaxClasses);
}

// A path from dataset.json ("./imagesTr/x.nii.gz") made absolute against the dataset root.
std::string resolve(const fs::path& root, const json& entry, const char* key, const std::string& file, size_t index,
                    Missing& missing) {
  FDL_CHECK(entry.is_object() && entry.contains(key) && entry[key].is_string(), file, ": training[", index,
            "] has no '", key, "' path");
  const fs::path p = (root / entry[key].get<std::string>()).lexically_normal();
  missing.need(p, file + ": training[" + std::to_string(index) + "] " + key);
  return p.string();
}

void open_msd(Dataset& d, const json& j, const std::string& file) {
  const fs::path root = d.root;
  if (j.contains("modality")) d.channels = int(index_map(j["modality"], file, "modality").size());
  FDL_CHECK(j.contains("labels"), file, ": no 'labels' map");
  set_classes(d, index_map(j["labels"], file, "labels"), file);
  const json& training = j["training"];
  FDL_CHECK(training.is_array(), file, ": 'training' must be a list of {image, label}");
  FDL_CHECK(!training.empty(), file, ": the training list is empty");
  Missing missing;
  for (size_t i = 0; i < training.size(); ++i) {
    Case c;
    c.image = resolve(root, training[i], "image", file, i, missing);
    c.label = resolve(root, training[i], "label", file, i, missing);
    c.id = nifti_stem(fs::path(c.image).filename().string());
    FDL_CHECK(!c.id.empty(), file, ": training[", i, "] image ", c.image, " is not a .nii or .nii.gz file");
    d.cases.push_back(std::move(c));
  }
  missing.raise();
}

}  // namespace

std::string nnunet_channel_stem(const std::string& id, int channel) {
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "_%04d", channel);
  return id + suffix;
}

namespace {

void open_nnunet(Dataset& d, const json& j, const std::string& file) {
  const fs::path root = d.root;
  FDL_CHECK(j.contains("channel_names"), file, ": no 'channel_names' map");
  d.channels = int(index_map(j["channel_names"], file, "channel_names").size());
  FDL_CHECK(j.contains("labels"), file, ": no 'labels' map");
  set_classes(d, name_map(j["labels"], file), file);
  FDL_CHECK(j.contains("file_ending") && j["file_ending"].is_string(), file, ": no 'file_ending'");
  const std::string ending = j["file_ending"].get<std::string>();
  FDL_CHECK(ending == ".nii.gz" || ending == ".nii", file, ": file_ending '", ending,
            "' is not supported (fdl reads .nii and .nii.gz)");
  FDL_CHECK(fs::is_directory(root / "imagesTr"), (root / "imagesTr").string(), ": no such directory");

  const std::string first = "_0000" + ending;
  Missing missing;
  for (const fs::path& f : nifti_files(root / "imagesTr")) {
    const std::string name = f.filename().string();
    if (name.size() <= first.size() || name.compare(name.size() - first.size(), first.size(), first) != 0) continue;
    Case c;
    c.id = name.substr(0, name.size() - first.size());
    for (int ch = 0; ch < d.channels; ++ch) {
      const fs::path p = root / "imagesTr" / (nnunet_channel_stem(c.id, ch) + ending);
      missing.need(p, "case " + c.id + " channel " + std::to_string(ch) + ":");
      c.channel_files.push_back(p.string());
    }
    c.image = c.channel_files[0];
    const fs::path label = root / "labelsTr" / (c.id + ending);
    missing.need(label, "case " + c.id + " label:");
    c.label = label.string();
    d.cases.push_back(std::move(c));
  }
  FDL_CHECK(!d.cases.empty(), (root / "imagesTr").string(), ": no files named <case>", first);
  missing.raise();
  if (j.contains("numTraining")) {
    const json& n_json = j["numTraining"];
    FDL_CHECK(n_json.is_number_integer() && io::json_integers_fit<int>(n_json), file,
              ": 'numTraining' must be an integer");
    const int n = n_json.get<int>();
    FDL_CHECK(n == int(d.cases.size()), file, ": numTraining is ", n, " but imagesTr holds ", d.cases.size(),
              " cases (files <case>", first, ")");
  }
}

void open_plain(Dataset& d) {
  const fs::path root = d.root, images = root / "imagesTr", labels = root / "labelsTr";
  std::map<std::string, fs::path> label_of;
  for (const fs::path& f : nifti_files(labels)) label_of[nifti_stem(f.filename().string())] = f;
  Missing missing;
  for (const fs::path& f : nifti_files(images)) {
    Case c;
    c.id = nifti_stem(f.filename().string());
    c.image = f.string();
    const auto it = label_of.find(c.id);
    if (it == label_of.end())
      missing.need(labels / f.filename(), "case " + c.id + " label:");
    else
      c.label = it->second.string();
    d.cases.push_back(std::move(c));
  }
  FDL_CHECK(!d.cases.empty(), images.string(), ": holds no .nii or .nii.gz files");
  missing.raise();

  // The channels from the first image that reads, the classes from the largest label value.
  // Unreadable files are skipped here; the integrity check reports them.
  for (const Case& c : d.cases) {
    try {
      const Volume v = read_nifti(c.image);
      d.channels = v.data.ndim() == 4 ? int(v.data.size(0)) : 1;
      break;
    } catch (const Error&) {
    }
  }
  float top = 0;
  int read = 0;
  for (const Case& c : d.cases) {
    try {
      const Volume v = read_nifti(c.label);
      const float* p = v.data.data<float>();
      for (int64_t i = 0; i < v.data.numel(); ++i)
        if (std::isfinite(p[i])) top = std::max(top, p[i]);
      ++read;
    } catch (const Error&) {
    }
  }
  FDL_CHECK(read > 0, labels.string(), ": no label file could be read to infer the classes");
  FDL_CHECK(top <= 255, labels.string(), ": the largest label value is ", top,
            ", not a plausible class index (is an image in labelsTr/?)");
  d.classes = std::max(2, int(std::floor(top)) + 1);
  d.class_names = {"background"};
  for (int k = 1; k < d.classes; ++k) d.class_names.push_back("class_" + std::to_string(k));
  std::fprintf(stderr, "fdl: %s has no dataset.json: %d classes (0..%d) inferred from the largest label value in %d label files\n",
               root.string().c_str(), d.classes, d.classes - 1, read);
}

}  // namespace

Dataset open_dataset(const std::string& dir) {
  FDL_CHECK(fs::is_directory(dir), dir, ": no such dataset directory");
  const fs::path root = fs::absolute(dir).lexically_normal();
  const std::string file = (root / "dataset.json").string();
  Dataset d;
  d.root = root.string();
  if (!fs::exists(file)) {
    FDL_CHECK(fs::is_directory(root / "imagesTr") && fs::is_directory(root / "labelsTr"), file,
              ": missing, and there are no imagesTr/ and labelsTr/ directories (fdl reads the MSD and nnU-Net v2 "
              "layouts with a dataset.json, or imagesTr/ and labelsTr/ of matching names)");
    d.layout = "plain";
    open_plain(d);
    return d;
  }
  const json j = io::read_json(file);
  FDL_CHECK(j.is_object(), file, ": expected a JSON object");
  if (j.contains("channel_names")) {
    d.layout = "nnunet";
    open_nnunet(d, j, file);
  } else {
    FDL_CHECK(j.contains("training"), file,
              ": neither an MSD dataset.json (no 'training' list) nor an nnU-Net v2 one (no 'channel_names')");
    d.layout = "msd";
    open_msd(d, j, file);
  }
  return d;
}

Volume read_case_image(const Case& c) {
  if (c.channel_files.empty()) {
    Volume v = read_nifti(c.image);
    if (v.data.ndim() == 3) v.data = v.data.reshape({1, v.data.size(0), v.data.size(1), v.data.size(2)});
    return v;
  }
  Volume v = read_nifti(c.channel_files[0]);
  FDL_CHECK(v.data.ndim() == 3, c.channel_files[0], ": a channel file must be 3-D, got ", v.data.shape().str());
  const Shape spatial = v.data.shape();
  const int64_t C = int64_t(c.channel_files.size()), n = spatial.numel();
  Tensor all = Tensor::empty({C, spatial[0], spatial[1], spatial[2]});
  std::copy(v.data.data<float>(), v.data.data<float>() + n, all.data<float>());
  for (int64_t ch = 1; ch < C; ++ch) {
    const std::string& f = c.channel_files[size_t(ch)];
    const Volume w = read_nifti(f);
    FDL_CHECK(w.data.shape() == spatial, f, " ", w.data.shape().str(), " and ", c.channel_files[0], " ",
              spatial.str(), " differ in shape (the channels of a case must share one grid)");
    std::copy(w.data.data<float>(), w.data.data<float>() + n, all.data<float>() + ch * n);
  }
  v.data = all;
  return v;
}

Sample load_case(const Case& c, const Preprocess& p, int classes) {
  const Volume img = read_case_image(c);
  const Volume lab = read_nifti(c.label);
  const Tensor& x = img.data;
  const Shape spatial{x.size(1), x.size(2), x.size(3)};
  FDL_CHECK(lab.data.ndim() == 3, c.label, ": a label map must be 3-D, got ", lab.data.shape().str());
  FDL_CHECK(lab.data.shape() == spatial, c.image, " ", spatial.str(), " and ", c.label, " ",
            lab.data.shape().str(), " differ in shape");

  // Labels: integers in [0, classes), checked before any resizing can hide a bad value.
  const int64_t n = spatial.numel();
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

  Prepared pr = prepare(x, labels, p);
  return Sample{c.id, std::move(pr.image), std::move(pr.label)};
}

Sample load_case(const Case& c, std::array<int64_t, 3> shape, int classes) {
  return load_case(c, Preprocess{shape}, classes);
}

}  // namespace fdl
