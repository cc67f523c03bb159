#include "engine/ops/instance_norm.h"

#include <cmath>

#include "engine/autograd.h"
#include "engine/ops/checks.h"
#include "kernels/cpu/instance_norm.h"

namespace fdl {

namespace kc = kernels::cpu;

Tensor instance_norm(const Tensor& x, double eps) {
  ops::check_float(x, "instance_norm", "x");
  ops::check_ndim(x, 5, "instance_norm", "x");
  FDL_CHECK(eps >= 0 && std::isfinite(eps), "instance_norm: eps must be finite and >= 0, got ", eps);
  if (x.device() == Device::CUDA) ops::no_cuda("instance_norm");
  const int64_t nc = x.size(0) * x.size(1), s = x.shape().numel_from(2);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor rstd = Tensor::empty({x.size(0), x.size(1)}, x.dtype(), x.device());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kc::instance_norm_forward(x.data<T>(), y.data<T>(), rstd.data<T>(), nc, s, eps);
  });
  if (autograd::wants({x})) {
    // The backward needs only the normalised output and 1/std, not x.
    autograd::record("instance_norm", y, {x}, [y = y.detach(), rstd, nc, s](const Tensor& g) {
      Tensor gx = Tensor::empty(g.shape(), g.dtype(), g.device());
      dispatch_float(g.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        kc::instance_norm_backward(y.data<T>(), g.data<T>(), rstd.data<T>(), gx.data<T>(), nc, s);
      });
      return std::vector<Tensor>{gx};
    });
  }
  return y;
}

}  // namespace fdl
