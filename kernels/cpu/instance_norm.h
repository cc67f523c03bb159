#pragma once
// CPU instance-norm kernels. The data is nc slices of s contiguous elements (one slice per
// sample and channel); each slice is normalised by its own mean and biased variance.
#include <cstdint>

namespace fdl::kernels::cpu {

// y = (x - mean) * rstd with rstd = 1 / sqrt(var + eps), per slice; writes rstd (nc values).
template <class T>
void instance_norm_forward(const T* x, T* y, T* rstd, int64_t nc, int64_t s, double eps);

// gx = rstd * (gy - mean(gy) - y * mean(gy * y)), per slice, from the forward's y and rstd.
template <class T>
void instance_norm_backward(const T* y, const T* gy, const T* rstd, T* gx, int64_t nc, int64_t s);

// y = leaky_relu(instance_norm(x), slope), the activation applied as y is written.
template <class T>
void instance_norm_leaky_relu_forward(const T* x, T* y, T* rstd, int64_t nc, int64_t s, double eps,
                                      T slope);

// The fused backward from the fused forward's output y alone (slope > 0): the normalised
// value and the gradient through the activation are recovered from y
// (kernels/common/instance_norm.h), then the norm backward as above.
template <class T>
void instance_norm_leaky_relu_backward(const T* y, const T* gy, const T* rstd, T* gx, int64_t nc,
                                       int64_t s, T slope);

}  // namespace fdl::kernels::cpu
