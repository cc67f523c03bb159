#include "engine/ops/elementwise.h"

#include "engine/autograd.h"
#include "engine/ops/checks.h"
#include "kernels/cpu/elementwise.h"

namespace fdl {

namespace kc = kernels::cpu;

Tensor add(const Tensor& a, const Tensor& b) {
  ops::check_like(a, b, "add", "a", "b");
  if (a.device() == Device::CUDA) ops::no_cuda("add");
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  dispatch_float(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kc::add(a.data<T>(), b.data<T>(), out.data<T>(), a.numel());
  });
  if (autograd::wants({a, b}))
    autograd::record("add", out, {a, b}, [](const Tensor& g) { return std::vector<Tensor>{g, g}; });
  return out;
}

void add_(Tensor& dst, const Tensor& src) {
  ops::check_like(dst, src, "add_", "dst", "src");
  if (dst.device() == Device::CUDA) ops::no_cuda("add_");
  dispatch_float(dst.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kc::add_inplace(dst.data<T>(), src.data<T>(), dst.numel());
  });
}

Tensor scale(const Tensor& a, double s) {
  ops::check_float(a, "scale", "a");
  if (a.device() == Device::CUDA) ops::no_cuda("scale");
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  dispatch_float(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kc::scale(a.data<T>(), T(s), out.data<T>(), a.numel());
  });
  if (autograd::wants({a}))
    autograd::record("scale", out, {a}, [s](const Tensor& g) { return std::vector<Tensor>{scale(g, s)}; });
  return out;
}

Tensor sigmoid(const Tensor& x) {
  ops::check_float(x, "sigmoid", "x");
  if (x.device() == Device::CUDA) ops::no_cuda("sigmoid");
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kc::sigmoid_forward(x.data<T>(), y.data<T>(), x.numel());
  });
  if (autograd::wants({x})) {
    autograd::record("sigmoid", y, {x}, [y = y.detach()](const Tensor& g) {
      Tensor gx = Tensor::empty(g.shape(), g.dtype(), g.device());
      dispatch_float(g.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        kc::sigmoid_backward(y.data<T>(), g.data<T>(), gx.data<T>(), g.numel());
      });
      return std::vector<Tensor>{gx};
    });
  }
  return y;
}

Tensor leaky_relu(const Tensor& x, double slope) {
  ops::check_float(x, "leaky_relu", "x");
  if (x.device() == Device::CUDA) ops::no_cuda("leaky_relu");
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kc::leaky_relu_forward(x.data<T>(), T(slope), y.data<T>(), x.numel());
  });
  if (autograd::wants({x})) {
    autograd::record("leaky_relu", y, {x}, [x = x.detach(), slope](const Tensor& g) {
      Tensor gx = Tensor::empty(g.shape(), g.dtype(), g.device());
      dispatch_float(g.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        kc::leaky_relu_backward(x.data<T>(), g.data<T>(), T(slope), gx.data<T>(), g.numel());
      });
      return std::vector<Tensor>{gx};
    });
  }
  return y;
}

}  // namespace fdl
