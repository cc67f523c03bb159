// The GPU half of engine/bench/conv3d_bench.h.
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/autograd.h"
#include "engine/bench/conv3d_bench.h"
#include "engine/bench/timing.h"
#include "engine/ops/conv3d.h"
#include "engine/random.h"
#ifdef FDL_HAVE_CUDNN
#include "kernels/cuda/conv3d_cudnn.h"
#endif

namespace fdl::bench {

namespace {

#ifdef FDL_HAVE_CUDNN
// cudnnFind may try algorithms with up to this much workspace (PyTorch's benchmark mode
// offers what the device has free; 2 GiB leaves none of the fast ones out at these sizes).
constexpr size_t kCudnnWorkspaceCap = size_t(2) << 30;

Tensor gpu_empty(const Shape& s) { return Tensor::empty(s, DType::F32, Device::CUDA); }
#endif

// max|got - ref| / max|ref| over all elements; infinity when got holds a NaN.
double rel_err(const Tensor& got_gpu, const Tensor& ref) {
  const Tensor got = got_gpu.to(Device::CPU);
  const float* g = got.data<float>();
  const float* r = ref.data<float>();
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    const double d = std::abs(double(g[i]) - double(r[i]));
    if (!(d <= diff)) diff = std::isnan(d) ? std::numeric_limits<double>::infinity() : d;
    scale = std::max(scale, std::abs(double(r[i])));
  }
  return diff / std::max(scale, std::numeric_limits<double>::min());
}

// conv3d recorded with a gradient for x only (data) or w only (weight); its backward node
// can then be called again and again without the tape releasing it.
std::shared_ptr<Node> grad_node(const Tensor& x, const Tensor& w, const kernels::Conv3dShape& s,
                                bool data) {
  Tensor xs = x.detach(), ws = w.detach();
  (data ? xs : ws).set_requires_grad(true);
  return conv3d(xs, ws, Tensor(), s.stride, s.pad).grad_fn();
}

}  // namespace

const std::vector<std::string>& gpu_conv_versions() {
  static const std::vector<std::string> v{"direct", "tiled", "tf32", "cudnn", "cudnn-tf32"};
  return v;
}

bool cudnn_in_build() {
#ifdef FDL_HAVE_CUDNN
  return true;
#else
  return false;
#endif
}

GpuConv3dBench::GpuConv3dBench(const kernels::Conv3dShape& s) : s_(s) {
  Generator g(1);
  x_ = rand_normal({s.n, s.cin, s.in[0], s.in[1], s.in[2]}, g).to(Device::CUDA);
  w_ = rand_normal({s.cout, s.cin, s.k, s.k, s.k}, g).to(Device::CUDA);
  gy_ = rand_normal({s.n, s.cout, s.out(0), s.out(1), s.out(2)}, g).to(Device::CUDA);
  set_cuda_conv_algo(ConvAlgo::Direct);
  {
    autograd::NoGrad no_grad;
    ref_y_ = conv3d(x_, w_, Tensor(), s.stride, s.pad).to(Device::CPU);
  }
  ref_gx_ = grad_node(x_, w_, s, true)->fn(gy_)[0].to(Device::CPU);
  ref_gw_ = grad_node(x_, w_, s, false)->fn(gy_)[1].to(Device::CPU);
}

double GpuConv3dBench::error_of(const Tensor& y, const Tensor& gx, const Tensor& gw) const {
  return std::max({rel_err(y, ref_y_), rel_err(gx, ref_gx_), rel_err(gw, ref_gw_)});
}

GpuConv3dRun GpuConv3dBench::run(const std::string& version, int repeat) {
  if (version == "cudnn" || version == "cudnn-tf32")
    return run_cudnn(version == "cudnn-tf32", repeat);
  return run_engine(version, repeat);
}

GpuConv3dRun GpuConv3dBench::run_engine(const std::string& version, int repeat) {
  set_cuda_conv_algo(parse_conv_algo(version));
  const int stride = s_.stride, pad = s_.pad;
  auto forward = [&] {
    autograd::NoGrad no_grad;
    return conv3d(x_, w_, Tensor(), stride, pad);
  };
  const std::shared_ptr<Node> data = grad_node(x_, w_, s_, true),
                              weight = grad_node(x_, w_, s_, false);
  GpuConv3dRun r;
  r.max_rel_err = error_of(forward(), data->fn(gy_)[0], weight->fn(gy_)[1]);
  r.times.fwd = median_device_seconds(forward, repeat);
  r.times.dgrad = median_device_seconds([&] { data->fn(gy_); }, repeat);
  r.times.wgrad = median_device_seconds([&] { weight->fn(gy_); }, repeat);
  return r;
}

GpuConv3dRun GpuConv3dBench::run_cudnn(bool tf32, int repeat) {
#ifdef FDL_HAVE_CUDNN
  namespace kc = kernels::cuda;
  kc::CudnnConv3d c(s_, tf32 ? kc::CudnnMath::Tf32 : kc::CudnnMath::Fp32);
  Tensor y = gpu_empty(gy_.shape()), gx = gpu_empty(x_.shape()), gw = gpu_empty(w_.shape());
  const float *x = x_.data<float>(), *w = w_.data<float>(), *gy = gy_.data<float>();
  size_t work_bytes = kCudnnWorkspaceCap;
  Tensor work = Tensor::empty({int64_t(work_bytes / sizeof(float))}, DType::F32, Device::CUDA);
  c.tune(x, w, y.data<float>(), gx.data<float>(), gw.data<float>(), work.raw(), work_bytes);
  work_bytes = std::max<size_t>(c.workspace_bytes(), sizeof(float));
  work = Tensor::empty({int64_t((work_bytes + sizeof(float) - 1) / sizeof(float))}, DType::F32,
                       Device::CUDA);
  void* ws = work.raw();
  auto forward = [&] { c.forward(x, w, y.data<float>(), ws, work_bytes); };
  auto data = [&] { c.backward_data(gy, w, gx.data<float>(), ws, work_bytes); };
  auto weight = [&] { c.backward_weight(x, gy, gw.data<float>(), ws, work_bytes); };
  forward();
  data();
  weight();
  GpuConv3dRun r;
  r.max_rel_err = error_of(y, gx, gw);
  r.note = c.algorithms();
  r.times.fwd = median_device_seconds(forward, repeat);
  r.times.dgrad = median_device_seconds(data, repeat);
  r.times.wgrad = median_device_seconds(weight, repeat);
  return r;
#else
  (void)repeat;
  throw Error(std::string("bench conv3d: --conv ") + (tf32 ? "cudnn-tf32" : "cudnn") +
              ": cuDNN is not in this build (CMake found no cudnn.h and libcudnn)");
#endif
}

}  // namespace fdl::bench
