#pragma once
// CUDA twins of kernels/cpu/dice_ce.h: the Dice + cross-entropy loss with nothing copied to the
// host. x (logits) and g (target) are contiguous (n, k, s) device buffers, k >= 2, n, s > 0;
// the per-class formulas are kernels/common/dice_ce.h's, the span map kernels/common/dice.h's.
#include <cstdint>

namespace fdl::kernels::cuda {

// The doubles of device scratch dice_ce_forward needs: four partial sums per span and class.
int64_t dice_ce_workspace(int64_t n, int64_t k, int64_t s);

// The softmax statistics of every voxel into stats (2 n s values, laid out as the CPU
// kernel's: the largest logits, then the log_z), then the 4k class sums of
// kernels/common/dice_ce.h in double, each span reduced by one block in a fixed tree and each
// class's partials added by one block in a fixed order (deterministic, no atomics), and
// loss[0] = CE + 1 - mean_{c >= 1} dice_c.
template <class T>
void dice_ce_forward(const T* x, const T* g, int64_t n, int64_t k, int64_t s, T* stats,
                     double* work, double* sums, T* loss);

// gx = dice_ce_grad_element per logit, with the coefficients from the device sums and gout (a
// device scalar). coef is device scratch of 2k + 1 doubles.
template <class T>
void dice_ce_backward(const T* x, const T* g, const T* stats, const double* sums, const T* gout,
                      int64_t n, int64_t k, int64_t s, double* coef, T* gx);

}  // namespace fdl::kernels::cuda
