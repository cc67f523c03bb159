#pragma once
// cuDNN's 3D convolution, the yardstick of `fdl bench conv3d --conv cudnn,cudnn-tf32` and
// nothing else: cuDNN is a peer to measure against, and no training or inference path uses
// it. Float32 NCXYZ tensors and PyTorch-layout weights, the geometry of Conv3dShape, on the
// stream of runtime.h. Built only where CMake found cuDNN (FDL_HAVE_CUDNN).
#include <cstddef>
#include <memory>

#include "kernels/common/conv3d_shape.h"

namespace fdl::kernels::cuda {

enum class CudnnMath {
  Fp32,  // CUDNN_FMA_MATH: FFMA kernels only, no TF32 tensor cores
  Tf32,  // CUDNN_TENSOR_OP_MATH: tensor cores with TF32 inputs allowed
};

// Descriptors, a handle and the algorithm chosen per pass for one shape. Every call throws
// fdl::Error naming the cuDNN call that failed.
class CudnnConv3d {
 public:
  CudnnConv3d(const Conv3dShape& s, CudnnMath math);
  ~CudnnConv3d();
  CudnnConv3d(const CudnnConv3d&) = delete;
  CudnnConv3d& operator=(const CudnnConv3d&) = delete;

  // Chooses the fastest algorithm of each pass by running them all (cudnnFind*Ex, the
  // analogue of torch.backends.cudnn.benchmark) on the caller's buffers: x, w, y, gx, gw of
  // the shape's sizes (y, gx and gw are overwritten), with up to `work_bytes` of workspace at
  // `work`. Must precede the passes.
  void tune(const float* x, const float* w, float* y, float* gx, float* gw, void* work,
            size_t work_bytes);
  // The workspace the chosen algorithms need (at most the tune's work_bytes).
  size_t workspace_bytes() const;
  // The chosen algorithms as "fwd N, dgrad N, wgrad N" (cuDNN's enum values).
  const char* algorithms() const;

  void forward(const float* x, const float* w, float* y, void* work, size_t work_bytes) const;
  void backward_data(const float* gy, const float* w, float* gx, void* work,
                     size_t work_bytes) const;
  void backward_weight(const float* x, const float* gy, float* gw, void* work,
                       size_t work_bytes) const;

 private:
  struct State;
  std::unique_ptr<State> st_;
};

}  // namespace fdl::kernels::cuda
