#include "train/predict.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "engine/autograd.h"
#include "engine/data/patch.h"
#include "engine/io/output_dir.h"
#include "engine/metrics/report.h"
#include "engine/metrics/segmentation.h"
#include "engine/nn/module.h"
#include "engine/ops/elementwise.h"
#include "train/device_option.h"
#include "train/montage.h"
#include "train/native_grid.h"
#include "train/sliding_window.h"

namespace fdl::train {

namespace fs = std::filesystem;

namespace {

constexpr int kMontageCases = 3;

// "case_001.nii.gz" -> "case_001"; empty when the name is not .nii or .nii.gz.
std::string nifti_stem(const fs::path& p) {
  const std::string name = p.filename().string();
  for (const std::string ext : {".nii.gz", ".nii"})
    if (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0)
      return name.substr(0, name.size() - ext.size());
  return {};
}

// The input files: each file as given, each directory's .nii/.nii.gz files in name order.
std::vector<fs::path> list_inputs(const std::vector<std::string>& inputs) {
  FDL_CHECK(!inputs.empty(), "predict: no INPUT given (NIfTI files or directories of them)");
  std::vector<fs::path> out;
  for (const std::string& in : inputs) {
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::directory_iterator(in))
        if (e.is_regular_file() && !nifti_stem(e.path()).empty()) files.push_back(e.path());
      FDL_CHECK(!files.empty(), in, ": the directory holds no .nii or .nii.gz file");
      std::sort(files.begin(), files.end());
      out.insert(out.end(), files.begin(), files.end());
    } else {
      FDL_CHECK(fs::exists(in, ec), in, ": no such file or directory");
      FDL_CHECK(!nifti_stem(in).empty(), in, ": not a NIfTI file name (.nii or .nii.gz)");
      out.emplace_back(in);
    }
  }
  return out;
}

// One prediction: the name it is written under, the case whose image it reads, and the file
// to name in messages.
struct Input {
  std::string name;
  Case image;
  std::string shown;
};

// "<case>_0001" -> 1 (nnU-Net's channel suffix); -1 for any other stem.
int channel_suffix(const std::string& stem) {
  const size_t n = stem.size();
  if (n < 6 || stem[n - 5] != '_') return -1;
  for (size_t i = n - 4; i < n; ++i)
    if (stem[i] < '0' || stem[i] > '9') return -1;
  return std::stoi(stem.substr(n - 4));
}

// With a run of C > 1 channels, nnU-Net's channel files <case>_0000 ... <case>_000{C-1} become
// one input named <case> (in the order of their first file); any other file is one input.
// A case missing a channel file, or with an index >= C, is an fdl::Error naming it.
std::vector<Input> group_channels(const std::vector<fs::path>& files, int channels) {
  std::vector<Input> out;
  std::map<std::string, size_t> group_of;  // case -> index in out
  std::map<std::string, std::map<int, fs::path>> groups;
  for (const fs::path& f : files) {
    const std::string stem = nifti_stem(f);
    const int ch = channels > 1 ? channel_suffix(stem) : -1;
    if (ch < 0) {
      out.push_back({stem, Case{stem, f.string(), "", {}}, f.string()});
      continue;
    }
    const std::string id = stem.substr(0, stem.size() - 5);
    FDL_CHECK(ch < channels, f.string(), ": channel ", ch, " of case ", id,
              ", but the run was trained on ", channels, " channels (", nnunet_channel_stem(id, 0),
              " to ", nnunet_channel_stem(id, channels - 1), ")");
    FDL_CHECK(groups[id].emplace(ch, f).second, f.string(), ": channel ", ch, " of case ", id,
              " is given twice");
    if (group_of.emplace(id, out.size()).second) out.push_back({id, Case{id, "", "", {}}, ""});
  }
  for (auto& [id, chans] : groups) {
    Input& in = out[group_of.at(id)];
    const fs::path& first = chans.begin()->second;
    for (int c = 0; c < channels; ++c) {
      const auto it = chans.find(c);
      FDL_CHECK(it != chans.end(), "case ", id, ": no channel file ", c, " (",
                nnunet_channel_stem(id, c), ") beside ", first.string(), "; a run of ", channels,
                " channels needs all of them");
      in.image.channel_files.push_back(it->second.string());
    }
    in.image.image = in.image.channel_files[0];
    in.shown = in.image.image + " (+" + std::to_string(channels - 1) + " channel files)";
  }
  return out;
}

}  // namespace

