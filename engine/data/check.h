#pragma once
// The integrity check of a dataset, run before training and by `fdl check`. It reads every
// file of every case and reports each problem with the case and the file; a bad case never
// stops the check of the others.
//
// Errors: a missing file; a file that does not read (not NIfTI, truncated, absurd header);
// an image whose channel count differs from the dataset's; nnU-Net channel files that differ
// in shape or affine; a label that is not 3-D, or differs from its image in shape or affine;
// label values that are not integers in [0, classes); NaN or Inf voxels.
// Warnings: a constant image, a label without foreground, a declared class in no label.
//
// Affines agree when each voxel-axis column differs by at most 1e-3 of its length, and the
// origins by at most 1e-3 of their distance from the world origin (and at least by 1e-3 of
// the largest voxel size): float32 headers and rewritten qforms pass, a shift of a voxel or
// a flipped axis does not.
#include <string>
#include <vector>

#include "engine/data/dataset.h"

namespace fdl {

struct CheckIssue {
  std::string case_id, file, problem;
};

struct CheckReport {
  int cases = 0;
  std::vector<CheckIssue> errors, warnings;
  bool ok() const { return errors.empty(); }
  // A summary line, then one line per error and warning: "error: CASE: FILE: PROBLEM".
  std::string text() const;
};

CheckReport check_dataset(const Dataset& d);

// Whether two affines agree within the tolerance above; `why` gets the worst difference.
bool affines_agree(const Affine& a, const Affine& b, std::string* why = nullptr);

}  // namespace fdl
