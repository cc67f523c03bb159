#include "kernels/cuda/conv3d_cudnn.h"

#include <cudnn.h>

#include <algorithm>
#include <string>
#include <vector>

#include "kernels/cuda/runtime.h"

namespace fdl::kernels::cuda {

namespace {

void check_cudnn(cudnnStatus_t e, const char* what) {
  if (e != CUDNN_STATUS_SUCCESS)
    throw Error(detail::concat("conv3d (cudnn): ", what, ": ", cudnnGetErrorString(e)));
}

// Packed NCXYZ.
void set_tensor(cudnnTensorDescriptor_t d, int n, int c, const int* xyz) {
  const int dims[5] = {n, c, xyz[0], xyz[1], xyz[2]};
  int strides[5];
  strides[4] = 1;
  for (int i = 3; i >= 0; --i) strides[i] = strides[i + 1] * dims[i + 1];
  check_cudnn(cudnnSetTensorNdDescriptor(d, CUDNN_DATA_FLOAT, 5, dims, strides),
              "cudnnSetTensorNdDescriptor");
}

// The fastest result cudnnFind* measured that ran, fits the workspace and keeps to the math
// asked for (Find lists its results fastest first).
template <class Perf>
const Perf& pick(const std::vector<Perf>& perf, int returned, size_t work_bytes, CudnnMath math,
                 const char* pass) {
  for (int i = 0; i < returned; ++i) {
    const Perf& p = perf[size_t(i)];
    const bool tensor_ops =
        p.mathType == CUDNN_TENSOR_OP_MATH || p.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
    if (p.status == CUDNN_STATUS_SUCCESS && p.memory <= work_bytes &&
        (math == CudnnMath::Tf32 || !tensor_ops))
      return p;
  }
  throw Error(detail::concat("conv3d (cudnn): no ", pass, " algorithm ran within ", work_bytes,
                             " bytes of workspace"));
}

}  // namespace

struct CudnnConv3d::State {
  Conv3dShape s;
  CudnnMath math = CudnnMath::Fp32;
  cudnnHandle_t handle = nullptr;
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  bool tuned = false;
  cudnnConvolutionFwdAlgo_t fwd{};
  cudnnConvolutionBwdDataAlgo_t dgrad{};
  cudnnConvolutionBwdFilterAlgo_t wgrad{};
  // The math type each pass runs with, set on the descriptor before the pass: cuDNN picks the
  // kernel from the algorithm and the descriptor's math type, so with TF32 allowed it must be
  // the type Find timed the algorithm with (or another variant runs, which may need other
  // workspace); without TF32 it stays FMA, since a DEFAULT_MATH result would permit TF32.
  cudnnMathType_t fwd_math{}, dgrad_math{}, wgrad_math{};
  size_t work = 0;
  std::string names;

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  // Here rather than in ~CudnnConv3d, so a constructor that throws half way frees what it made.
  // Teardown errors cannot be reported from a destructor; the handle goes last.
  ~State() {
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
    if (w) cudnnDestroyFilterDescriptor(w);
    if (y) cudnnDestroyTensorDescriptor(y);
    if (x) cudnnDestroyTensorDescriptor(x);
    if (handle) cudnnDestroy(handle);
  }

  cudnnMathType_t run_math(cudnnMathType_t found) const {
    return math == CudnnMath::Tf32 ? found : CUDNN_FMA_MATH;
  }

