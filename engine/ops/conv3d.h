#pragma once
// 3D convolution with autograd.
#include <string>

#include "engine/tensor.h"

namespace fdl {

// x: (N, Cin, X, Y, Z); w: (Cout, Cin, k, k, k) as PyTorch stores it; bias: (Cout) or an
// undefined Tensor(). k in {1, 3}, stride in {1, 2}, padding in {0, 1}. The output size per
// axis is (n + 2p - k) / s + 1. Gradients flow to x, w and bias (each if it requires one).
Tensor conv3d(const Tensor& x, const Tensor& w, const Tensor& bias, int stride, int padding);

// Which CUDA kernels conv3d runs on the GPU. Every version computes the same function;
// `fdl bench conv3d --device cuda` times them side by side.
//   direct: one thread per output element, FFMA (the simple reference; float and double)
//   tiled:  implicit GEMM with shared-memory tiles, FFMA (float32 exact; the default)
//   tf32:   implicit GEMM on the tensor cores with TF32 inputs, FP32 accumulation
// Float64 tensors always take `direct`.
enum class ConvAlgo { Direct, Tiled, Tf32 };
void set_cuda_conv_algo(ConvAlgo a);
ConvAlgo cuda_conv_algo();
ConvAlgo parse_conv_algo(const std::string& name);  // fdl::Error naming the choices
const char* conv_algo_name(ConvAlgo a);
// Weight gradients on the GPU are reduced in a fixed order (bit-reproducible) unless this
// is set (`--fast-nondeterministic`), which lets blocks add into them atomically.
void set_cuda_conv_nondeterministic(bool on);
bool cuda_conv_nondeterministic();

}  // namespace fdl
