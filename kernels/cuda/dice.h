#pragma once
// CUDA twins of kernels/cpu/dice.h: the sigmoid soft Dice loss with nothing copied to the
// host. x (logits) and g (target) are contiguous (n, k, s) device buffers, k >= 2; the per-class
// formulas are kernels/common/dice.h's, the span map too.
#include <cstdint>

namespace fdl::kernels::cuda {

// The doubles of device scratch dice_sums needs: one partial triple per span.
int64_t dice_workspace(int64_t n, int64_t k, int64_t s);

// sums[3c + 0..2] = {sum p*g, sum p*p, sum g*g} of class c, in double, on the device: each
// block reduces one span in a fixed tree, then one block adds each class's partials in a
// fixed order (deterministic, no atomics). With loss != nullptr it also writes
// loss[0] = 1 - mean_{c >= 1} dice_c.
template <class T>
void dice_sums(const T* x, const T* g, int64_t n, int64_t k, int64_t s, double* work, double* sums,
               T* loss);

// gx = (a[c] g + b[c] p) p (1 - p), with a, b from the device sums and w = gout[0] / (k - 1)
// (gout a device scalar): the whole backward in one kernel.
template <class T>
void dice_backward(const T* x, const T* g, const double* sums, const T* gout, int64_t n, int64_t k,
                   int64_t s, T* gx);

}  // namespace fdl::kernels::cuda
