#pragma once
// CPU kernels of the sigmoid soft Dice loss. x (logits) and g (target) are contiguous
// (n, k, s) buffers; p = sigmoid(x).
#include <bit>
#include <cstdint>

namespace fdl::kernels::cpu {

// exp(x) for float with no library call, so the Dice loops vectorise (glibc's vector exp
// needs -ffast-math). x = n ln2 + r, n an integer, |r| <= ln2/2; exp(r) by its degree-7
// Taylor polynomial (truncation < 1e-8 relative); 2^n goes into the exponent bits; ln2 is
// split so n * kLn2Hi is exact. Inputs are clamped to [-87, 88], where 2^n stays normal.
inline float exp_poly(float x) {
  constexpr float kLn2Hi = 0.693145751953125f, kLn2Lo = 1.42860677e-6f;
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  // n = round(x / ln2): adding 1.5 * 2^23 rounds to an integer (std::floor would not vectorise).
  constexpr float kRound = 12582912.0f;
  const float n = (x * 1.44269504f + kRound) - kRound;
  const float r = (x - n * kLn2Hi) - n * kLn2Lo;
  float q = 1.0f / 5040;
  q = q * r + 1.0f / 720;
  q = q * r + 1.0f / 120;
  q = q * r + 1.0f / 24;
  q = q * r + 1.0f / 6;
  q = q * r + 0.5f;
  q = q * r + 1.0f;
  q = q * r + 1.0f;
  return q * std::bit_cast<float>((int32_t(n) + 127) << 23);
}

// The doubles of scratch space dice_sums needs.
int64_t dice_workspace(int64_t n, int64_t k, int64_t s);

// sums[3c + 0..2] = {sum p*g, sum p*p, sum g*g} over the batch and voxels of class c,
// accumulated in double. Each (batch, class) row is cut into fixed blocks whose partial sums
// are added in a fixed order, so the result does not depend on the thread count.
template <class T>
void dice_sums(const T* x, const T* g, int64_t n, int64_t k, int64_t s, double* work, double* sums);

// gx = (a[c] * g + b[c] * p) * p * (1 - p) for class c: the chain rule through the Dice sums
// (a weighs d sum(p g)/dp, b weighs d sum(p^2)/dp) fused with the sigmoid derivative, as
// kernels/common/dice.h's dice_grad_element; a and b come from its dice_class_coefficients.
template <class T>
void dice_backward(const T* x, const T* g, const double* a, const double* b, int64_t n, int64_t k,
                   int64_t s, T* gx);

}  // namespace fdl::kernels::cpu
