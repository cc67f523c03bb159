#pragma once
// Synthetic QSM-like volumes around the midbrain, for demos and end-to-end tests: a brain
// with smooth anatomy, a brain-stem-like ellipsoid, and two classes of small paired nuclei
// with positive susceptibility-like contrast (1: red-nucleus-like, 2: dentate-like, lower
// and posterior), under a smooth multiplicative bias field and Gaussian noise. Every case
// varies in size, position and contrast, and is a pure function of (seed, case index, shape).
#include <array>
#include <cstdint>
#include <string>

#include "engine/tensor.h"

namespace fdl {

struct PhantomOptions {
  int cases = 12;
  std::array<int64_t, 3> shape{64, 64, 48};
  uint64_t seed = 1;
  bool overwrite =
      false;  // the directory may hold files fdl did not write (engine/io/output_dir.h)
};

struct PhantomCase {
  Tensor image;  // float32 (X, Y, Z), ppm-like values
  Tensor label;  // int32 (X, Y, Z): 0 background, 1 red nucleus, 2 dentate
  std::array<double, 3> spacing{1, 1, 1};  // mm; the field of view is 64 x 64 x 48 mm at any shape
};

// Case `index` of the set described by `opt` (opt.cases is not used).
PhantomCase make_phantom(const PhantomOptions& opt, int index);

// Writes the MSD layout: dir/dataset.json, dir/imagesTr/case_NNN.nii.gz (float32) and
// dir/labelsTr/case_NNN.nii.gz (uint8), in a directory claimed by engine/io/output_dir.h (so
// an existing dataset fdl did not write is refused unless opt.overwrite). Each file appears
// atomically; dataset.json last.
void write_phantoms(const std::string& dir, const PhantomOptions& opt);

}  // namespace fdl
