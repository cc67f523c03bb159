#pragma once
// Dataset directories in the MSD layout (dataset.json, imagesTr/, labelsTr/) and the loading
// of one case onto the training grid: resize (trilinear image, nearest label) and per-channel
// min-max normalisation.
#include <array>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace fdl {

struct Case {
  std::string id, image, label;  // absolute paths
};

struct Dataset {
  std::string root;
  std::vector<Case> cases;
  int channels = 1;
  int classes = 2;  // including the background
  std::vector<std::string> class_names;
};

// Reads dir/dataset.json. Errors name the file and the problem: a missing directory or
// dataset.json, bad JSON, a listed file that does not exist, an empty training list.
Dataset open_dataset(const std::string& dir);

struct Sample {
  std::string id;
  Tensor image;  // float32 (C, X, Y, Z), each channel min-max normalised to [0, 1]
  Tensor label;  // int32 (X, Y, Z), values in [0, classes)
};

// Reads a case (3-D image, or 4-D with channels last in the file) and brings it to `shape`.
// Errors name the file: image and label of different spatial shapes, a label value that is
// not an integer in [0, classes), NaN or Inf voxels.
Sample load_case(const Case& c, std::array<int64_t, 3> shape, int classes);

}  // namespace fdl
