#include "engine/ops/instance_norm.h"

#include <cmath>

#include "engine/autograd.h"
#include "engine/ops/activation_tap.h"
#include "engine/ops/checks.h"
#include "engine/profile.h"
#include "kernels/cpu/instance_norm.h"
#ifdef FDL_HAVE_CUDA
#include "kernels/common/instance_norm.h"
#include "kernels/cuda/instance_norm.h"
#endif

namespace fdl {

namespace kc = kernels::cpu;

namespace {

// The plain norm, or the norm fused with a leaky ReLU of `slope`.
struct Activation {
  bool fused = false;
  double slope = 0;
  const char* op = "instance_norm";
};

// The kernels' view of x: nc = N*C slices of s voxels.
struct NormShape {
  int64_t nc, s;
};

NormShape norm_shape(const Tensor& x, double eps, const Activation& a) {
  ops::check_float(x, a.op, "x");
  ops::check_ndim(x, 5, a.op, "x");
  FDL_CHECK(eps >= 0 && std::isfinite(eps), a.op, ": eps must be finite and >= 0, got ", eps);
  return {x.size(0) * x.size(1), x.shape().numel_from(2)};
}

// The output and the per-slice 1/std, all the backward needs.
struct Normed {
  Tensor y, rstd;
};

Normed empty_outputs(const Tensor& x, Device d) {
  return {Tensor::empty(x.shape(), x.dtype(), d),
          Tensor::empty({x.size(0), x.size(1)}, x.dtype(), d)};
}

Normed forward_cpu(const NormShape& s, const Tensor& x, double eps, const Activation& a) {
  Normed r = empty_outputs(x, Device::CPU);
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (a.fused)
      kc::instance_norm_leaky_relu_forward(x.data<T>(), r.y.data<T>(), r.rstd.data<T>(), s.nc, s.s,
                                           eps, T(a.slope));
    else
      kc::instance_norm_forward(x.data<T>(), r.y.data<T>(), r.rstd.data<T>(), s.nc, s.s, eps);
  });
  return r;
}

Tensor backward_cpu(const NormShape& s, const Normed& saved, const Tensor& g, const Activation& a) {
  Tensor gx = Tensor::empty(g.shape(), g.dtype());
  dispatch_float(g.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *yp = saved.y.data<T>(), *gp = g.data<T>(), *rp = saved.rstd.data<T>();
    if (a.fused)
      kc::instance_norm_leaky_relu_backward(yp, gp, rp, gx.data<T>(), s.nc, s.s, T(a.slope));
    else
      kc::instance_norm_backward(yp, gp, rp, gx.data<T>(), s.nc, s.s);
  });
  return gx;
}

#ifdef FDL_HAVE_CUDA
namespace kg = kernels::cuda;

// The CUDA kernels' scratch, from the caching allocator.
Tensor cuda_scratch(const NormShape& s) {
  return Tensor::empty({kernels::instance_norm_scratch_doubles(s.nc, s.s)}, DType::F64,
                       Device::CUDA);
}

Normed forward_cuda(const NormShape& s, const Tensor& x, double eps, const Activation& a) {
  Normed r = empty_outputs(x, Device::CUDA);
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor scratch = cuda_scratch(s);
    double* w = scratch.data<double>();
    if (a.fused)
      kg::instance_norm_leaky_relu_forward(x.data<T>(), r.y.data<T>(), r.rstd.data<T>(), s.nc, s.s,
                                           eps, T(a.slope), w);
    else
      kg::instance_norm_forward(x.data<T>(), r.y.data<T>(), r.rstd.data<T>(), s.nc, s.s, eps, w);
  });
  return r;
}

Tensor backward_cuda(const NormShape& s, const Normed& saved, const Tensor& g,
                     const Activation& a) {
  Tensor gx = Tensor::empty(g.shape(), g.dtype(), Device::CUDA);
  dispatch_float(g.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *yp = saved.y.data<T>(), *gp = g.data<T>(), *rp = saved.rstd.data<T>();
    Tensor scratch = cuda_scratch(s);
    double* w = scratch.data<double>();
    if (a.fused)
      kg::instance_norm_leaky_relu_backward(yp, gp, rp, gx.data<T>(), s.nc, s.s, T(a.slope), w);
    else
      kg::instance_norm_backward(yp, gp, rp, gx.data<T>(), s.nc, s.s, w);
  });
  return gx;
}
#else
Normed forward_cuda(const NormShape&, const Tensor&, double, const Activation& a) {
  ops::no_cuda(a.op);
}
Tensor backward_cuda(const NormShape&, const Normed&, const Tensor&, const Activation& a) {
  ops::no_cuda(a.op);
}
#endif

Tensor normalise(const Tensor& x, double eps, const Activation& a) {
  const NormShape s = norm_shape(x, eps, a);
  Normed r = x.device() == Device::CUDA ? forward_cuda(s, x, eps, a) : forward_cpu(s, x, eps, a);
  if (autograd::wants({x})) {
    // The backward needs only the output and 1/std, not x (nor, fused, the normalised value);
    // it runs where its gradient is.
    autograd::record(a.op, r.y, {x}, [s, saved = Normed{r.y.detach(), r.rstd}, a](const Tensor& g) {
      return std::vector<Tensor>{g.device() == Device::CUDA ? backward_cuda(s, saved, g, a)
                                                            : backward_cpu(s, saved, g, a)};
    });
  }
  return r.y;
}

}  // namespace

Tensor instance_norm(const Tensor& x, double eps) {
  FDL_PROFILE_RANGE("instance_norm");
  return normalise(x, eps, Activation{});
}

Tensor instance_norm_leaky_relu(const Tensor& x, double slope, double eps) {
  FDL_PROFILE_RANGE("instance_norm_leaky_relu");
  FDL_CHECK(slope > 0 && std::isfinite(slope),
            "instance_norm_leaky_relu: slope must be finite and > 0 ",
            "(the backward recovers the activation's input from its output), got ", slope);
  Tensor y = normalise(x, eps, Activation{true, slope, "instance_norm_leaky_relu"});
  ops::tap_activation(y);
  return y;
}

}  // namespace fdl
