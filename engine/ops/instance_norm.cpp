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

#ifdef FDL_HAVE_CUDA
// The CUDA kernels' scratch, from the caching allocator.
double* cuda_scratch(Tensor& holder, int64_t nc, int64_t s) {
  holder = Tensor::empty({kernels::instance_norm_scratch_doubles(nc, s)}, DType::F64, Device::CUDA);
  return holder.data<double>();
}
#endif

Tensor backward(const Tensor& y, const Tensor& g, const Tensor& rstd, int64_t nc, int64_t s,
                const Activation& a) {
  Tensor gx = Tensor::empty(g.shape(), g.dtype(), g.device());
  dispatch_float(g.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *yp = y.data<T>(), *gp = g.data<T>(), *rp = rstd.data<T>();
    T* out = gx.data<T>();
    if (g.device() == Device::CPU) {
      if (a.fused)
        kc::instance_norm_leaky_relu_backward(yp, gp, rp, out, nc, s, T(a.slope));
      else
        kc::instance_norm_backward(yp, gp, rp, out, nc, s);
    } else {
#ifdef FDL_HAVE_CUDA
      Tensor scratch;
      double* w = cuda_scratch(scratch, nc, s);
      if (a.fused)
        kernels::cuda::instance_norm_leaky_relu_backward(yp, gp, rp, out, nc, s, T(a.slope), w);
      else
        kernels::cuda::instance_norm_backward(yp, gp, rp, out, nc, s, w);
#else
      ops::no_cuda(a.op);
#endif
    }
  });
  return gx;
}

Tensor forward(const Tensor& x, double eps, const Activation& a) {
  ops::check_float(x, a.op, "x");
  ops::check_ndim(x, 5, a.op, "x");
  FDL_CHECK(eps >= 0 && std::isfinite(eps), a.op, ": eps must be finite and >= 0, got ", eps);
  const int64_t nc = x.size(0) * x.size(1), s = x.shape().numel_from(2);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor rstd = Tensor::empty({x.size(0), x.size(1)}, x.dtype(), x.device());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xp = x.data<T>();
    T *yp = y.data<T>(), *rp = rstd.data<T>();
    if (x.device() == Device::CPU) {
      if (a.fused)
        kc::instance_norm_leaky_relu_forward(xp, yp, rp, nc, s, eps, T(a.slope));
      else
        kc::instance_norm_forward(xp, yp, rp, nc, s, eps);
    } else {
#ifdef FDL_HAVE_CUDA
      Tensor scratch;
      double* w = cuda_scratch(scratch, nc, s);
      if (a.fused)
        kernels::cuda::instance_norm_leaky_relu_forward(xp, yp, rp, nc, s, eps, T(a.slope), w);
      else
        kernels::cuda::instance_norm_forward(xp, yp, rp, nc, s, eps, w);
#else
      ops::no_cuda(a.op);
#endif
    }
  });
  if (autograd::wants({x})) {
    // The backward needs only the output and 1/std, not x (nor, fused, the normalised value).
    autograd::record(a.op, y, {x}, [y = y.detach(), rstd, nc, s, a](const Tensor& g) {
      return std::vector<Tensor>{backward(y, g, rstd, nc, s, a)};
    });
  }
  return y;
}

}  // namespace

Tensor instance_norm(const Tensor& x, double eps) {
  FDL_PROFILE_RANGE("instance_norm");
  return forward(x, eps, Activation{});
}

Tensor instance_norm_leaky_relu(const Tensor& x, double slope, double eps) {
  FDL_PROFILE_RANGE("instance_norm_leaky_relu");
  FDL_CHECK(slope > 0 && std::isfinite(slope), "instance_norm_leaky_relu: slope must be finite and > 0 ",
            "(the backward recovers the activation's input from its output), got ", slope);
  Tensor y = forward(x, eps, Activation{true, slope, "instance_norm_leaky_relu"});
  ops::tap_activation(y);
  return y;
}

}  // namespace fdl
