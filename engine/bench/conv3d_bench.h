#pragma once
// Timing of the conv3d kernels, one pass at a time, for `fdl bench conv3d`.
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "kernels/common/conv3d_shape.h"

namespace fdl::bench {

struct Conv3dTimes {
  double fwd = 0, dgrad = 0, wgrad = 0;  // seconds, median of the runs
  double total() const { return fwd + dgrad + wgrad; }
};

// Float32 on the CPU with all OpenMP threads. One warm-up run, then the median of `repeat`.
Conv3dTimes time_conv3d(const kernels::Conv3dShape& s, int repeat);

// The GPU versions: the engine's conv3d with each ConvAlgo ("direct", "tiled", "tf32") and
// cuDNN with FFMA math ("cudnn") or TF32 tensor cores ("cudnn-tf32").
const std::vector<std::string>& gpu_conv_versions();
bool cudnn_in_build();  // whether this build has the cuDNN versions (FDL_HAVE_CUDNN)

struct GpuConv3dRun {
  Conv3dTimes times;
  double max_rel_err = 0;  // max over y, gx, gw of max|out - ref| / max|ref|; inf for NaN
  std::string note;        // cuDNN: the algorithms its search chose
};

// One shape on the GPU: float32 inputs from the same seed as time_conv3d, and the direct
// version's forward output and both gradients as the reference every version is checked
// against before it is timed. The engine versions run through conv3d and its backward node
// (a gradient for x only, then for w only); each pass is timed with a wait for the GPU
// before the clock is read, one warm-up, the median of `repeat`.
class GpuConv3dBench {
 public:
  explicit GpuConv3dBench(const kernels::Conv3dShape& s);
  // fdl::Error for an unknown version, or a cuDNN version in a build without cuDNN.
  GpuConv3dRun run(const std::string& version, int repeat);

 private:
  GpuConv3dRun run_engine(const std::string& version, int repeat);
  GpuConv3dRun run_cudnn(bool tf32, int repeat);
  double error_of(const Tensor& y, const Tensor& gx, const Tensor& gw) const;
  kernels::Conv3dShape s_;
  Tensor x_, w_, gy_;               // on the GPU
  Tensor ref_y_, ref_gx_, ref_gw_;  // on the host
};

}  // namespace fdl::bench
