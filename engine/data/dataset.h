#pragma once
// Dataset directories and the loading of one case onto the training grid. Three layouts:
//   msd     dataset.json with `training: [{image, label}]`, `labels` (index -> name) and
//           `modality` (index -> name); images 3-D, or 4-D with channels on the last axis.
//   nnunet  nnU-Net v2 dataset.json with `channel_names`, `labels` (name -> index),
//           `file_ending` and `numTraining`; imagesTr/<case>_0000<ending>, _0001, ... (one
//           file per channel) and labelsTr/<case><ending>.
//   plain   no dataset.json; imagesTr/ and labelsTr/ hold files of matching names (.nii or
//           .nii.gz, either way round); the classes are inferred from the largest label value.
#include <array>
#include <string>
#include <vector>

#include "engine/data/preprocess.h"
#include "engine/io/nifti.h"
#include "engine/tensor.h"

namespace fdl {

// Masks are written as uint8 (engine/io/nifti.h), so a class index must fit in one.
constexpr int kMaxClasses = 256;

struct Case {
  std::string id, image, label;            // absolute paths; `image` is the first/only image file
  std::vector<std::string> channel_files;  // nnU-Net v2: one file per channel; else empty
};

struct Dataset {
  std::string root;
  std::string layout;  // "msd", "nnunet", "plain"
  std::vector<Case> cases;
  int channels = 1;
  int classes = 2;  // including the background
  std::vector<std::string> class_names;
};

struct DatasetOptions {
  // Accept files that resolve outside the dataset directory (`..` or absolute paths in
  // dataset.json, symlinks to elsewhere): `--allow-outside-paths`.
  bool allow_outside_paths = false;
};

// Detects the layout (a dataset.json with `channel_names` is nnU-Net v2, one with `training`
// is MSD; no json but imagesTr/ and labelsTr/ is plain) and lists the cases. Errors name the
// file and the problem: a missing directory, bad JSON (nested beyond json_file.h's limit included),
// missing fields; and, in one message, every problem of the files the cases need
// (dataset_files.h: missing, a dangling symlink or a loop, unreadable, outside the dataset
// directory, the same file twice), a case id twice, and a test case (MSD's `test` list, the
// files in imagesTs/ and labelsTs/) that is also a training case, by id or as the same file.
// The plain layout reads every label file to count the classes and says so on stderr.
Dataset open_dataset(const std::string& dir, const DatasetOptions& options = {});

// nnU-Net v2's file stem of a case's channel: "<id>_0001" for channel 1.
std::string nnunet_channel_stem(const std::string& id, int channel);

// The case's image as float32 (C, X, Y, Z) for every layout: a 3-D file gets C = 1, a 4-D
// file (channels last on disk) is channels first, nnU-Net channel files are stacked after a
// check that they agree in shape. The geometry (affine, spacing, ...) is the first file's.
Volume read_case_image(const Case& c);

struct Sample {
  std::string id;
  Tensor image;  // float32 (C, X, Y, Z), normalised per channel (preprocess.h)
  Tensor label;  // int32 (X, Y, Z), values in [0, classes)
};

// Reads a case and prepares it (preprocess.h). Errors name the file: image and label of
// different spatial shapes, a label value that is not an integer in [0, classes), NaN or Inf
// voxels.
Sample load_case(const Case& c, const Preprocess& p, int classes);

// load_case with the default preprocessing (resize, min-max) at `shape`.
Sample load_case(const Case& c, std::array<int64_t, 3> shape, int classes);

}  // namespace fdl
