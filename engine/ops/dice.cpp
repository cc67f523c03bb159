#include "engine/ops/dice.h"

#include <algorithm>

#include "engine/autograd.h"
#include "engine/ops/checks.h"
#include "engine/profile.h"
#include "kernels/cpu/dice.h"
#ifdef FDL_HAVE_CUDA
#include "kernels/cuda/dice.h"
#endif

namespace fdl {

namespace kc = kernels::cpu;

namespace {

// The kernels' view of logits and target: n batch elements of k classes of s voxels.
struct DiceShape {
  int64_t n, k, s;
  const char* op;
};

DiceShape dice_shape(const Tensor& logits, const Tensor& target, const char* op) {
  ops::check_like(logits, target, op, "logits", "target");
  ops::check_ndim(logits, 5, op, "logits");
  FDL_CHECK(logits.size(1) >= 2, op, ": needs K >= 2 classes (class 0 is ignored), got logits ",
            logits.shape().str());
  return {logits.size(0), logits.size(1), logits.shape().numel_from(2), op};
}

std::vector<double> dice_from_sums(const std::vector<double>& sums) {
  std::vector<double> dice(sums.size() / 3);
  for (size_t c = 0; c < dice.size(); ++c)
    dice[c] = kernels::dice_score(sums[3 * c], sums[3 * c + 1], sums[3 * c + 2]);
  return dice;
}

// The loss and what its backward needs: the 3K class sums {sum p*g, sum p*p, sum g*g}, as a
// float64 tensor on the op's device.
struct DiceForward {
  Tensor loss, sums;
};

Tensor sums_cpu(const DiceShape& d, const Tensor& logits, const Tensor& target) {
  Tensor work = Tensor::empty({kc::dice_workspace(d.n, d.k, d.s)}, DType::F64);
  Tensor sums = Tensor::empty({3 * d.k}, DType::F64);
  dispatch_float(logits.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kc::dice_sums(logits.data<T>(), target.data<T>(), d.n, d.k, d.s, work.data<double>(),
                  sums.data<double>());
  });
  return sums;
}

DiceForward forward_cpu(const DiceShape& d, const Tensor& logits, const Tensor& target) {
  const Tensor sums = sums_cpu(d, logits, target);
  return {
      Tensor::full(Shape{}, kernels::dice_loss_from_sums(sums.data<double>(), d.k), logits.dtype()),
      sums};
}

Tensor backward_cpu(const DiceShape& d, const Tensor& x, const Tensor& g, const Tensor& sums,
                    const Tensor& gout) {
  const double w = kernels::dice_weight(gout.item(), d.k);
  std::vector<double> a, b;
  for (int64_t c = 0; c < d.k; ++c) {
    const kernels::DiceCoefficients co =
        kernels::dice_class_coefficients(sums.data<double>(), c, w);
    a.push_back(co.a);
    b.push_back(co.b);
  }
  Tensor gx = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kc::dice_backward(x.data<T>(), g.data<T>(), a.data(), b.data(), d.n, d.k, d.s, gx.data<T>());
  });
  return gx;
}

#ifdef FDL_HAVE_CUDA
namespace kg = kernels::cuda;

// On the GPU the sums, the loss and the gradient stay on the device. With `loss` defined, the
// kernel writes the loss into it too.
Tensor sums_cuda(const DiceShape& d, const Tensor& logits, const Tensor& target,
                 const Tensor& loss) {
  Tensor sums = Tensor::empty({3 * d.k}, DType::F64, Device::CUDA);
  const Tensor work = Tensor::empty({std::max<int64_t>(1, kg::dice_workspace(d.n, d.k, d.s))},
                                    DType::F64, Device::CUDA);
  dispatch_float(logits.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kg::dice_sums(logits.data<T>(), target.data<T>(), d.n, d.k, d.s, work.data<double>(),
                  sums.data<double>(), loss.defined() ? loss.data<T>() : nullptr);
  });
  return sums;
}

DiceForward forward_cuda(const DiceShape& d, const Tensor& logits, const Tensor& target) {
  Tensor loss = Tensor::empty(Shape{}, logits.dtype(), Device::CUDA);
  return {loss, sums_cuda(d, logits, target, loss)};
}

Tensor backward_cuda(const DiceShape& d, const Tensor& x, const Tensor& g, const Tensor& sums,
                     const Tensor& gout) {
  // The kernel reads gout on the device; both conversions are no-ops for a device tensor of
  // x's dtype, so nothing reaches the host.
  const Tensor go = gout.to(x.dtype()).to(Device::CUDA);
  Tensor gx = Tensor::empty(x.shape(), x.dtype(), Device::CUDA);
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kg::dice_backward(x.data<T>(), g.data<T>(), sums.data<double>(), go.data<T>(), d.n, d.k, d.s,
                      gx.data<T>());
  });
  return gx;
}
#else
Tensor sums_cuda(const DiceShape& d, const Tensor&, const Tensor&, const Tensor&) {
  ops::no_cuda(d.op);
}
DiceForward forward_cuda(const DiceShape& d, const Tensor&, const Tensor&) { ops::no_cuda(d.op); }
Tensor backward_cuda(const DiceShape& d, const Tensor&, const Tensor&, const Tensor&,
                     const Tensor&) {
  ops::no_cuda(d.op);
}
#endif

}  // namespace

Tensor soft_dice_loss(const Tensor& logits, const Tensor& target) {
  FDL_PROFILE_RANGE("soft_dice_loss");
  const DiceShape d = dice_shape(logits, target, "soft_dice_loss");
  const bool cuda = logits.device() == Device::CUDA;
  DiceForward f = cuda ? forward_cuda(d, logits, target) : forward_cpu(d, logits, target);
  if (autograd::wants({logits})) {
    // The target gets no gradient.
    autograd::record(
        "soft_dice_loss", f.loss, {logits, target},
        [d, cuda, x = logits.detach(), g = target.detach(), sums = f.sums](const Tensor& gout) {
          return std::vector<Tensor>{
              cuda ? backward_cuda(d, x, g, sums, gout) : backward_cpu(d, x, g, sums, gout),
              Tensor()};
        });
  }
  return f.loss;
}

std::vector<double> dice_per_class(const Tensor& logits, const Tensor& target) {
  FDL_PROFILE_RANGE("dice_per_class");
  const DiceShape d = dice_shape(logits, target, "dice_per_class");
  const Tensor sums = logits.device() == Device::CUDA ? sums_cuda(d, logits, target, Tensor())
                                                      : sums_cpu(d, logits, target);
  return dice_from_sums(sums.to_vector());
}

}  // namespace fdl
