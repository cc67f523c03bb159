#pragma once
// CPU 3D convolution (NCXYZ activations, PyTorch weight layout), float and double.
// Forward, data gradient and weight gradient are one direct-convolution engine: the source
// is copied once into a zero-padded (for stride 2: phase-split) buffer, so every tap is a
// constant offset in a flattened position grid, and a register tile of output channels x
// vectors of positions accumulates over (source channel, tap). No BLAS.
//
// Each kernel takes caller-provided scratch of the size its *_scratch function returns
// (elements of T, for `threads` OpenMP threads) and never allocates in its loops.
// Results are bit-identical from run to run for the same thread count.
#include <cstdint>

#include "kernels/common/conv3d_shape.h"

namespace fdl::kernels::cpu {

// y = conv(x, w) + bias (bias may be null).
template <class T>
int64_t conv3d_forward_scratch(const Conv3dShape& s, int threads);
template <class T>
void conv3d_forward(const Conv3dShape& s, const T* x, const T* w, const T* bias, T* y, T* scratch,
                    int threads);

// gx = dL/dx for upstream gradient gy (overwrites gx).
template <class T>
int64_t conv3d_backward_data_scratch(const Conv3dShape& s, int threads);
template <class T>
void conv3d_backward_data(const Conv3dShape& s, const T* gy, const T* w, T* gx, T* scratch,
                          int threads);

// gw = dL/dw (overwrites gw).
template <class T>
int64_t conv3d_backward_weight_scratch(const Conv3dShape& s, int threads);
template <class T>
void conv3d_backward_weight(const Conv3dShape& s, const T* x, const T* gy, T* gw, T* scratch,
                            int threads);

// gb[co] = sum of gy over batch and space (overwrites gb).
template <class T>
void conv3d_backward_bias(const Conv3dShape& s, const T* gy, T* gb);

}  // namespace fdl::kernels::cpu
