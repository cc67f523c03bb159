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

Tensor upsample_nearest2x(const Tensor& x) {
  FDL_PROFILE_RANGE("upsample_nearest2x");
  ops::check_float(x, "upsample_nearest2x", "x");
  ops::check_ndim(x, 5, "upsample_nearest2x", "x");
  const int64_t nc = x.size(0) * x.size(1), X = x.size(2), Y = x.size(3), Z = x.size(4);
  Tensor y = Tensor::empty({x.size(0), x.size(1), 2 * X, 2 * Y, 2 * Z}, x.dtype(), x.device());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (x.device() == Device::CPU) {
      kc::upsample_nearest2x_forward(x.data<T>(), y.data<T>(), nc, X, Y, Z);
    } else {
#ifdef FDL_HAVE_CUDA
      kernels::cuda::upsample_nearest2x_forward(x.data<T>(), y.data<T>(), nc, X, Y, Z);
#else
      ops::no_cuda("upsample_nearest2x");
#endif
    }
  });
  if (autograd::wants({x})) {
    autograd::record("upsample_nearest2x", y, {x}, [in = x.shape()](const Tensor& g) {
      Tensor gx = Tensor::empty(in, g.dtype(), g.device());
      dispatch_float(g.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        const int64_t nc = in[0] * in[1];
        if (g.device() == Device::CPU) {
          kc::upsample_nearest2x_backward(g.data<T>(), gx.data<T>(), nc, in[2], in[3], in[4]);
        } else {
#ifdef FDL_HAVE_CUDA
          kernels::cuda::upsample_nearest2x_backward(g.data<T>(), gx.data<T>(), nc, in[2], in[3], in[4]);
#else
          ops::no_cuda("upsample_nearest2x");
#endif
        }
      });
      return std::vector<Tensor>{gx};
    });
  }
  return y;
}

}  // namespace fdl
