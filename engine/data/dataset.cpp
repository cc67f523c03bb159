#include "engine/data/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/data/dataset_files.h"
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

// The NIfTI-named entries of a directory, by name, whatever they are: a dangling symlink or a
// directory named x.nii.gz is listed for DatasetFiles::admit to report, never left out. Hidden
// names, such as the "._x" debris that macOS leaves in MSD archives, are skipped.
std::vector<fs::path> nifti_files(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name[0] != '.' && !nifti_stem(name).empty()) out.push_back(it->path());
  }
  FDL_CHECK(!ec, dir.string(), ": cannot be listed: ", io::errno_text(ec.value()));
  std::sort(out.begin(), out.end());
  return out;
}

// {"0": name, "1": ...} or {name: 0, ...} as names ordered by index; the indices must be
// exactly 0..n-1.
std::vector<std::string> by_index(const std::map<int, std::string>& m, const std::string& file,
                                  const char* field) {
  std::vector<std::string> names;
  for (const auto& [i, name] : m) {
    FDL_CHECK(i == int(names.size()), file, ": '", field, "' indices must be 0..", m.size() - 1,
              ", index ", names.size(), " is missing");
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
  FDL_CHECK(used == key.size() && i >= 0, file, ": '", field, "' key \"", key,
            "\" is not an index");
  return i;
}

// An MSD index map {"0": "background", "1": ...}.
std::vector<std::string> index_map(const json& j, const std::string& file, const char* field) {
  FDL_CHECK(j.is_object() && !j.empty(), file, ": '", field,
            "' must be a non-empty object {\"0\": name, ...}");
  std::map<int, std::string> m;
  for (const auto& [key, value] : j.items())
    m[parse_index(key, file, field)] = value.is_string() ? value.get<std::string>() : value.dump();
  return by_index(m, file, field);
}

// An nnU-Net v2 label map {"background": 0, "name": 1, ...}.
std::vector<std::string> name_map(const json& j, const std::string& file) {
  FDL_CHECK(j.is_object() && !j.empty(), file,
            ": 'labels' must be a non-empty object {name: index, ...}");
  std::map<int, std::string> m;
  for (const auto& [name, value] : j.items()) {
    FDL_CHECK(!value.is_array(), file, ": label '", name,
              "' is a region (a list of indices); fdl trains one class per index, not region-based "
              "labels");
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
std::string entry_path(const fs::path& root, const json& entry, const char* key,
                       const std::string& file, size_t index) {
  FDL_CHECK(entry.is_object() && entry.contains(key) && entry[key].is_string(), file, ": training[",
            index, "] has no '", key, "' path");
  return (root / entry[key].get<std::string>()).lexically_normal().string();
}

// Records case `id` at `where`; false, with a problem, when it is there already: splits.json
// names cases by id, so ids must be unique.
bool once(std::map<std::string, std::string>& ids, const std::string& id, const std::string& where,
          const std::string& prefix, DatasetFiles& files) {
  const auto [at, fresh] = ids.emplace(id, where);
  if (!fresh)
    files.problem(prefix + "case '" + id + "' appears twice, as " + at->second + " and " + where +
                  " (case ids must be unique)");
  return fresh;
}

// A test file whose case is trained on, by its id or as the same file: it would leak into the
// test set.
void not_trained_on(const std::string& path, const std::string& id, const std::string& what,
                    const std::map<std::string, std::string>& train_ids, DatasetFiles& files) {
  const std::string leak = ": a test case must not be trained on";
  const auto it = train_ids.find(id);
  if (it != train_ids.end()) {
    files.problem(what + " " + path + " is training case '" + id + "' (" + it->second + ") too" +
                  leak);
    return;
  }
  const std::optional<FileIdentity> fid = file_identity(path);
  if (const std::string* twin = fid ? files.admitted(*fid) : nullptr)
    files.problem(what + " " + path + " is the same file as " + *twin + leak);
}

// The test files in imagesTs/ and labelsTs/ (of any layout), which fdl does not read. With
// `channels`, imagesTs/ names are nnU-Net's <case>_0000<ending>.
void check_test_dirs(const fs::path& root, bool channels,
                     const std::map<std::string, std::string>& train_ids, DatasetFiles& files) {
  for (const std::string sub : {"imagesTs", "labelsTs"}) {
    std::error_code ec;
    if (!fs::is_directory(root / sub, ec)) continue;
    for (const fs::path& f : nifti_files(root / sub)) {
      std::string id = nifti_stem(f.filename().string());
      const auto digit = [](char ch) { return ch >= '0' && ch <= '9'; };
      if (channels && sub == "imagesTs" && id.size() > 5 && id[id.size() - 5] == '_' &&
          std::all_of(id.end() - 4, id.end(), digit))
        id.resize(id.size() - 5);
      not_trained_on(f.string(), id, "test file", train_ids, files);
    }
  }
}

void open_msd(Dataset& d, const json& j, const std::string& file, DatasetFiles& files) {
  const fs::path root = d.root;
  if (j.contains("modality")) d.channels = int(index_map(j["modality"], file, "modality").size());
  FDL_CHECK(j.contains("labels"), file, ": no 'labels' map");
  set_classes(d, index_map(j["labels"], file, "labels"), file);
  const json& training = j["training"];
  FDL_CHECK(training.is_array(), file, ": 'training' must be a list of {image, label}");
  FDL_CHECK(!training.empty(), file, ": the training list is empty");
  std::map<std::string, std::string> ids;
  for (size_t i = 0; i < training.size(); ++i) {
    const std::string entry = file + ": training[" + std::to_string(i) + "]";
    Case c;
    c.image = entry_path(root, training[i], "image", file, i);
    c.label = entry_path(root, training[i], "label", file, i);
    c.id = nifti_stem(fs::path(c.image).filename().string());
    FDL_CHECK(!c.id.empty(), entry, " image ", c.image, " is not a .nii or .nii.gz file");
    files.admit(c.image, entry + " image");
    files.admit(c.label, entry + " label");
    once(ids, c.id, "training[" + std::to_string(i) + "]", file + ": ", files);
    d.cases.push_back(std::move(c));
  }
  // MSD's `test` list: image paths, or {"image": path} as some converters write.
  if (j.contains("test")) {
    const json& test = j["test"];
    FDL_CHECK(test.is_array(), file, ": 'test' must be a list of image paths");
    for (size_t i = 0; i < test.size(); ++i) {
      const json& t = test[i].is_object() && test[i].contains("image") ? test[i]["image"] : test[i];
      FDL_CHECK(t.is_string(), file, ": test[", i, "] is not an image path");
      const fs::path p = (root / t.get<std::string>()).lexically_normal();
      not_trained_on(p.string(), nifti_stem(p.filename().string()),
                     file + ": test[" + std::to_string(i) + "]", ids, files);
    }
  }
  check_test_dirs(root, false, ids, files);
  files.raise();
}

}  // namespace

std::string nnunet_channel_stem(const std::string& id, int channel) {
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "_%04d", channel);
  return id + suffix;
}

namespace {

void open_nnunet(Dataset& d, const json& j, const std::string& file, DatasetFiles& files) {
  const fs::path root = d.root;
  FDL_CHECK(j.contains("channel_names"), file, ": no 'channel_names' map");
  d.channels = int(index_map(j["channel_names"], file, "channel_names").size());
  FDL_CHECK(j.contains("labels"), file, ": no 'labels' map");
  set_classes(d, name_map(j["labels"], file), file);
  FDL_CHECK(j.contains("file_ending") && j["file_ending"].is_string(), file, ": no 'file_ending'");
  const std::string ending = j["file_ending"].get<std::string>();
  FDL_CHECK(ending == ".nii.gz" || ending == ".nii", file, ": file_ending '", ending,
            "' is not supported (fdl reads .nii and .nii.gz)");
  std::error_code ec;
  FDL_CHECK(fs::is_directory(root / "imagesTr", ec), (root / "imagesTr").string(),
            ": no such directory");

  const std::string first = "_0000" + ending;
  std::map<std::string, std::string> ids;  // unique by construction: one file name each
  for (const fs::path& f : nifti_files(root / "imagesTr")) {
    const std::string name = f.filename().string();
    if (name.size() <= first.size() ||
        name.compare(name.size() - first.size(), first.size(), first) != 0)
      continue;
    Case c;
    c.id = name.substr(0, name.size() - first.size());
    for (int ch = 0; ch < d.channels; ++ch) {
      const fs::path p = root / "imagesTr" / (nnunet_channel_stem(c.id, ch) + ending);
      files.admit(p.string(), "case " + c.id + " channel " + std::to_string(ch) + ":");
      c.channel_files.push_back(p.string());
    }
    c.image = c.channel_files[0];
    const fs::path label = root / "labelsTr" / (c.id + ending);
    files.admit(label.string(), "case " + c.id + " label:");
    c.label = label.string();
    ids.emplace(c.id, f.string());
    d.cases.push_back(std::move(c));
  }
  FDL_CHECK(!d.cases.empty(), (root / "imagesTr").string(), ": no files named <case>", first);
  check_test_dirs(root, true, ids, files);
  files.raise();
  if (j.contains("numTraining")) {
    const json& n_json = j["numTraining"];
    FDL_CHECK(n_json.is_number_integer() && io::json_integers_fit<int>(n_json), file,
              ": 'numTraining' must be an integer");
    const int n = n_json.get<int>();
    FDL_CHECK(n == int(d.cases.size()), file, ": numTraining is ", n, " but imagesTr holds ",
              d.cases.size(), " cases (files <case>", first, ")");
  }
}

void open_plain(Dataset& d, DatasetFiles& files) {
  const fs::path root = d.root, images = root / "imagesTr", labels = root / "labelsTr";
  // A case is a file stem: x.nii and x.nii.gz side by side would be one case twice.
  std::map<std::string, std::string> label_of, ids;
  for (const fs::path& f : nifti_files(labels)) {
    const std::string id = nifti_stem(f.filename().string());
    const auto [at, fresh] = label_of.emplace(id, f.string());
    if (!fresh)
      files.problem("case '" + id + "' has two labels, " + at->second + " and " + f.string());
  }
  for (const fs::path& f : nifti_files(images)) {
    Case c;
    c.id = nifti_stem(f.filename().string());
    c.image = f.string();
    const auto it = label_of.find(c.id);
    c.label = it == label_of.end() ? (labels / f.filename()).string() : it->second;
    if (!once(ids, c.id, c.image, "", files)) continue;  // its label is the first one's
    files.admit(c.image, "case " + c.id + " image:");
    files.admit(c.label, "case " + c.id + " label:");
    d.cases.push_back(std::move(c));
  }
  FDL_CHECK(!d.cases.empty(), images.string(), ": holds no .nii or .nii.gz files");
  check_test_dirs(root, false, ids, files);
  files.raise();

  // The channels from the first image that reads, the classes from the largest label value.
  // Files that do not read as NIfTI are skipped here; the integrity check reports them.
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
  std::fprintf(stderr,
               "fdl: %s has no dataset.json: %d classes (0..%d) inferred from the largest label "
               "value in %d label files\n",
               root.string().c_str(), d.classes, d.classes - 1, read);
}

}  // namespace

Dataset open_dataset(const std::string& dir, const DatasetOptions& options) {
  std::error_code ec;
  FDL_CHECK(fs::is_directory(dir, ec), dir, ": no such dataset directory");
  const fs::path root = fs::absolute(dir).lexically_normal();
  const std::string file = (root / "dataset.json").string();
  Dataset d;
  d.root = root.string();
  DatasetFiles files(d.root, options.allow_outside_paths);
  // symlink_status: a dangling dataset.json is an error when read, not a missing one.
  if (!fs::exists(fs::symlink_status(file, ec))) {
    FDL_CHECK(fs::is_directory(root / "imagesTr", ec) && fs::is_directory(root / "labelsTr", ec),
              file,
              ": missing, and there are no imagesTr/ and labelsTr/ directories (fdl reads the MSD "
              "and nnU-Net v2 "
              "layouts with a dataset.json, or imagesTr/ and labelsTr/ of matching names)");
    d.layout = "plain";
    open_plain(d, files);
    return d;
  }
  const json j = io::read_json(file);
  FDL_CHECK(j.is_object(), file, ": expected a JSON object");
  if (j.contains("channel_names")) {
    d.layout = "nnunet";
    open_nnunet(d, j, file, files);
  } else {
    FDL_CHECK(j.contains("training"), file,
              ": neither an MSD dataset.json (no 'training' list) nor an nnU-Net v2 one (no "
              "'channel_names')");
    d.layout = "msd";
    open_msd(d, j, file, files);
  }
  return d;
}

Volume read_case_image(const Case& c) {
  if (c.channel_files.empty()) {
    Volume v = read_nifti(c.image);
    if (v.data.ndim() == 3)
      v.data = v.data.reshape({1, v.data.size(0), v.data.size(1), v.data.size(2)});
    return v;
  }
  Volume v = read_nifti(c.channel_files[0]);
  FDL_CHECK(v.data.ndim() == 3, c.channel_files[0], ": a channel file must be 3-D, got ",
            v.data.shape().str());
  const Shape spatial = v.data.shape();
  const int64_t C = int64_t(c.channel_files.size()), n = spatial.numel();
  Tensor all = Tensor::empty({C, spatial[0], spatial[1], spatial[2]});
  std::copy(v.data.data<float>(), v.data.data<float>() + n, all.data<float>());
  for (int64_t ch = 1; ch < C; ++ch) {
    const std::string& f = c.channel_files[size_t(ch)];
    const Volume w = read_nifti(f);
    FDL_CHECK(w.data.shape() == spatial, f, " ", w.data.shape().str(), " and ", c.channel_files[0],
              " ", spatial.str(), " differ in shape (the channels of a case must share one grid)");
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
  FDL_CHECK(lab.data.ndim() == 3, c.label, ": a label map must be 3-D, got ",
            lab.data.shape().str());
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
    throw Error(detail::concat(c.label, ": label value ", li[first_bad], " at voxel (",
                               first_bad / (Y * Z), ", ", first_bad / Z % Y, ", ", first_bad % Z,
                               ") is not a class in 0..", classes - 1));
  }

  Prepared pr = prepare(x, labels, p);
  return Sample{c.id, std::move(pr.image), std::move(pr.label)};
}

Sample load_case(const Case& c, std::array<int64_t, 3> shape, int classes) {
  return load_case(c, Preprocess{shape}, classes);
}

}  // namespace fdl
