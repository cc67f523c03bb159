#pragma once
// One-hot encoding of a label map, for the Dice loss.
#include "engine/tensor.h"

namespace fdl {

// labels: int32 (N, X, Y, Z) with values 0..K-1 -> float32 (N, K, X, Y, Z). A value outside
// [0, K) is an fdl::Error naming the value, where it is, and K. No gradient.
Tensor one_hot(const Tensor& labels, int num_classes);

}  // namespace fdl
