#pragma once
// Elementwise functors shared by the CPU and CUDA kernels.
#include <cmath>

#include "kernels/common/hd.h"

namespace fdl::kernels {

template <class T>
FDL_HD T sigmoid(T x) {
  return T(1) / (T(1) + exp(-x));
}

template <class T>
FDL_HD T leaky_relu(T x, T slope) {
  return x > T(0) ? x : x * slope;
}

// d/dx of leaky_relu, evaluated from its input x (at x == 0 PyTorch takes the slope).
template <class T>
FDL_HD T leaky_relu_grad(T x, T slope) {
  return x > T(0) ? T(1) : slope;
}

}  // namespace fdl::kernels
