#include "engine/ops/elementwise.h"

#include "engine/autograd.h"
#include "engine/ops/activation_tap.h"
#include "engine/ops/checks.h"
#include "engine/profile.h"
#include "kernels/cpu/elementwise.h"
#ifdef FDL_HAVE_CUDA
#include "kernels/cuda/elementwise.h"
#endif

// Runs `call`, a kernel call written without its namespace, on the device `dev`: the CPU and
// CUDA kernels share names and signatures.
#ifdef FDL_HAVE_CUDA
#define FDL_ELEMENTWISE(dev, op, call) \
  ((dev) == Device::CPU ? kernels::cpu::call : kernels::cuda::call)
#else
#define FDL_ELEMENTWISE(dev, op, call) ((dev) == Device::CPU ? kernels::cpu::call : ops::no_cuda(op))
#endif

namespace fdl {

Tensor add(const Tensor& a, const Tensor& b) {
  FDL_PROFILE_RANGE("add");
  ops::check_like(a, b, "add", "a", "b");
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  dispatch_float(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    FDL_ELEMENTWISE(a.device(), "add", add(a.data<T>(), b.data<T>(), out.data<T>(), a.numel()));
  });
  if (autograd::wants({a, b}))
    autograd::record("add", out, {a, b}, [](const Tensor& g) { return std::vector<Tensor>{g, g}; });
  return out;
}

void add_(Tensor& dst, const Tensor& src) {
  FDL_PROFILE_RANGE("add_");
  ops::check_like(dst, src, "add_", "dst", "src");
  dispatch_float(dst.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    FDL_ELEMENTWISE(dst.device(), "add_", add_inplace(dst.data<T>(), src.data<T>(), dst.numel()));
  });
}

Tensor scale(const Tensor& a, double s) {
  FDL_PROFILE_RANGE("scale");
  ops::check_float(a, "scale", "a");
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  dispatch_float(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    FDL_ELEMENTWISE(a.device(), "scale", scale(a.data<T>(), T(s), out.data<T>(), a.numel()));
  });
  if (autograd::wants({a}))
    autograd::record("scale", out, {a}, [s](const Tensor& g) { return std::vector<Tensor>{scale(g, s)}; });
  return out;
}

Tensor sigmoid(const Tensor& x) {
  FDL_PROFILE_RANGE("sigmoid");
  ops::check_float(x, "sigmoid", "x");
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    FDL_ELEMENTWISE(x.device(), "sigmoid", sigmoid_forward(x.data<T>(), y.data<T>(), x.numel()));
  });
  if (autograd::wants({x})) {
    autograd::record("sigmoid", y, {x}, [y = y.detach()](const Tensor& g) {
      Tensor gx = Tensor::empty(g.shape(), g.dtype(), g.device());
      dispatch_float(g.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        FDL_ELEMENTWISE(g.device(), "sigmoid",
                        sigmoid_backward(y.data<T>(), g.data<T>(), gx.data<T>(), g.numel()));
      });
      return std::vector<Tensor>{gx};
    });
  }
  return y;
}

Tensor leaky_relu(const Tensor& x, double slope) {
  FDL_PROFILE_RANGE("leaky_relu");
  ops::check_float(x, "leaky_relu", "x");
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    FDL_ELEMENTWISE(x.device(), "leaky_relu",
                    leaky_relu_forward(x.data<T>(), T(slope), y.data<T>(), x.numel()));
  });
  ops::tap_activation(y);
  if (autograd::wants({x})) {
    autograd::record("leaky_relu", y, {x}, [x = x.detach(), slope](const Tensor& g) {
      Tensor gx = Tensor::empty(g.shape(), g.dtype(), g.device());
      dispatch_float(g.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        FDL_ELEMENTWISE(g.device(), "leaky_relu",
                        leaky_relu_backward(x.data<T>(), g.data<T>(), T(slope), gx.data<T>(), g.numel()));
      });
      return std::vector<Tensor>{gx};
    });
  }
  return y;
}

}  // namespace fdl