Tensor argmax_classes(const Tensor& logits) {
  const int64_t k = logits.size(0), n = logits.numel() / k;
  Tensor out = Tensor::empty({logits.size(1), logits.size(2), logits.size(3)}, DType::I32);
  const float* l = logits.data<float>();
  int32_t* o = out.data<int32_t>();
#pragma omp parallel for
  for (int64_t i = 0; i < n; ++i) {
    int32_t best = 0;
    for (int64_t c = 1; c < k; ++c)
      if (l[c * n + i] > l[best * n + i]) best = int32_t(c);
    o[i] = best;
  }
  return out;
}

Tensor softmax_classes(const Tensor& logits) {
  const int64_t k = logits.size(0), n = logits.numel() / k;
  Tensor out = Tensor::empty(logits.shape());
  const float* l = logits.data<float>();
  float* p = out.data<float>();
#pragma omp parallel for
  for (int64_t i = 0; i < n; ++i) {
    float top = l[i];
    for (int64_t c = 1; c < k; ++c) top = std::max(top, l[c * n + i]);
    double sum = 0;
    for (int64_t c = 0; c < k; ++c) sum += std::exp(double(l[c * n + i] - top));
    for (int64_t c = 0; c < k; ++c)
      p[c * n + i] = float(std::exp(double(l[c * n + i] - top)) / sum);
  }
  return out;
}

namespace {

// Label file values as int32 classes; fdl::Error naming the file for a value that is not one.
Tensor read_label(const std::string& path, int classes) {
  const Tensor v = read_nifti(path).data;
  FDL_CHECK(v.ndim() == 3, path, ": a label must be 3-D, got ", v.shape().str());
  Tensor out = Tensor::empty(v.shape(), DType::I32);
  const float* src = v.data<float>();
  int32_t* dst = out.data<int32_t>();
  for (int64_t i = 0; i < v.numel(); ++i) {
    const float x = src[i];
    FDL_CHECK(std::isfinite(x) && x == std::round(x) && x >= 0 && x < float(classes), path,
              ": label value ", x, " is not a class in 0..", classes - 1);
    dst[i] = int32_t(x);
  }
  return out;
}

}  // namespace

TrainedModel load_trained(const std::string& run_dir, Device device) {
  std::error_code ec;
  FDL_CHECK(fs::is_directory(run_dir, ec), run_dir, ": no such run directory");
  const std::string config = run_file(run_dir, "config.json"),
                    weights = run_file(run_dir, "model.safetensors");
  FDL_CHECK(fs::exists(config, ec), config, ": missing; is ", run_dir,
            " a directory written by fdl train?");
  FDL_CHECK(fs::exists(weights, ec), weights, ": missing; the run has not finished an epoch");
  TrainedModel m;
  m.config = read_config(config);
  m.pre = run_preprocess(m.config);
  ModelOptions mo;
  mo.in_channels = m.config.channels;
  mo.classes = m.config.classes;
  mo.base_filters = m.config.run.base_filters;
  mo.beta = m.config.run.beta;
  mo.centre = parse_kspace_centre(m.config.run.kspace_centre);
  Generator init(0);  // overwritten by the weights
  m.model = make_model(m.config.run.model, mo, init);
  load_parameters(*m.model, weights);
  m.model->to(device);
  m.model->train(false);
  return m;
}

Prediction predict_image(const TrainedModel& m, const Volume& image, bool probabilities) {
  FDL_CHECK(image.data.ndim() == 4 && image.data.size(0) == m.config.channels,
            "predict: the image must be (C, X, Y, Z) with C = ", m.config.channels,
            " (the run's channels), got ", image.data.shape().str());
  const RunSettings& run = m.config.run;
  const bool windows = run.recipe == "fdl";
  const Shape& n = image.data.shape();
  Prediction out;
  out.grid =
      windows ? native_preprocess(m.pre, {{n[1], n[2], n[3]}, image.spacing}, run.spacing) : m.pre;
  const Prepared p = prepare(image.data, Tensor(), out.grid);
  Tensor per_class;
  if (windows) {
    per_class =
        sliding_window_logits(*m.model, p.image, {run.patch, run.overlap, run.tta_mirror == "on"});
  } else {
    autograd::NoGrad no_grad;
    m.model->train(false);
    const Shape s = p.image.shape();
    const Device dev = m.model->named_parameters().front().second.device();
    const Tensor x = p.image.reshape({1, s[0], s[1], s[2], s[3]}).to(dev);
    const Tensor logits = m.model->forward(x).to(Device::CPU);
    per_class = logits.reshape({logits.size(1), logits.size(2), logits.size(3), logits.size(4)});
  }
  out.mask = restore_mask(argmax_classes(per_class), p.original_shape, out.grid);
  if (probabilities)
    out.probabilities = run.loss == "dice-ce" ? softmax_classes(per_class) : sigmoid(per_class);
  return out;
}

