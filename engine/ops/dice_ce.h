#pragma once
// The Dice + cross-entropy loss, nnU-Net's default (docs/method.md §5.4).
#include "engine/tensor.h"

namespace fdl {

// logits and target (one-hot, same dtype): (N, K, X, Y, Z), K >= 2, at least one voxel.
// p = softmax over the K logits of each voxel; over the whole batch and all voxels,
//   dice_k = (2 sum(p g) + 1e-5) / (sum p + sum g + 1e-5)   for the foreground k >= 1,
//   CE = mean over the N X Y Z voxels of -sum_k g_k log p_k;
// returns the 0-dim tensor CE + 1 - mean_{k>=1} dice_k (nnU-Net reports CE - mean dice: the
// same gradient, shifted by 1 so that 0 is a perfect fit). The sums are accumulated in double
// in a fixed order (deterministic). The gradient flows to logits only; target gets none. On
// CUDA the loss, its sums and its gradient stay on the device.
Tensor dice_ce_loss(const Tensor& logits, const Tensor& target);

}  // namespace fdl
