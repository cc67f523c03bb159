#include "engine/ops/upsample.h"

#include "engine/autograd.h"
#include "engine/ops/checks.h"
#include "engine/profile.h"
#include "kernels/cpu/upsample.h"
#ifdef FDL_HAVE_CUDA
#include "kernels/cuda/upsample.h"
#endif

namespace fdl {

namespace kc = kernels::cpu;

namespace {

// The kernels' view of x: N*C volumes of X*Y*Z, and x's shape for its gradient.
struct UpsampleShape {
  Shape in;
  int64_t nc, X, Y, Z;
  Shape out() const { return {in[0], in[1], 2 * X, 2 * Y, 2 * Z}; }
};

UpsampleShape upsample_shape(const Tensor& x) {
  ops::check_float(x, "upsample_nearest2x", "x");
  ops::check_ndim(x, 5, "upsample_nearest2x", "x");
  return {x.shape(), x.size(0) * x.size(1), x.size(2), x.size(3), x.size(4)};
}

Tensor forward_cpu(const UpsampleShape& s, const Tensor& x) {
  Tensor y = Tensor::empty(s.out(), x.dtype());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kc::upsample_nearest2x_forward(x.data<T>(), y.data<T>(), s.nc, s.X, s.Y, s.Z);
  });
  return y;
}

Tensor backward_cpu(const UpsampleShape& s, const Tensor& g) {
  Tensor gx = Tensor::empty(s.in, g.dtype());
  dispatch_float(g.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kc::upsample_nearest2x_backward(g.data<T>(), gx.data<T>(), s.nc, s.X, s.Y, s.Z);
  });
  return gx;
}

#ifdef FDL_HAVE_CUDA
namespace kg = kernels::cuda;

Tensor forward_cuda(const UpsampleShape& s, const Tensor& x) {
  Tensor y = Tensor::empty(s.out(), x.dtype(), Device::CUDA);
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kg::upsample_nearest2x_forward(x.data<T>(), y.data<T>(), s.nc, s.X, s.Y, s.Z);
  });
  return y;
}

Tensor backward_cuda(const UpsampleShape& s, const Tensor& g) {
  Tensor gx = Tensor::empty(s.in, g.dtype(), Device::CUDA);
  dispatch_float(g.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kg::upsample_nearest2x_backward(g.data<T>(), gx.data<T>(), s.nc, s.X, s.Y, s.Z);
  });
  return gx;
}
#else
Tensor forward_cuda(const UpsampleShape&, const Tensor&) { ops::no_cuda("upsample_nearest2x"); }
Tensor backward_cuda(const UpsampleShape&, const Tensor&) { ops::no_cuda("upsample_nearest2x"); }
#endif

}  // namespace

Tensor upsample_nearest2x(const Tensor& x) {
  FDL_PROFILE_RANGE("upsample_nearest2x");
  const UpsampleShape s = upsample_shape(x);
  Tensor y = x.device() == Device::CUDA ? forward_cuda(s, x) : forward_cpu(s, x);
  if (autograd::wants({x})) {
    // The backward runs where its gradient is; it saves nothing.
    autograd::record("upsample_nearest2x", y, {x}, [s](const Tensor& g) {
      return std::vector<Tensor>{g.device() == Device::CUDA ? backward_cuda(s, g)
                                                            : backward_cpu(s, g)};
    });
  }
  return y;
}

}  // namespace fdl