Volume model_grid_header(const Volume& input, const Preprocess& p) {
  const Shape& s = input.data.shape();
  const int first = s.ndim() == 4 ? 1 : 0;
  std::array<double, 3> scale{1, 1, 1}, shift{0, 0, 0};
  for (int a = 0; a < 3; ++a) {
    const int64_t n = s[first + a], t = p.shape[size_t(a)];
    if (p.fit == Fit::Resize) {
      scale[size_t(a)] = double(n) / double(t);
      shift[size_t(a)] = scale[size_t(a)] / 2 - 0.5;
    } else {
      shift[size_t(a)] = t >= n ? -double((t - n) / 2) : double((n - t) / 2);
    }
  }
  return regrid_header(input, scale, shift);
}

std::vector<std::string> predict_files(const PredictOptions& o) {
  const Device dev = parse_device(o.device);
  FDL_CHECK(!o.out_dir.empty(), "predict: -o OUT_DIR is required");
  const TrainedModel m = load_trained(o.run_dir, dev);
  const std::vector<Input> inputs = group_channels(list_inputs(o.inputs), m.config.channels);

  // Everything is read and checked before the first file is written.
  std::map<std::string, std::string> names;
  for (const Input& in : inputs) {
    const auto [it, fresh] = names.emplace(in.name, in.shown);
    FDL_CHECK(fresh, in.shown, " and ", it->second, " would both be written as ", in.name,
              ".nii.gz; predict them into different directories");
    const Volume v = read_case_image(in.image);
    FDL_CHECK(v.data.size(0) == m.config.channels, in.shown, ": has ", v.data.size(0),
              " channel(s) but the run was trained on ", m.config.channels,
              " (a multi-channel input is one 4-D file, channels last, or nnU-Net's <case>_0000, "
              "<case>_0001, ... files)");
  }
  std::vector<std::string> sources = o.inputs;
  sources.push_back(o.run_dir);
  const io::OutputDir out(o.out_dir, {sources, {}, o.overwrite});

  std::vector<std::string> written;
  for (const Input& in : inputs) {
    const std::string& name = in.name;
    const Volume v = read_case_image(in.image);
    const Prediction p = predict_image(m, v, o.probabilities);
    const std::string mask_path = (fs::path(o.out_dir) / (name + ".nii.gz")).string();
    write_nifti(mask_path, p.mask.to(DType::F32), v, NiftiOutType::UInt8);
    written.push_back(mask_path);
    if (o.probabilities) {
      const std::string prob_path = (fs::path(o.out_dir) / (name + "_prob.nii.gz")).string();
      write_nifti(prob_path, p.probabilities, model_grid_header(v, p.grid));
      written.push_back(prob_path);
    }
    std::printf("%s -> %s%s\n", in.shown.c_str(), mask_path.c_str(),
                o.probabilities ? " (+ _prob)" : "");
    std::fflush(stdout);
  }
  return written;
}

std::string evaluate_cases(const TrainedModel& m, const std::vector<Case>& cases,
                           const EvaluationFiles& out) {
  FDL_CHECK(!cases.empty(), "evaluate: no cases");
  std::vector<CaseMetrics> metrics;
  std::vector<MontageCase> montage;
  for (const Case& c : cases) {
    const Volume image = read_case_image(c);
    const Volume label_file = read_nifti(c.label);
    const Tensor label = read_label(c.label, m.config.classes);
    const Prediction p = predict_image(m, image);
    FDL_CHECK(p.mask.shape() == label.shape(), c.label, ": label shape ", label.shape().str(),
              " differs from its image's ", p.mask.shape().str());
    metrics.push_back({c.id, evaluate_case(p.mask, label, label_file.spacing, m.config.classes)});
    if (int(montage.size()) < kMontageCases) {
      montage.push_back({channel_volume(image.data, 0), label, p.mask});
    }
  }
  const std::string table = write_metrics_report(out.metrics_prefix, metrics, m.config.class_names);
  if (!out.montage_png.empty()) write_montage_png(out.montage_png, montage);
  return table;
}

}  // namespace fdl::train
