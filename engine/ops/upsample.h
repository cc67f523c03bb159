#pragma once
// Nearest-neighbour x2 upsampling with autograd (nn.Upsample(scale_factor=2, mode='nearest')).
#include "engine/tensor.h"

namespace fdl {

// (N, C, X, Y, Z) -> (N, C, 2X, 2Y, 2Z); every voxel becomes a 2x2x2 block.
Tensor upsample_nearest2x(const Tensor& x);

}  // namespace fdl
