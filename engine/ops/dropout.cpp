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
Tensor apply_mask(const Tensor& x, int64_t nc, int64_t s, uint64_t seed, uint64_t offset, double p) {
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T scale = T(1.0 / (1.0 - p));
    if (x.device() == Device::CPU) {
      kc::dropout3d_apply(x.data<T>(), out.data<T>(), nc, s, seed, offset, p, scale);
    } else {
#ifdef FDL_HAVE_CUDA
      kernels::cuda::dropout3d_apply(x.data<T>(), out.data<T>(), nc, s, seed, offset, p, scale);
#else
      ops::no_cuda("dropout3d");
#endif
    }
  });
  return out;
}
}  // namespace

Tensor dropout3d(const Tensor& x, double p, bool training, Generator& gen) {
  FDL_PROFILE_RANGE("dropout3d");
  ops::check_float(x, "dropout3d", "x");
  ops::check_ndim(x, 5, "dropout3d", "x");
  FDL_CHECK(p >= 0 && p < 1, "dropout3d: p must be in [0, 1), got ", p);
  if (!training || p == 0) return x;
  const int64_t nc = x.size(0) * x.size(1), s = x.shape().numel_from(2);
  const uint64_t seed = gen.seed, offset = gen.reserve(uint64_t(nc));
  Tensor y = apply_mask(x, nc, s, seed, offset, p);
  // The backward regenerates the mask from (seed, offset): nothing is saved.
  if (autograd::wants({x}))
    autograd::record("dropout3d", y, {x}, [nc, s, seed, offset, p](const Tensor& g) {
      return std::vector<Tensor>{apply_mask(g, nc, s, seed, offset, p)};
    });
  return y;
}

}  // namespace fdl
