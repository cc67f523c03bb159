#include "engine/ops/upsample.h"

#include "engine/autograd.h"
#include "engine/ops/checks.h"
#include "kernels/cpu/upsample.h"

namespace fdl {

namespace kc = kernels::cpu;

Tensor upsample_nearest2x(const Tensor& x) {
  ops::check_float(x, "upsample_nearest2x", "x");
  ops::check_ndim(x, 5, "upsample_nearest2x", "x");
  if (x.device() == Device::CUDA) ops::no_cuda("upsample_nearest2x");
  const int64_t nc = x.size(0) * x.size(1), X = x.size(2), Y = x.size(3), Z = x.size(4);
  Tensor y = Tensor::empty({x.size(0), x.size(1), 2 * X, 2 * Y, 2 * Z}, x.dtype(), x.device());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kc::upsample_nearest2x_forward(x.data<T>(), y.data<T>(), nc, X, Y, Z);
  });
  if (autograd::wants({x})) {
    autograd::record("upsample_nearest2x", y, {x}, [in = x.shape()](const Tensor& g) {
      Tensor gx = Tensor::empty(in, g.dtype(), g.device());
      dispatch_float(g.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        kc::upsample_nearest2x_backward(g.data<T>(), gx.data<T>(), in[0] * in[1], in[2], in[3], in[4]);
      });
      return std::vector<Tensor>{gx};
    });
  }
  return y;
}

}  // namespace fdl