  void require(size_t work_bytes, cudnnMathType_t pass_math, const char* pass) const {
    if (!tuned) throw Error(detail::concat("conv3d (cudnn): ", pass, " before tune()"));
    if (work_bytes < work)
      throw Error(detail::concat("conv3d (cudnn): ", pass, " needs ", work,
                                 " bytes of workspace, got ", work_bytes));
    check_cudnn(cudnnSetConvolutionMathType(conv, pass_math), "cudnnSetConvolutionMathType");
  }
};

CudnnConv3d::CudnnConv3d(const Conv3dShape& s, CudnnMath math) : st_(std::make_unique<State>()) {
  State& t = *st_;
  t.s = s;
  t.math = math;
  check_cudnn(cudnnCreate(&t.handle), "cudnnCreate");
  check_cudnn(cudnnSetStream(t.handle, stream()), "cudnnSetStream");
  check_cudnn(cudnnCreateTensorDescriptor(&t.x), "cudnnCreateTensorDescriptor");
  check_cudnn(cudnnCreateTensorDescriptor(&t.y), "cudnnCreateTensorDescriptor");
  check_cudnn(cudnnCreateFilterDescriptor(&t.w), "cudnnCreateFilterDescriptor");
  check_cudnn(cudnnCreateConvolutionDescriptor(&t.conv), "cudnnCreateConvolutionDescriptor");
  set_tensor(t.x, s.n, s.cin, s.in);
  const int out[3] = {s.out(0), s.out(1), s.out(2)};
  set_tensor(t.y, s.n, s.cout, out);
  const int wdims[5] = {s.cout, s.cin, s.k, s.k, s.k};
  check_cudnn(cudnnSetFilterNdDescriptor(t.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 5, wdims),
              "cudnnSetFilterNdDescriptor");
  const int pad[3] = {s.pad, s.pad, s.pad}, stride[3] = {s.stride, s.stride, s.stride},
            dil[3] = {1, 1, 1};
  check_cudnn(cudnnSetConvolutionNdDescriptor(t.conv, 3, pad, stride, dil, CUDNN_CROSS_CORRELATION,
                                              CUDNN_DATA_FLOAT),
              "cudnnSetConvolutionNdDescriptor");
  // cuDNN's output geometry must be ours, or every comparison is meaningless.
  int got[5] = {};
  check_cudnn(cudnnGetConvolutionNdForwardOutputDim(t.conv, t.x, t.w, 5, got),
              "cudnnGetConvolutionNdForwardOutputDim");
  if (got[0] != s.n || got[1] != s.cout || got[2] != out[0] || got[3] != out[1] || got[4] != out[2])
    throw Error(detail::concat("conv3d (cudnn): cuDNN's output ", got[0], "x", got[1], "x", got[2],
                               "x", got[3], "x", got[4], " differs from fdl's ", s.n, "x", s.cout,
                               "x", out[0], "x", out[1], "x", out[2]));
}

CudnnConv3d::~CudnnConv3d() = default;

void CudnnConv3d::tune(const float* x, const float* w, float* y, float* gx, float* gw, void* work,
                       size_t work_bytes) {
  State& t = *st_;
  // Find searches under the descriptor's math type (a pass may have changed it since).
  check_cudnn(cudnnSetConvolutionMathType(
                  t.conv, t.math == CudnnMath::Fp32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH),
              "cudnnSetConvolutionMathType");
  int max = 0, n = 0;
  check_cudnn(cudnnGetConvolutionForwardAlgorithmMaxCount(t.handle, &max),
              "cudnnGetConvolutionForwardAlgorithmMaxCount");
  std::vector<cudnnConvolutionFwdAlgoPerf_t> fp(size_t(max > 0 ? max : 1));
  check_cudnn(
      cudnnFindConvolutionForwardAlgorithmEx(t.handle, t.x, x, t.w, w, t.conv, t.y, y,
                                             int(fp.size()), &n, fp.data(), work, work_bytes),
      "cudnnFindConvolutionForwardAlgorithmEx");
  const auto& f = pick(fp, n, work_bytes, t.math, "forward");

  check_cudnn(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(t.handle, &max),
              "cudnnGetConvolutionBackwardDataAlgorithmMaxCount");
  std::vector<cudnnConvolutionBwdDataAlgoPerf_t> dp(size_t(max > 0 ? max : 1));
  check_cudnn(
      cudnnFindConvolutionBackwardDataAlgorithmEx(t.handle, t.w, w, t.y, y, t.conv, t.x, gx,
                                                  int(dp.size()), &n, dp.data(), work, work_bytes),
      "cudnnFindConvolutionBackwardDataAlgorithmEx");
  const auto& d = pick(dp, n, work_bytes, t.math, "data-gradient");

  check_cudnn(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(t.handle, &max),
              "cudnnGetConvolutionBackwardFilterAlgorithmMaxCount");
  std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> wp(size_t(max > 0 ? max : 1));
  check_cudnn(cudnnFindConvolutionBackwardFilterAlgorithmEx(t.handle, t.x, x, t.y, y, t.conv, t.w,
                                                            gw, int(wp.size()), &n, wp.data(), work,
                                                            work_bytes),
              "cudnnFindConvolutionBackwardFilterAlgorithmEx");
  const auto& g = pick(wp, n, work_bytes, t.math, "weight-gradient");

  t.fwd = f.algo;
  t.dgrad = d.algo;
  t.wgrad = g.algo;
  t.fwd_math = t.run_math(f.mathType);
  t.dgrad_math = t.run_math(d.mathType);
  t.wgrad_math = t.run_math(g.mathType);
  t.work = std::max({f.memory, d.memory, g.memory});
  t.names = detail::concat("fwd ", int(t.fwd), ", dgrad ", int(t.dgrad), ", wgrad ", int(t.wgrad));
  t.tuned = true;
}

size_t CudnnConv3d::workspace_bytes() const { return st_->work; }

const char* CudnnConv3d::algorithms() const { return st_->names.c_str(); }

void CudnnConv3d::forward(const float* x, const float* w, float* y, void* work,
                          size_t work_bytes) const {
  const State& t = *st_;
  t.require(work_bytes, t.fwd_math, "forward");
  const float one = 1, zero = 0;
  check_cudnn(cudnnConvolutionForward(t.handle, &one, t.x, x, t.w, w, t.conv, t.fwd, work,
                                      work_bytes, &zero, t.y, y),
              "cudnnConvolutionForward");
}

void CudnnConv3d::backward_data(const float* gy, const float* w, float* gx, void* work,
                                size_t work_bytes) const {
  const State& t = *st_;
  t.require(work_bytes, t.dgrad_math, "data gradient");
  const float one = 1, zero = 0;
  check_cudnn(cudnnConvolutionBackwardData(t.handle, &one, t.w, w, t.y, gy, t.conv, t.dgrad, work,
                                           work_bytes, &zero, t.x, gx),
              "cudnnConvolutionBackwardData");
}

void CudnnConv3d::backward_weight(const float* x, const float* gy, float* gw, void* work,
                                  size_t work_bytes) const {
  const State& t = *st_;
  t.require(work_bytes, t.wgrad_math, "weight gradient");
  const float one = 1, zero = 0;
  check_cudnn(cudnnConvolutionBackwardFilter(t.handle, &one, t.x, x, t.y, gy, t.conv, t.wgrad, work,
                                             work_bytes, &zero, t.w, gw),
              "cudnnConvolutionBackwardFilter");
}

}  // namespace fdl::kernels::cuda
