#pragma once
// Inference with a trained run (`fdl predict`) and the evaluation of held-out cases at the end
// of `fdl train`: the run's preprocessing (prepare), the network in eval mode without a tape,
// the argmax over the class logits (sigmoid is monotone, so it is also the argmax of the
// probabilities), and restore_mask back to the input's own grid. A paper-recipe run makes one
// full-volume pass on its --shape grid; an fdl-recipe run resamples the case to the run's
// spacing and slides its patch over it (sliding_window.h, with --tta-mirror), so memory on the
// device is bounded by the patch (config.json says which recipe).
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/data/preprocess.h"
#include "engine/io/nifti.h"
#include "models/seg_model.h"
#include "train/checkpoint.h"

namespace fdl::train {

struct TrainedModel {
  RunConfig config;
  Preprocess pre;
  std::shared_ptr<SegModel> model;
};

// Opens RUN_DIR/config.json and the best weights, RUN_DIR/model.safetensors, and puts the
// network on `device` (predict_image runs it there). fdl::Error naming the file when either
// is missing or does not match the network the config names.
TrainedModel load_trained(const std::string& run_dir, Device device = Device::CPU);

struct Prediction {
  Tensor mask;  // int32 (X, Y, Z) on the input's grid, values in [0, classes)
  // float32 (K, X', Y', Z') on the model grid: per class the sigmoid (a run trained with
  // soft-dice) or the softmax over the classes (dice-ce), as the loss read the logits.
  Tensor probabilities;
  Preprocess grid;  // how the input reached the model grid (model_grid_header)
};

// image: float32 (C, X, Y, Z) on its own grid, C = the run's channels, on the host, with its
// voxel size. The network runs on the device its weights are on; only the logits come back.
Prediction predict_image(const TrainedModel& m, const Volume& image, bool probabilities = false);

// float32 logits (K, X, Y, Z) -> int32 (X, Y, Z): the first class of the highest logit.
Tensor argmax_classes(const Tensor& logits);
// float32 logits (K, X, Y, Z) -> their softmax over K, per voxel.
Tensor softmax_classes(const Tensor& logits);

// The header of the model grid (Preprocess::shape) over an input: voxel (i, j, k) of the model
// grid sits at input voxel scale * (i, j, k) + shift. Resize (align_corners=False geometry):
// scale = n / t and shift = scale / 2 - 1/2, so the grid spans the input's field of view with
// larger (or smaller) voxels. CropPad: scale 1 and shift the crop offset (negative for a pad),
// the centring of preprocess.h. qform and sform follow; the spacing is scaled.
Volume model_grid_header(const Volume& input, const Preprocess& p);

struct PredictOptions {
  std::string run_dir, out_dir;
  // .nii/.nii.gz files, or directories of them. For a run of C > 1 channels, nnU-Net's
  // <case>_0000 ... <case>_000{C-1} files are grouped into one input named <case>.
  std::vector<std::string> inputs;
  bool probabilities = false;
  std::string device = "cpu";
  bool overwrite = false;  // out_dir may hold files fdl did not write (engine/io/output_dir.h)
};

// Writes OUT_DIR/<name>.nii.gz (uint8 mask, the input's header) for every input, and with
// `probabilities` OUT_DIR/<name>_prob.nii.gz (float32 (X', Y', Z', K), model_grid_header).
// Every input is read and checked (a NIfTI name, readable, the run's channels, no name
// clash) before anything is written; then OUT_DIR is claimed (engine/io/output_dir.h: not an
// input or the run, fdl's or `overwrite`, one writer) and each file appears atomically.
// Returns the paths.
std::vector<std::string> predict_files(const PredictOptions& o);

struct EvaluationFiles {
  std::string metrics_prefix;  // write_metrics_report writes <prefix>.csv and <prefix>.json
  std::string montage_png;     // empty: no montage
};

// Predicts each case, compares the mask on the case's original grid with its label (spacing
// from the label file), writes the metrics report and a montage of a few axial slices of the
// first cases; returns the report's summary table.
std::string evaluate_cases(const TrainedModel& m, const std::vector<Case>& cases,
                           const EvaluationFiles& out);

}  // namespace fdl::train
