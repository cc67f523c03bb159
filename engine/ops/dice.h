#pragma once
// The sigmoid soft Dice loss (docs/method.md §5.1).
#include <vector>

#include "engine/tensor.h"
#include "kernels/common/dice.h"

namespace fdl {

// The floor of a Dice denominator: an absent class with near-zero predictions scores 0.
constexpr double kDiceEps = kernels::kDiceEps;

// logits and target (one-hot, same dtype): (N, K, X, Y, Z), K >= 2. p = sigmoid(logits);
// dice_k = 2 sum(p g) / max(sum(p^2) + sum(g^2), 1e-6), summed over the batch and voxels;
// returns the 0-dim tensor 1 - mean_{k>=1} dice_k (the background k = 0 is ignored). The sums
// are accumulated in double in a fixed order (deterministic). The gradient flows to logits
// only; target gets none. On CUDA the loss, its sums and its gradient stay on the device.
Tensor soft_dice_loss(const Tensor& logits, const Tensor& target);

// The same soft dice_k for every class k = 0..K-1, for logging (on CUDA it copies the 3K sums
// to the host). No gradient.
std::vector<double> dice_per_class(const Tensor& logits, const Tensor& target);

}  // namespace fdl
