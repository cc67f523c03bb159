#include "engine/ops/dropout.h"

#include "engine/autograd.h"
#include "engine/ops/checks.h"
#include "engine/profile.h"
#include "kernels/cpu/dropout.h"
#ifdef FDL_HAVE_CUDA
#include "kernels/cuda/dropout.h"
#endif

namespace fdl {

namespace kc = kernels::cpu;

namespace {

// The mask: N*C channels of s voxels each, drawn from Philox at (seed, offset); a channel is
// dropped with probability p, a survivor scaled by 1/(1-p).
struct Mask {
  int64_t nc, s;
  double p;
  uint64_t seed = 0, offset = 0;
};

Mask dropout_mask(const Tensor& x, double p) {
  ops::check_float(x, "dropout3d", "x");
  ops::check_ndim(x, 5, "dropout3d", "x");
  FDL_CHECK(p >= 0 && p < 1, "dropout3d: p must be in [0, 1), got ", p);
  return {x.size(0) * x.size(1), x.shape().numel_from(2), p};
}

// The backward is the forward applied to the gradient: the same mask, regenerated.
Tensor forward_cpu(const Mask& m, const Tensor& x) {
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kc::dropout3d_apply(x.data<T>(), out.data<T>(), m.nc, m.s, m.seed, m.offset, m.p,
                        T(1.0 / (1.0 - m.p)));
  });
  return out;
}

#ifdef FDL_HAVE_CUDA
Tensor forward_cuda(const Mask& m, const Tensor& x) {
  Tensor out = Tensor::empty(x.shape(), x.dtype(), Device::CUDA);
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::cuda::dropout3d_apply(x.data<T>(), out.data<T>(), m.nc, m.s, m.seed, m.offset, m.p,
                                   T(1.0 / (1.0 - m.p)));
  });
  return out;
}
#else
Tensor forward_cuda(const Mask&, const Tensor&) { ops::no_cuda("dropout3d"); }
#endif

Tensor forward(const Mask& m, const Tensor& x) {
  return x.device() == Device::CUDA ? forward_cuda(m, x) : forward_cpu(m, x);
}

}  // namespace

Tensor dropout3d(const Tensor& x, double p, bool training, Generator& gen) {
  FDL_PROFILE_RANGE("dropout3d");
  Mask m = dropout_mask(x, p);
  if (!training || p == 0) return x;
  m.seed = gen.seed;
  m.offset = gen.reserve(uint64_t(m.nc));
  Tensor y = forward(m, x);
  // The backward regenerates the mask from (seed, offset): nothing is saved.
  if (autograd::wants({x}))
    autograd::record("dropout3d", y, {x},
                     [m](const Tensor& g) { return std::vector<Tensor>{forward(m, g)}; });
  return y;
}

}  // namespace fdl
