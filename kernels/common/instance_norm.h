#pragma once
// Helpers the CPU and CUDA instance-norm kernels share: the fused leaky ReLU's backward from
// its output alone, and the size of the CUDA kernels' scratch.
#include <cstdint>

#include "kernels/common/slice_partition.h"

namespace fdl::kernels {

// The fused instance_norm -> leaky_relu saves only its output y. With slope > 0 the
// activation is a bijection, so the normalised value is recovered from y...
template <class T>
FDL_HD T leaky_relu_input_from_output(T y, T slope) {
  return y > T(0) ? y : y / slope;
}

// ...and so is the gradient through the activation: x > 0 exactly when y > 0 (at 0 the slope
// applies, as in leaky_relu_grad).
template <class T>
FDL_HD T leaky_relu_grad_from_output(T y, T gy, T slope) {
  return y > T(0) ? gy : gy * slope;
}

// Doubles of device scratch the CUDA instance-norm kernels (forward or backward, plain or
// fused) need for nc slices of s elements: per (slice, part) a (count, mean, M2) partial in
// the forward or two sums in the backward, then two values per slice.
FDL_HD int64_t instance_norm_scratch_doubles(int64_t nc, int64_t s) {
  return nc * (3 * slice_partition(nc, s).parts + 2);
}

}  // namespace fdl::kernels
