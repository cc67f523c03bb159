#pragma once
// 3D convolution with autograd.
#include "engine/tensor.h"

namespace fdl {

// x: (N, Cin, X, Y, Z); w: (Cout, Cin, k, k, k) as PyTorch stores it; bias: (Cout) or an
// undefined Tensor(). k in {1, 3}, stride in {1, 2}, padding in {0, 1}. The output size per
// axis is (n + 2p - k) / s + 1. Gradients flow to x, w and bias (each if it requires one).
Tensor conv3d(const Tensor& x, const Tensor& w, const Tensor& bias, int stride, int padding);

}  // namespace fdl
