#pragma once
// The per-class maths of the Dice + cross-entropy loss (nnU-Net's default, docs/method.md §5.4),
// shared by the CPU path and the CUDA kernels so both evaluate the same formulas in the same
// order. p = softmax over the K class logits of a voxel. Inputs are the class sums, accumulated
// in double, four per class at sums[4c + j] (DiceCeSum).
#include <cstdint>

#include "kernels/common/hd.h"

namespace fdl::kernels {

// nnU-Net's smoothing of the soft Dice: added to the numerator and the denominator, so an
// absent class that the network also predicts absent scores near 1, and no denominator is 0.
constexpr double kDiceCeSmooth = 1e-5;

enum DiceCeSum : int {
  kSumPG = 0,  // sum p g
  kSumP = 1,   // sum p
  kSumG = 2,   // sum g
  kSumCE = 3,  // sum -g log p, the class's share of the cross-entropy
  kDiceCeSums = 4
};

// log p_c = (x_c - m) - log_z, with m the voxel's largest logit and log_z = log sum_j
// exp(x_j - m) in [0, log K], kept apart as torch's log_softmax keeps them: x_c - m is exact
// where p_c matters (Sterbenz), so p_c is accurate to a few ulp however large the logits,
// where x_c - lse with a rounded lse would lose the ulps of lse.
template <class T>
FDL_HD T dice_ce_log_p(T x, T m, T log_z) {
  return (x - m) - log_z;
}

// dice_c = (2 sum(p g) + smooth) / (sum p + sum g + smooth), as nnU-Net's soft Dice (sum p,
// not sum p^2, in the denominator).
FDL_HD double dice_ce_score(const double* sums, int64_t c) {
  const double* q = sums + kDiceCeSums * c;
  return (2 * q[kSumPG] + kDiceCeSmooth) / (q[kSumP] + q[kSumG] + kDiceCeSmooth);
}

// CE + 1 - mean_{c >= 1} dice_c, CE the mean over the batch's `voxels` of -sum_c g_c log p_c.
// The background c = 0 counts in the cross-entropy, not in the Dice.
FDL_HD double dice_ce_loss_from_sums(const double* sums, int64_t k, int64_t voxels) {
  double ce = 0, dice = 0;
  for (int64_t c = 0; c < k; ++c) ce += sums[kDiceCeSums * c + kSumCE];
  for (int64_t c = 1; c < k; ++c) dice += dice_ce_score(sums, c);
  return ce / double(voxels) + (1.0 - dice / double(k - 1));
}

// The Dice term's gradient w.r.t. p_c at one voxel is u_c = a g_c + b, for the loss scaled by
// gout: with w = gout / (K - 1) and D = sum p + sum g + smooth,
//   a = -2 w / D,  b = w (2 sum(p g) + smooth) / D^2;  zero for the background c = 0.
struct DiceCeCoefficients {
  double a, b;
};

FDL_HD DiceCeCoefficients dice_ce_class_coefficients(const double* sums, int64_t c, int64_t k,
                                                     double gout) {
  if (c == 0) return {0.0, 0.0};
  const double* q = sums + kDiceCeSums * c;
  const double w = gout / double(k - 1), d = q[kSumP] + q[kSumG] + kDiceCeSmooth;
  return {-2 * w / d, w * (2 * q[kSumPG] + kDiceCeSmooth) / (d * d)};
}

// The gradient of one logit x_c, the softmax Jacobian applied analytically:
//   dL/dx_c = ce_w (p_c G - g_c) + p_c (u_c - r),
// with ce_w = gout / voxels, G = sum_j g_j and r = sum_j p_j u_j over the voxel's classes
// (G = 1 for a one-hot target, where the cross-entropy part is the familiar p_c - g_c).
template <class T>
FDL_HD T dice_ce_grad_element(T p, T g, T u, T r, T gsum, T ce_w) {
  return ce_w * (p * gsum - g) + p * (u - r);
}

}  // namespace fdl::kernels
