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
void check_dice_args(const Tensor& logits, const Tensor& target, const char* op) {
  ops::check_like(logits, target, op, "logits", "target");
  ops::check_ndim(logits, 5, op, "logits");
  FDL_CHECK(logits.size(1) >= 2, op, ": needs K >= 2 classes (class 0 is ignored), got logits ",
            logits.shape().str());
}

// {sum p*g, sum p*p, sum g*g} per class, 3K values.
std::vector<double> class_sums(const Tensor& logits, const Tensor& target) {
  const int64_t n = logits.size(0), k = logits.size(1), s = logits.shape().numel_from(2);
  Tensor work = Tensor::empty({kc::dice_workspace(n, k, s)}, DType::F64);
  std::vector<double> sums(size_t(3 * k));
  dispatch_float(logits.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kc::dice_sums(logits.data<T>(), target.data<T>(), n, k, s, work.data<double>(), sums.data());
  });
  return sums;
}

std::vector<double> dice_from_sums(const std::vector<double>& sums) {
  std::vector<double> dice(sums.size() / 3);
  for (size_t c = 0; c < dice.size(); ++c)
    dice[c] = kernels::dice_score(sums[3 * c], sums[3 * c + 1], sums[3 * c + 2]);
  return dice;
}

#ifdef FDL_HAVE_CUDA
namespace kcu = kernels::cuda;

// The 3K class sums as a device tensor; with `loss` defined, also the loss into it. Nothing
// goes to the host.
Tensor device_class_sums(const Tensor& logits, const Tensor& target, const Tensor& loss) {
  const int64_t n = logits.size(0), k = logits.size(1), s = logits.shape().numel_from(2);
  Tensor sums = Tensor::empty({3 * k}, DType::F64, Device::CUDA);
  const Tensor work = Tensor::empty({std::max<int64_t>(1, kcu::dice_workspace(n, k, s))},
                                    DType::F64, Device::CUDA);
  dispatch_float(logits.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kcu::dice_sums(logits.data<T>(), target.data<T>(), n, k, s, work.data<double>(),
                   sums.data<double>(), loss.defined() ? loss.data<T>() : nullptr);
  });
  return sums;
}

Tensor soft_dice_loss_cuda(const Tensor& logits, const Tensor& target) {
  Tensor out = Tensor::empty(Shape{}, logits.dtype(), Device::CUDA);
  const Tensor sums = device_class_sums(logits, target, out);
  if (autograd::wants({logits})) {
    autograd::record("soft_dice_loss", out, {logits, target},
                     [x = logits.detach(), g = target.detach(), sums](const Tensor& gout) {
      // The kernel reads gout on the device; both conversions are no-ops for a device
      // tensor of x's dtype, so nothing reaches the host.
      const Tensor go = gout.to(x.dtype()).to(Device::CUDA);
      Tensor gx = Tensor::empty(x.shape(), x.dtype(), Device::CUDA);
      dispatch_float(x.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        kcu::dice_backward(x.data<T>(), g.data<T>(), sums.data<double>(), go.data<T>(),
                           x.size(0), x.size(1), x.shape().numel_from(2), gx.data<T>());
      });
      return std::vector<Tensor>{gx, Tensor()};
    });
  }
  return out;
}
#endif
}  // namespace

Tensor soft_dice_loss(const Tensor& logits, const Tensor& target) {
  FDL_PROFILE_RANGE("soft_dice_loss");
  check_dice_args(logits, target, "soft_dice_loss");
  if (logits.device() == Device::CUDA) {
#ifdef FDL_HAVE_CUDA
    return soft_dice_loss_cuda(logits, target);
#else
    ops::no_cuda("soft_dice_loss");
#endif
  }
  const std::vector<double> sums = class_sums(logits, target);
  const int64_t k = logits.size(1);
  Tensor out = Tensor::full(Shape{}, kernels::dice_loss_from_sums(sums.data(), k), logits.dtype(),
                            logits.device());
  if (autograd::wants({logits})) {
    autograd::record("soft_dice_loss", out, {logits, target},
                     [x = logits.detach(), g = target.detach(), sums, k](const Tensor& gout) {
      const double w = kernels::dice_weight(gout.item(), k);
      std::vector<double> a, b;
      for (int64_t c = 0; c < k; ++c) {
        const kernels::DiceCoefficients co = kernels::dice_class_coefficients(sums.data(), c, w);
        a.push_back(co.a);
        b.push_back(co.b);
      }
      Tensor gx = Tensor::empty(x.shape(), x.dtype(), x.device());
      dispatch_float(x.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        kc::dice_backward(x.data<T>(), g.data<T>(), a.data(), b.data(), x.size(0), x.size(1),
                          x.shape().numel_from(2), gx.data<T>());
      });
      return std::vector<Tensor>{gx, Tensor()};
    });
  }
  return out;
}

std::vector<double> dice_per_class(const Tensor& logits, const Tensor& target) {
  FDL_PROFILE_RANGE("dice_per_class");
  check_dice_args(logits, target, "dice_per_class");
  if (logits.device() == Device::CUDA) {
#ifdef FDL_HAVE_CUDA
    return dice_from_sums(device_class_sums(logits, target, Tensor()).to_vector());
#else
    ops::no_cuda("dice_per_class");
#endif
  }
  return dice_from_sums(class_sums(logits, target));
}

}  // namespace fdl
