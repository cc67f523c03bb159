#pragma once
// CPU kernels of the sigmoid soft Dice loss. x (logits) and g (target) are contiguous
// (n, k, s) buffers; p = sigmoid(x).
#include <cstdint>

namespace fdl::kernels::cpu {

// The doubles of scratch space dice_sums needs.
int64_t dice_workspace(int64_t n, int64_t k, int64_t s);

// sums[3c + 0..2] = {sum p*g, sum p*p, sum g*g} over the batch and voxels of class c,
// accumulated in double. Each (batch, class) row is cut into fixed blocks whose partial sums
// are added in a fixed order, so the result does not depend on the thread count.
template <class T>
void dice_sums(const T* x, const T* g, int64_t n, int64_t k, int64_t s, double* work,
               double* sums);

// gx = (a[c] * g + b[c] * p) * p * (1 - p) for class c: the chain rule through the Dice sums
// (a weighs d sum(p g)/dp, b weighs d sum(p^2)/dp) fused with the sigmoid derivative.
template <class T>
void dice_backward(const T* x, const T* g, const double* a, const double* b, int64_t n,
                   int64_t k, int64_t s, T* gx);

}  // namespace fdl::kernels::cpu
