#pragma once
// Elementwise ops with autograd: add, scale, sigmoid, leaky ReLU.
#include "engine/tensor.h"

namespace fdl {

Tensor add(const Tensor& a, const Tensor& b);
void add_(Tensor& dst, const Tensor& src);  // in place, no autograd
Tensor scale(const Tensor& a, double s);
Tensor sigmoid(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double slope = 0.01);

}  // namespace fdl
