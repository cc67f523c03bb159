#pragma once
// CUDA 3D convolution: the contract of kernels/cpu/conv3d.h (NCXYZ activations, weights
// (cout, cin, k, k, k) as PyTorch stores them, y = conv(x, w) + bias), device pointers,
// work on stream(), every launch checked. Three versions compute the same function, all
// as the implicit GEMMs of kernels/common/conv3d_gemm.h (no im2col buffer: A and B are
// gathered from x, gy and w through index maps while they are read):
//   Direct  one thread per output element (per part of the weight gradient's depth),
//           FFMA in order of k; float and double (double always runs this one).
//   Tiled   blocks of 256 threads compute 128 x BN tiles of C (BN = 8, 16, 32 or 64 after
//           the channel count), staging 16-deep slabs of A and B in shared memory
//           (prefetching the next slab into registers while the current one is used),
//           each thread a TM x TN register tile of FFMAs (kernels/common/conv3d_tile.h).
//   Tf32    the same blocks and staging, A and B rounded to TF32 in shared memory, each of
//           8 warps a warp tile of mma.sync m16n8k8 TF32 products with FP32 accumulation
//           (fragment layouts in kernels/common/mma_tf32.h).
// The data gradient for stride 2 runs one GEMM per stride phase class (blockIdx.z), so no
// tap that cannot reach a position is visited. The weight gradient cuts its depth
// (batch x output positions) into parts; deterministic: part z writes plane z of a
// scratch and a second kernel adds the planes in order; otherwise all parts atomically add
// into the zeroed gw (no scratch). The bias gradient is always deterministic the same way.
#include <cstdint>

#include "kernels/common/conv3d_gemm.h"

namespace fdl::kernels::cuda {

template <class T>
void conv3d_forward(ConvKernel kind, const Conv3dShape& s, const T* x, const T* w, const T* bias,
                    T* y);

template <class T>
void conv3d_backward_data(ConvKernel kind, const Conv3dShape& s, const T* gy, const T* w, T* gx);

// scratch: conv_weight_scratch(s, kind, deterministic) elements of T (may be 0 and null).
template <class T>
void conv3d_backward_weight(ConvKernel kind, const Conv3dShape& s, const T* x, const T* gy, T* gw,
                            T* scratch, bool deterministic);

// scratch: conv_bias_scratch(s) elements of T.
template <class T>
void conv3d_backward_bias(const Conv3dShape& s, const T* gy, T* gb, T* scratch);

}  // namespace fdl::kernels::cuda
