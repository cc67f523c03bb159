#pragma once
// Elementwise bounds for the GPU convolution (tests/gpu/test_conv_gpu.cpp): a float64
// reference on the CPU and, per element, the error the float32 arithmetic allows.
//
// Each element of y, gx and gw is a sum of K products. The products are exact: float32 x
// float32 inside an FMA, and TF32 x TF32 (11-bit significands, 22 bits) in float32's 24. So
// the only error is the float32 summation's, in whatever order the kernel adds (Higham,
// Accuracy and Stability of Numerical Algorithms, 3.1):
//   |got - exact| <= gamma(K) * sum |term|,  gamma(K) = K u / (1 - K u),
// where K counts every addition into the element: the split-K parts' sum (or atomic adds)
// and the bias add too. The reference is the exact sum up to float64 rounding, gamma_53(K)
// of the same sum of magnitudes, which is added to the bound. The TF32 version rounds its
// GEMM's A and B (x and w, gy and w, x and gy) with cvt.rna.tf32 as they enter shared
// memory, so its reference convolves the rounded inputs; the bias stays float32.
#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace fdl::gpu_test {

// v (a float32 value) rounded to TF32 as cvt.rna.tf32.f32 does it: 10 mantissa bits, to
// nearest, ties away from zero. Written from that definition, not from the kernels' bit trick.
double round_tf32(double v);

// gamma(K) for unit roundoff u.
double gamma_k(int64_t k, double u);

// y and the gradients of x and w of conv3d(x, w, b, stride, pad) backward from gy, computed
// on x's device (b may be undefined).
struct ConvPasses {
  std::vector<double> y, gx, gw;
};
ConvPasses conv_passes(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& gy,
                       int stride, int pad);

// For float32 CPU inputs: the float64 CPU passes on the values the GPU multiplies (rounded to
// TF32 when `tf32`), and on their magnitudes (the sums of |term| of the bound).
struct ConvReference {
  ConvPasses value, magnitude;
};
ConvReference conv_reference(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& gy,
                             int stride, int pad, bool tf32);

// The elements with !(|got - want| <= bound_per_magnitude * magnitude) (a NaN fails), and the
// largest |got - want| / (bound_per_magnitude * magnitude) over the elements with magnitude > 0.
// The three vectors have one size.
struct ElementCheck {
  std::vector<int64_t> bad;
  double worst = 0;
};
ElementCheck check_elements(const std::vector<double>& got, const std::vector<double>& want,
                            const std::vector<double>& magnitude, double bound_per_magnitude);

}  // namespace fdl::gpu_test
