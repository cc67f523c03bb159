#pragma once
// Instance normalisation with autograd (PyTorch InstanceNorm3d defaults: no affine, no
// running statistics).
#include "engine/tensor.h"

namespace fdl {

// x: (N, C, X, Y, Z). Each (n, c) slice becomes (x - mean) / sqrt(var + eps), with the
// biased variance over X*Y*Z.
Tensor instance_norm(const Tensor& x, double eps = 1e-5);

}  // namespace fdl
