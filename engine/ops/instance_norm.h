#pragma once
// Instance normalisation with autograd (PyTorch InstanceNorm3d defaults: no affine, no
// running statistics), alone or fused with the leaky ReLU that follows it in the U-Net.
#include "engine/tensor.h"

namespace fdl {

// x: (N, C, X, Y, Z). Each (n, c) slice becomes (x - mean) / sqrt(var + eps), with the
// biased variance over X*Y*Z.
Tensor instance_norm(const Tensor& x, double eps = 1e-5);

// leaky_relu(instance_norm(x, eps), slope) in one pass over the data after the statistics.
// Its backward keeps only the output and the per-slice 1/std (the composition keeps the
// normalised tensor as well): the normalised value is recovered from the output, so slope
// must be > 0.
Tensor instance_norm_leaky_relu(const Tensor& x, double slope = 0.01, double eps = 1e-5);

}  // namespace fdl
