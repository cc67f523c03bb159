#pragma once
// The grids of the fdl recipe (docs/method.md §5.5): every case resampled to one voxel size
// (the median of the training and validation cases unless --spacing says otherwise, as
// nnU-Net does), and the patch, chosen from a memory budget unless --patch says otherwise.
#include <array>
#include <cstdint>
#include <vector>

#include "engine/data/patch.h"
#include "engine/data/preprocess.h"
#include "engine/io/nifti.h"

namespace fdl::train {

// The per-axis median of the cases' voxel sizes (the mean of the middle two for an even
// count). fdl::Error for no cases.
std::array<double, 3> median_spacing(const std::vector<NiftiHeader>& cases);

// A case's grid at `spacing`: round(n * its spacing / spacing) voxels per axis, at least 1.
Index3 grid_at(const NiftiHeader& h, const std::array<double, 3>& spacing);

// The preprocessing that brings a case to its grid at `spacing`: the run's normalisation on
// the original grid, then a trilinear resize (the label nearest), so restore_mask maps
// a prediction back exactly as for the paper recipe's resize.
Preprocess native_preprocess(Preprocess run, const NiftiHeader& h,
                             const std::array<double, 3>& spacing);

// The per-axis median of the cases' grids at `spacing`.
Index3 median_grid(const std::vector<NiftiHeader>& cases, const std::array<double, 3>& spacing);

// The largest patch that fits: start from `median` rounded up to multiples of 4 and take 4
// voxels off the axis longest relative to it (nnU-Net's rule: the patch keeps the median
// case's proportions) until batch * bytes_per_voxel * voxels <= budget. fdl::Error when not
// even 4x4x4 fits.
Index3 choose_patch(Index3 median, double bytes_per_voxel, int batch, uint64_t budget);

}  // namespace fdl::train
