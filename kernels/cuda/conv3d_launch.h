#pragma once
// Launchers of the three conv3d versions (kernels/cuda/conv3d_{direct,tiled,tf32}.cu),
// called by conv3d.cu. Each runs every part of its view. The weight-gradient launchers
// write part z to plane z of `out` (out + z * w_numel), or with `atomic` add all parts
// into `out` itself.
#include "kernels/common/conv3d_gemm.h"

namespace fdl::kernels::cuda::detail {

template <class T>
void direct_forward(const Conv3dShape& s, const T* x, const T* w, const T* bias, T* y);
template <class T>
void direct_backward_data(const Conv3dShape& s, const T* gy, const T* w, T* gx);
template <class T>
void direct_backward_weight(const Conv3dShape& s, const T* x, const T* gy, T* out, SplitK split,
                            bool atomic);

void tiled_forward(const Conv3dShape& s, const float* x, const float* w, const float* bias,
                   float* y);
void tiled_backward_data(const Conv3dShape& s, const float* gy, const float* w, float* gx);
void tiled_backward_weight(const Conv3dShape& s, const float* x, const float* gy, float* out,
                           SplitK split, bool atomic);

void tf32_forward(const Conv3dShape& s, const float* x, const float* w, const float* bias,
                  float* y);
void tf32_backward_data(const Conv3dShape& s, const float* gy, const float* w, float* gx);
void tf32_backward_weight(const Conv3dShape& s, const float* x, const float* gy, float* out,
                          SplitK split, bool atomic);

}  // namespace fdl::kernels::cuda::detail
