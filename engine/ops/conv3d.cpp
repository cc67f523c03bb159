#include "engine/ops/conv3d.h"

#include <omp.h>

#include "engine/autograd.h"
#include "engine/ops/checks.h"
#include "engine/profile.h"
#include "kernels/common/conv3d_gemm.h"
#include "kernels/cpu/conv3d.h"
#ifdef FDL_HAVE_CUDA
#include "kernels/cuda/conv3d.h"
#endif

namespace fdl {

namespace kc = kernels::cpu;

namespace {

// The GPU's choice, set once by the command line (not per thread).
ConvAlgo g_algo = ConvAlgo::Tiled;
bool g_nondeterministic = false;

kernels::Conv3dShape conv_shape(const Tensor& x, const Tensor& w, const Tensor& bias, int stride,
                                int padding) {
  const char* op = "conv3d";
  ops::check_float(x, op, "x");
  ops::check_float(w, op, "w");
  ops::check_ndim(x, 5, op, "x");
  ops::check_ndim(w, 5, op, "w");
  FDL_CHECK(w.dtype() == x.dtype(), op, ": 'w' is ", dtype_name(w.dtype()), " but 'x' is ",
            dtype_name(x.dtype()));
  FDL_CHECK(w.device() == x.device(), op, ": 'w' and 'x' are on different devices");
  FDL_CHECK(w.size(1) == x.size(1), op, ": 'w' ", w.shape().str(), " expects ", w.size(1),
            " input channels but 'x' ", x.shape().str(), " has ", x.size(1));
  const int64_t k = w.size(2);
  FDL_CHECK((k == 1 || k == 3) && w.size(3) == k && w.size(4) == k, op,
            ": 'w' must be a 1x1x1 or 3x3x3 kernel, got shape ", w.shape().str());
  FDL_CHECK(stride == 1 || stride == 2, op, ": 'stride' must be 1 or 2, got ", stride);
  FDL_CHECK(padding == 0 || padding == 1, op, ": 'padding' must be 0 or 1, got ", padding);
  if (bias.defined()) {
    ops::check_float(bias, op, "bias");
    FDL_CHECK(bias.ndim() == 1 && bias.size(0) == w.size(0), op, ": 'bias' must have shape (",
              w.size(0), "), got ", bias.shape().str());
    FDL_CHECK(bias.dtype() == x.dtype() && bias.device() == x.device(), op,
              ": 'bias' must match 'x' in dtype and device");
  }
  kernels::Conv3dShape s;
  s.n = int(x.size(0));
  s.cin = int(x.size(1));
  s.cout = int(w.size(0));
  for (int a = 0; a < 3; ++a) s.in[a] = int(x.size(2 + a));
  s.k = int(k);
  s.stride = stride;
  s.pad = padding;
  for (int a = 0; a < 3; ++a)
    FDL_CHECK(s.in[a] + 2 * padding >= k, op, ": 'x' ", x.shape().str(),
              " is smaller than the kernel along axis ", 2 + a);
  return s;
}

Shape out_shape(const kernels::Conv3dShape& s) {
  return {s.n, s.cout, s.out(0), s.out(1), s.out(2)};
}

Tensor scratch(int64_t elements, DType t) { return Tensor::empty({elements}, t); }

// How a GPU convolution runs, read once in the forward so the backward pairs with it.
struct GpuPlan {
  kernels::ConvKernel kind = kernels::ConvKernel::Tiled;
  bool deterministic = true;
};

// Float64 always runs the direct kernels.
GpuPlan gpu_plan(DType t) {
  GpuPlan p;
  p.deterministic = !g_nondeterministic;
  if (t == DType::F64 || g_algo == ConvAlgo::Direct)
    p.kind = kernels::ConvKernel::Direct;
  else if (g_algo == ConvAlgo::Tf32)
    p.kind = kernels::ConvKernel::Tf32;
  return p;
}

// Which of x, w and bias want a gradient. The backward passes return grads[0..2] for them
// (undefined where not wanted) from the saved input xs and weight ws.
struct Wanted {
  bool x, w, bias;
};

Tensor forward_cpu(const kernels::Conv3dShape& s, const Tensor& x, const Tensor& w,
                   const Tensor& bias) {
  const int threads = omp_get_max_threads();
  Tensor y = Tensor::empty(out_shape(s), x.dtype(), x.device());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor work = scratch(kc::conv3d_forward_scratch<T>(s, threads), x.dtype());
    kc::conv3d_forward<T>(s, x.data<T>(), w.data<T>(), bias.defined() ? bias.data<T>() : nullptr,
                          y.data<T>(), work.data<T>(), threads);
  });
  return y;
}

std::vector<Tensor> backward_cpu(const kernels::Conv3dShape& s, const Tensor& g, const Tensor& xs,
                                 const Tensor& ws, Wanted want) {
  std::vector<Tensor> grads(3);
  const int threads = omp_get_max_threads();
  dispatch_float(g.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (want.x) {
      Tensor work = scratch(kc::conv3d_backward_data_scratch<T>(s, threads), g.dtype());
      grads[0] = Tensor::empty({s.n, s.cin, s.in[0], s.in[1], s.in[2]}, g.dtype());
      kc::conv3d_backward_data<T>(s, g.data<T>(), ws.data<T>(), grads[0].data<T>(), work.data<T>(),
                                  threads);
    }
    if (want.w) {
      Tensor work = scratch(kc::conv3d_backward_weight_scratch<T>(s, threads), g.dtype());
      grads[1] = Tensor::empty({s.cout, s.cin, s.k, s.k, s.k}, g.dtype());
      kc::conv3d_backward_weight<T>(s, xs.data<T>(), g.data<T>(), grads[1].data<T>(),
                                    work.data<T>(), threads);
    }
    if (want.bias) {
      grads[2] = Tensor::empty({s.cout}, g.dtype());
      kc::conv3d_backward_bias<T>(s, g.data<T>(), grads[2].data<T>());
    }
  });
  return grads;
}

