#include "engine/ops/elementwise.h"

#include "engine/autograd.h"
#include "engine/ops/activation_tap.h"
#include "engine/ops/checks.h"
#include "engine/profile.h"
#include "kernels/cpu/elementwise.h"
#ifdef FDL_HAVE_CUDA
#include "kernels/cuda/elementwise.h"
#endif

namespace fdl {

namespace kc = kernels::cpu;

namespace {

// The elementwise ops; each is one kernel per pass over n elements.
enum class Fn { Add, AddInplace, Scale, Sigmoid, LeakyRelu };

const char* op_name(Fn f) {
  switch (f) {
    case Fn::Add: return "add";
    case Fn::AddInplace: return "add_";
    case Fn::Scale: return "scale";
    case Fn::Sigmoid: return "sigmoid";
    case Fn::LeakyRelu: return "leaky_relu";
  }
  return "?";
}

// The op's argument checks; the element count, all the kernels need. b is add's and add_'s
// second operand.
int64_t checked_numel(Fn f, const Tensor& a, const Tensor& b) {
  if (f == Fn::Add)
    ops::check_like(a, b, "add", "a", "b");
  else if (f == Fn::AddInplace)
    ops::check_like(a, b, "add_", "dst", "src");
  else
    ops::check_float(a, op_name(f), f == Fn::Scale ? "a" : "x");
  return a.numel();
}

// out = f(a, b, s), elementwise; for add_, out is a and b is added into it. The CUDA twin
// is the same switch over kernels::cuda, whose kernels have the same names and signatures.
template <class T>
void forward_cpu(Fn f, const T* a, const T* b, T s, T* out, int64_t n) {
  switch (f) {
    case Fn::Add: return kc::add(a, b, out, n);
    case Fn::AddInplace: return kc::add_inplace(out, b, n);
    case Fn::Scale: return kc::scale(a, s, out, n);
    case Fn::Sigmoid: return kc::sigmoid_forward(a, out, n);
    case Fn::LeakyRelu: return kc::leaky_relu_forward(a, s, out, n);
  }
}

// gx from the gradient g and the saved tensor of sigmoid (its output) or leaky ReLU (its
// input); add and scale differentiate through the ops themselves.
template <class T>
void backward_cpu(Fn f, const T* saved, const T* g, T s, T* gx, int64_t n) {
  if (f == Fn::Sigmoid)
    kc::sigmoid_backward(saved, g, gx, n);
  else
    kc::leaky_relu_backward(saved, g, s, gx, n);
}

#ifdef FDL_HAVE_CUDA
namespace kg = kernels::cuda;

template <class T>
void forward_cuda(Fn f, const T* a, const T* b, T s, T* out, int64_t n) {
  switch (f) {
    case Fn::Add: return kg::add(a, b, out, n);
    case Fn::AddInplace: return kg::add_inplace(out, b, n);
    case Fn::Scale: return kg::scale(a, s, out, n);
    case Fn::Sigmoid: return kg::sigmoid_forward(a, out, n);
    case Fn::LeakyRelu: return kg::leaky_relu_forward(a, s, out, n);
  }
}

template <class T>
void backward_cuda(Fn f, const T* saved, const T* g, T s, T* gx, int64_t n) {
  if (f == Fn::Sigmoid)
    kg::sigmoid_backward(saved, g, gx, n);
  else
    kg::leaky_relu_backward(saved, g, s, gx, n);
}
#else
template <class T>
void forward_cuda(Fn f, const T*, const T*, T, T*, int64_t) {
  ops::no_cuda(op_name(f));
}
template <class T>
void backward_cuda(Fn f, const T*, const T*, T, T*, int64_t) {
  ops::no_cuda(op_name(f));
}
#endif

// Checks f's arguments and runs its forward kernel on a's device: into a new tensor, or for
// add_ into a itself.
Tensor forward(Fn f, const Tensor& a, const Tensor& b = Tensor(), double s = 0) {
  const int64_t n = checked_numel(f, a, b);
  Tensor out = f == Fn::AddInplace ? a : Tensor::empty(a.shape(), a.dtype(), a.device());
  dispatch_float(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* bp = b.defined() ? b.data<T>() : nullptr;
    if (a.device() == Device::CUDA)
      forward_cuda<T>(f, a.data<T>(), bp, T(s), out.data<T>(), n);
    else
      forward_cpu<T>(f, a.data<T>(), bp, T(s), out.data<T>(), n);
  });
  return out;
}

Tensor backward(Fn f, const Tensor& saved, const Tensor& g, double s) {
  Tensor gx = Tensor::empty(g.shape(), g.dtype(), g.device());
  dispatch_float(g.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (g.device() == Device::CUDA)
      backward_cuda<T>(f, saved.data<T>(), g.data<T>(), T(s), gx.data<T>(), g.numel());
    else
      backward_cpu<T>(f, saved.data<T>(), g.data<T>(), T(s), gx.data<T>(), g.numel());
  });
  return gx;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  FDL_PROFILE_RANGE("add");
  Tensor out = forward(Fn::Add, a, b);
  if (autograd::wants({a, b}))
    autograd::record("add", out, {a, b}, [](const Tensor& g) { return std::vector<Tensor>{g, g}; });
  return out;
}

void add_(Tensor& dst, const Tensor& src) {
  FDL_PROFILE_RANGE("add_");
  forward(Fn::AddInplace, dst, src);
}

Tensor scale(const Tensor& a, double s) {
  FDL_PROFILE_RANGE("scale");
  Tensor out = forward(Fn::Scale, a, Tensor(), s);
  if (autograd::wants({a}))
    autograd::record("scale", out, {a},
                     [s](const Tensor& g) { return std::vector<Tensor>{scale(g, s)}; });
  return out;
}

Tensor sigmoid(const Tensor& x) {
  FDL_PROFILE_RANGE("sigmoid");
  Tensor y = forward(Fn::Sigmoid, x);
  if (autograd::wants({x}))
    autograd::record("sigmoid", y, {x}, [y = y.detach()](const Tensor& g) {
      return std::vector<Tensor>{backward(Fn::Sigmoid, y, g, 0)};
    });
  return y;
}

Tensor leaky_relu(const Tensor& x, double slope) {
  FDL_PROFILE_RANGE("leaky_relu");
  Tensor y = forward(Fn::LeakyRelu, x, Tensor(), slope);
  ops::tap_activation(y);
  if (autograd::wants({x}))
    autograd::record("leaky_relu", y, {x}, [x = x.detach(), slope](const Tensor& g) {
      return std::vector<Tensor>{backward(Fn::LeakyRelu, x, g, slope)};
    });
  return y;
}

}  // namespace fdl
