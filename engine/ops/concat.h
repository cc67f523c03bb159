#pragma once
// Concatenation along the channel axis, with autograd.
#include <vector>

#include "engine/tensor.h"

namespace fdl {

// xs[i]: (N, C_i, X, Y, Z), all alike but for C_i -> (N, sum C_i, X, Y, Z). The same tensor
// may appear more than once; its gradient is the sum of its slices.
Tensor concat_channels(const std::vector<Tensor>& xs);

}  // namespace fdl