#ifdef FDL_HAVE_CUDA
namespace kg = kernels::cuda;

// Scratch on the GPU from the caching allocator; at least one element so it is allocated.
Tensor gpu_scratch(int64_t elements, DType t) {
  return Tensor::empty({elements > 0 ? elements : 1}, t, Device::CUDA);
}

Tensor forward_cuda(const kernels::Conv3dShape& s, GpuPlan plan, const Tensor& x, const Tensor& w,
                    const Tensor& bias) {
  Tensor y = Tensor::empty(out_shape(s), x.dtype(), Device::CUDA);
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kg::conv3d_forward<T>(plan.kind, s, x.data<T>(), w.data<T>(),
                          bias.defined() ? bias.data<T>() : nullptr, y.data<T>());
  });
  return y;
}

std::vector<Tensor> backward_cuda(const kernels::Conv3dShape& s, GpuPlan plan, const Tensor& g,
                                  const Tensor& xs, const Tensor& ws, Wanted want) {
  // The kernels would read a host pointer: refuse a gradient that did not follow the output.
  FDL_CHECK(g.device() == Device::CUDA, "conv3d backward: the output gradient is on ",
            device_name(g.device()), " but the convolution ran on cuda");
  std::vector<Tensor> grads(3);
  dispatch_float(g.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (want.x) {
      grads[0] = Tensor::empty({s.n, s.cin, s.in[0], s.in[1], s.in[2]}, g.dtype(), Device::CUDA);
      kg::conv3d_backward_data<T>(plan.kind, s, g.data<T>(), ws.data<T>(), grads[0].data<T>());
    }
    if (want.w) {
      Tensor work =
          gpu_scratch(kernels::conv_weight_scratch(s, plan.kind, plan.deterministic), g.dtype());
      grads[1] = Tensor::empty({s.cout, s.cin, s.k, s.k, s.k}, g.dtype(), Device::CUDA);
      kg::conv3d_backward_weight<T>(plan.kind, s, xs.data<T>(), g.data<T>(), grads[1].data<T>(),
                                    work.data<T>(), plan.deterministic);
    }
    if (want.bias) {
      Tensor work = gpu_scratch(kernels::conv_bias_scratch(s), g.dtype());
      grads[2] = Tensor::empty({s.cout}, g.dtype(), Device::CUDA);
      kg::conv3d_backward_bias<T>(s, g.data<T>(), grads[2].data<T>(), work.data<T>());
    }
  });
  return grads;
}
#else
Tensor forward_cuda(const kernels::Conv3dShape&, GpuPlan, const Tensor&, const Tensor&,
                    const Tensor&) {
  ops::no_cuda("conv3d");
}
std::vector<Tensor> backward_cuda(const kernels::Conv3dShape&, GpuPlan, const Tensor&,
                                  const Tensor&, const Tensor&, Wanted) {
  ops::no_cuda("conv3d");
}
#endif

}  // namespace

void set_cuda_conv_algo(ConvAlgo a) { g_algo = a; }
ConvAlgo cuda_conv_algo() { return g_algo; }
void set_cuda_conv_nondeterministic(bool on) { g_nondeterministic = on; }
bool cuda_conv_nondeterministic() { return g_nondeterministic; }

ConvAlgo parse_conv_algo(const std::string& name) {
  for (ConvAlgo a : {ConvAlgo::Direct, ConvAlgo::Tiled, ConvAlgo::Tf32})
    if (name == conv_algo_name(a)) return a;
  throw Error("conv algorithm: unknown '" + name + "' (choose direct, tiled or tf32)");
}

const char* conv_algo_name(ConvAlgo a) {
  switch (a) {
    case ConvAlgo::Direct: return "direct";
    case ConvAlgo::Tiled: return "tiled";
    case ConvAlgo::Tf32: return "tf32";
  }
  return "?";
}

Tensor conv3d(const Tensor& x, const Tensor& w, const Tensor& bias, int stride, int padding) {
  FDL_PROFILE_RANGE("conv3d");
  const kernels::Conv3dShape s = conv_shape(x, w, bias, stride, padding);
  const bool cuda = x.device() == Device::CUDA;
  const GpuPlan plan = gpu_plan(x.dtype());
  Tensor y = cuda ? forward_cuda(s, plan, x, w, bias) : forward_cpu(s, x, w, bias);
  if (autograd::wants({x, w, bias})) {
    const Wanted want{x.requires_grad(), w.requires_grad(), bias.defined() && bias.requires_grad()};
    // x is saved only when w needs its gradient, w only when x does.
    autograd::record("conv3d", y, {x, w, bias},
                     [s, cuda, plan, want, xs = want.w ? x.detach() : Tensor(),
                      ws = want.x ? w.detach() : Tensor()](const Tensor& g) {
                       return cuda ? backward_cuda(s, plan, g, xs, ws, want)
                                   : backward_cpu(s, g, xs, ws, want);
                     });
  }
  return y;
}

}  // namespace fdl
