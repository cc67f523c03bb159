#include "engine/ops/dice.h"

#include <algorithm>

#include "engine/autograd.h"
#include "engine/ops/checks.h"
#include "kernels/cpu/dice.h"

namespace fdl {

namespace kc = kernels::cpu;

namespace {
void check_dice_args(const Tensor& logits, const Tensor& target, const char* op) {
  ops::check_like(logits, target, op, "logits", "target");
  ops::check_ndim(logits, 5, op, "logits");
  FDL_CHECK(logits.size(1) >= 2, op, ": needs K >= 2 classes (class 0 is ignored), got logits ",
            logits.shape().str());
  if (logits.device() == Device::CUDA) ops::no_cuda(op);
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

double denominator(const std::vector<double>& sums, size_t c) {
  return std::max(sums[3 * c + 1] + sums[3 * c + 2], kDiceEps);
}

std::vector<double> dice_from_sums(const std::vector<double>& sums) {
  std::vector<double> dice(sums.size() / 3);
  for (size_t c = 0; c < dice.size(); ++c) dice[c] = 2 * sums[3 * c] / denominator(sums, c);
  return dice;
}
}  // namespace

Tensor soft_dice_loss(const Tensor& logits, const Tensor& target) {
  check_dice_args(logits, target, "soft_dice_loss");
  const std::vector<double> sums = class_sums(logits, target);
  const std::vector<double> dice = dice_from_sums(sums);
  double mean = 0;
  for (size_t c = 1; c < dice.size(); ++c) mean += dice[c];
  mean /= double(dice.size() - 1);
  Tensor out = Tensor::full(Shape{}, 1.0 - mean, logits.dtype(), logits.device());
  if (autograd::wants({logits})) {
    autograd::record("soft_dice_loss", out, {logits, target},
                     [x = logits.detach(), g = target.detach(), sums](const Tensor& gout) {
      // d loss / d p = -w (2 g / D - [D above the floor] 4 I p / D^2), w = gout / (K - 1).
      const size_t k = sums.size() / 3;
      const double w = gout.item() / double(k - 1);
      std::vector<double> a(k, 0.0), b(k, 0.0);
      for (size_t c = 1; c < k; ++c) {
        const double inter = sums[3 * c], total = sums[3 * c + 1] + sums[3 * c + 2];
        const double d = denominator(sums, c);
        a[c] = -w * 2 / d;
        b[c] = total >= kDiceEps ? w * 4 * inter / (d * d) : 0.0;
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
  check_dice_args(logits, target, "dice_per_class");
  return dice_from_sums(class_sums(logits, target));
}

}  // namespace fdl
