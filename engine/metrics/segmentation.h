#pragma once
// Per-case segmentation metrics (docs/method.md §6.5), one entry per foreground class.
//
// Overlap, from the voxel counts TP, FP, FN, TN of class c (P = TP + FP predicted voxels,
// L = TP + FN label voxels):
//   Dice 2TP / (P + L), Jaccard TP / (TP + FP + FN), precision TP / P, recall TP / L,
//   FPR FP / (FP + TN), FNR FN / L, volume similarity 1 - |P - L| / (P + L).
// A ratio whose denominator is 0 is NaN, except that when both P and L are 0 the prediction
// agrees perfectly: Dice, Jaccard and volume similarity are 1 there (and said so in `note`).
// When exactly one is empty, Dice, Jaccard and volume similarity are 0.
//
// Distances, in mm with the voxel spacing:
//   surface of a mask: its voxels with at least one of the 6 face neighbours outside the mask
//     (a neighbour beyond the image border counts as outside);
//   directed distances A -> B: for each surface voxel of A, the Euclidean distance between
//     voxel centres to the nearest surface voxel of B (read from the exact EDT of B's surface);
//   Hausdorff = max(max A->B, max B->A);
//   HD95 = max(p95(A->B), p95(B->A)), the 95th percentiles with linear interpolation between
//     order statistics (numpy's default). This is MONAI's convention (its default computes
//     the two directed percentiles and takes the larger), not the percentile of the union;
//   mean surface distance = the mean of the union of both directed sets (sum of all distances
//     over the number of surface voxels of both), the symmetric average.
// Both empty: distances 0. Exactly one empty: distances NaN (undefined), said in `note`.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace fdl {

struct ClassMetrics {
  int cls = 0;
  double dice, jaccard, precision, recall, fpr, fnr, volume_similarity;  // NaN where undefined
  double hausdorff, hd95, mean_surface_distance;  // mm; NaN where undefined (empty pred or label)
  int64_t pred_voxels = 0, label_voxels = 0;
  std::string note;  // what was done for an empty case; empty otherwise
};

// pred, label: int32 (X, Y, Z) CPU tensors on the same grid, values in [0, classes);
// spacing: the voxel size in mm along X, Y, Z. Returns one entry per class 1..classes-1.
// Errors name the tensor and the offending value or shape.
std::vector<ClassMetrics> evaluate_case(const Tensor& pred, const Tensor& label,
                                        std::array<double, 3> spacing, int classes);

}  // namespace fdl
