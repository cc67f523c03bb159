#include "engine/ops/dice_ce.h"

#include "engine/autograd.h"
#include "engine/ops/checks.h"
#include "engine/profile.h"
#include "kernels/common/dice_ce.h"
#include "kernels/cpu/dice_ce.h"
#ifdef FDL_HAVE_CUDA
#include "kernels/cuda/dice_ce.h"
#endif

namespace fdl {

namespace kc = kernels::cpu;

namespace {

// Batch, classes and voxels per batch element of the (N, K, X, Y, Z) logits.
struct DiceCeShape {
  int64_t n, k, s;
};

DiceCeShape dice_ce_shape(const Tensor& logits, const Tensor& target) {
  const char* op = "dice_ce_loss";
  ops::check_like(logits, target, op, "logits", "target");
  ops::check_ndim(logits, 5, op, "logits");
  FDL_CHECK(logits.size(1) >= 2, op, ": needs K >= 2 classes (class 0 is the background), got ",
            "logits ", logits.shape().str());
  FDL_CHECK(logits.numel() > 0, op, ": 'logits' ", logits.shape().str(), " has no voxels");
  return {logits.size(0), logits.size(1), logits.shape().numel_from(2)};
}

// What the backward needs from the forward: each voxel's softmax statistics (2, N, S: the
// largest logit and log_z, kernels/common/dice_ce.h) and the 4K class sums (float64), both on
// the logits' device.
struct Saved {
  Tensor stats, sums;
};

struct Forward {
  Tensor loss;
  Saved saved;
};

Forward forward_cpu(const DiceCeShape& sh, const Tensor& x, const Tensor& g) {
  Saved sv{Tensor::empty({2, sh.n, sh.s}, x.dtype()),
           Tensor::empty({kernels::kDiceCeSums * sh.k}, DType::F64)};
  Tensor work = Tensor::empty({kc::dice_ce_workspace(sh.n, sh.k, sh.s)}, DType::F64);
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kc::dice_ce_forward(x.data<T>(), g.data<T>(), sh.n, sh.k, sh.s, sv.stats.data<T>(),
                        work.data<double>(), sv.sums.data<double>());
  });
  const double loss = kernels::dice_ce_loss_from_sums(sv.sums.data<double>(), sh.k, sh.n * sh.s);
  return {Tensor::full(Shape{}, loss, x.dtype()), sv};
}

Tensor backward_cpu(const DiceCeShape& sh, const Tensor& x, const Tensor& g, const Saved& sv,
                    const Tensor& gout) {
  const double go = gout.item();
  std::vector<double> a, b;
  for (int64_t c = 0; c < sh.k; ++c) {
    const kernels::DiceCeCoefficients co =
        kernels::dice_ce_class_coefficients(sv.sums.data<double>(), c, sh.k, go);
    a.push_back(co.a);
    b.push_back(co.b);
  }
  Tensor gx = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kc::dice_ce_backward(x.data<T>(), g.data<T>(), sv.stats.data<T>(), a.data(), b.data(),
                         go / double(sh.n * sh.s), sh.n, sh.k, sh.s, gx.data<T>());
  });
  return gx;
}

#ifdef FDL_HAVE_CUDA
namespace kcu = kernels::cuda;

Forward forward_cuda(const DiceCeShape& sh, const Tensor& x, const Tensor& g) {
  Tensor loss = Tensor::empty(Shape{}, x.dtype(), Device::CUDA);
  Saved sv{Tensor::empty({2, sh.n, sh.s}, x.dtype(), Device::CUDA),
           Tensor::empty({kernels::kDiceCeSums * sh.k}, DType::F64, Device::CUDA)};
  const Tensor work =
      Tensor::empty({kcu::dice_ce_workspace(sh.n, sh.k, sh.s)}, DType::F64, Device::CUDA);
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kcu::dice_ce_forward(x.data<T>(), g.data<T>(), sh.n, sh.k, sh.s, sv.stats.data<T>(),
                         work.data<double>(), sv.sums.data<double>(), loss.data<T>());
  });
  return {loss, sv};
}

Tensor backward_cuda(const DiceCeShape& sh, const Tensor& x, const Tensor& g, const Saved& sv,
                     const Tensor& gout) {
  // The kernels read gout on the device; both conversions are no-ops for a device tensor of
  // x's dtype, so nothing reaches the host.
  const Tensor go = gout.to(x.dtype()).to(Device::CUDA);
  const Tensor coef = Tensor::empty({2 * sh.k + 1}, DType::F64, Device::CUDA);
  Tensor gx = Tensor::empty(x.shape(), x.dtype(), Device::CUDA);
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kcu::dice_ce_backward(x.data<T>(), g.data<T>(), sv.stats.data<T>(), sv.sums.data<double>(),
                          go.data<T>(), sh.n, sh.k, sh.s, coef.data<double>(), gx.data<T>());
  });
  return gx;
}
#else
Forward forward_cuda(const DiceCeShape&, const Tensor&, const Tensor&) {
  ops::no_cuda("dice_ce_loss");
}
Tensor backward_cuda(const DiceCeShape&, const Tensor&, const Tensor&, const Saved&,
                     const Tensor&) {
  ops::no_cuda("dice_ce_loss");
}
#endif

}  // namespace

Tensor dice_ce_loss(const Tensor& logits, const Tensor& target) {
  FDL_PROFILE_RANGE("dice_ce_loss");
  const DiceCeShape sh = dice_ce_shape(logits, target);
  const bool cuda = logits.device() == Device::CUDA;
  Forward f = cuda ? forward_cuda(sh, logits, target) : forward_cpu(sh, logits, target);
  if (autograd::wants({logits})) {
    autograd::record(
        "dice_ce_loss", f.loss, {logits, target},
        [sh, cuda, x = logits.detach(), g = target.detach(), sv = f.saved](const Tensor& gout) {
          Tensor gx = cuda ? backward_cuda(sh, x, g, sv, gout) : backward_cpu(sh, x, g, sv, gout);
          return std::vector<Tensor>{gx, Tensor()};
        });
  }
  return f.loss;
}

}  // namespace fdl
