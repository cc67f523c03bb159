#pragma once
// The per-class maths of the sigmoid soft Dice loss (docs/method.md §5.1), shared by the CPU path
// and the CUDA kernels so both evaluate the same formulas in the same order. Inputs are the
// class sums {sum p*g, sum p*p, sum g*g}, accumulated in double.
#include <cstdint>

#include "kernels/common/elementwise.h"
#include "kernels/common/launch.h"

namespace fdl::kernels {

// The floor of a Dice denominator: an absent class with near-zero predictions scores 0.
constexpr double kDiceEps = 1e-6;

// max(sum p^2 + sum g^2, kDiceEps), with std::max's choice when the sum is NaN.
FDL_HD double dice_denominator(double pp, double gg) {
  const double total = pp + gg;
  return total < kDiceEps ? kDiceEps : total;
}

FDL_HD double dice_score(double pg, double pp, double gg) {
  return 2 * pg / dice_denominator(pp, gg);
}

// 1 - mean_{c >= 1} dice_c from the 3k sums (k >= 2); the background c = 0 is ignored.
FDL_HD double dice_loss_from_sums(const double* sums, int64_t k) {
  double mean = 0;
  for (int64_t c = 1; c < k; ++c) mean += dice_score(sums[3 * c], sums[3 * c + 1], sums[3 * c + 2]);
  mean /= double(k - 1);
  return 1.0 - mean;
}

// d loss / d p = a g + b p for one foreground class, where w = gout / (K - 1):
//   a = -2 w / D,  b = 4 w sum(p g) / D^2 while D is above the floor (0 on the floor, where D
//   is the constant kDiceEps).
struct DiceCoefficients {
  double a, b;
};

FDL_HD DiceCoefficients dice_coefficients(double pg, double pp, double gg, double w) {
  const double total = pp + gg, d = dice_denominator(pp, gg);
  return {-w * 2 / d, total >= kDiceEps ? w * 4 * pg / (d * d) : 0.0};
}

// The weight of each foreground class in the loss's gradient.
FDL_HD double dice_weight(double gout, int64_t k) { return gout / double(k - 1); }

// The coefficients of class c from the 3k sums: zero for the ignored background.
FDL_HD DiceCoefficients dice_class_coefficients(const double* sums, int64_t c, double w) {
  if (c == 0) return {0.0, 0.0};
  return dice_coefficients(sums[3 * c], sums[3 * c + 1], sums[3 * c + 2], w);
}

// The gradient of one logit, the Dice chain rule fused with the sigmoid's derivative, from
// e = exp(-x): p = 1 / (1 + e) and 1 - p = e p (accurate where p rounds to 1).
template <class T>
FDL_HD T dice_grad_element(T e, T g, T a, T b) {
  const T p = T(1) / (T(1) + e);
  return (a * g + b * p) * p * (e * p);
}

// How the CUDA kernels cut the logits, (rows = n * k, s) with row = batch * k + class, into
// per-block spans: block t covers [lo, hi) of one row and leaves one partial triple at
// work[3t]. A fixed span size fixes the summation order, whatever the GPU.
constexpr int64_t kDiceSpan = 4096;

FDL_HD int64_t dice_spans_per_row(int64_t s) { return ceil_div(s, kDiceSpan); }

struct DiceSpan {
  int64_t row, lo, hi;
};

FDL_HD DiceSpan dice_span(int64_t t, int64_t s) {  // s > 0
  const int64_t per_row = dice_spans_per_row(s), lo = t % per_row * kDiceSpan;
  return {t / per_row, lo, lo + kDiceSpan < s ? lo + kDiceSpan : s};
}

// The block of the j-th partial of class c, j < n * spans_per_row: the partials of one class
// in batch-major, span-minor order.
FDL_HD int64_t dice_partial_block(int64_t j, int64_t c, int64_t k, int64_t per_row) {
  return (j / per_row * k + c) * per_row + j % per_row;
}

}  // namespace fdl::kernels
