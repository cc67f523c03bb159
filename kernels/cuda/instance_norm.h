#pragma once
// CUDA twins of kernels/cpu/instance_norm.h: nc slices of s contiguous elements of device
// memory, the same contract. Each slice is cut into parts (kernels/common/slice_partition.h),
// one block each; the per-part partials are merged in a fixed order, so results are the same
// on every run. `scratch` is device memory of
// kernels::instance_norm_scratch_doubles(nc, s) doubles from the caller.
#include <cstdint>

namespace fdl::kernels::cuda {

// y = (x - mean) * rstd with rstd = 1 / sqrt(var + eps), per slice; writes rstd (nc values).
// The statistics take one pass over x (Chan's merge of per-thread (count, mean, M2) in
// double), the normalisation a second.
template <class T>
void instance_norm_forward(const T* x, T* y, T* rstd, int64_t nc, int64_t s, double eps,
                           double* scratch);

// gx = rstd * (gy - mean(gy) - y * mean(gy * y)), per slice, from the forward's y and rstd.
template <class T>
void instance_norm_backward(const T* y, const T* gy, const T* rstd, T* gx, int64_t nc, int64_t s,
                            double* scratch);

// y = leaky_relu(instance_norm(x), slope): the activation is applied as y is written.
template <class T>
void instance_norm_leaky_relu_forward(const T* x, T* y, T* rstd, int64_t nc, int64_t s, double eps,
                                      T slope, double* scratch);

// The fused backward from the fused forward's output y (slope > 0): the normalised value
// and the gradient through the activation are recovered from y
// (kernels/common/instance_norm.h), then the norm backward as above.
template <class T>
void instance_norm_leaky_relu_backward(const T* y, const T* gy, const T* rstd, T* gx, int64_t nc,
                                       int64_t s, T slope, double* scratch);

}  // namespace fdl::kernels::cuda
