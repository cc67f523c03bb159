#pragma once
// CPU kernels of the Dice + cross-entropy loss (kernels/common/dice_ce.h). x (logits) and g
// (target) are contiguous (n, k, s) buffers, k >= 2; p = softmax over the k classes of a voxel.
#include <cstdint>

namespace fdl::kernels::cpu {

// The doubles of scratch space dice_ce_forward needs.
int64_t dice_ce_workspace(int64_t n, int64_t k, int64_t s);

// The softmax's statistics of every voxel v of batch element b, 2 n s values:
// stats[b s + v] = the largest logit m, stats[n s + b s + v] = log sum_c exp(x[b, c, v] - m)
// (dice_ce_log_p); and the 4k class sums of kernels/common/dice_ce.h over the batch and voxels,
// in double. Each batch element's voxels are cut into fixed blocks whose partial sums are added
// in a fixed order, so the result does not depend on the thread count.
template <class T>
void dice_ce_forward(const T* x, const T* g, int64_t n, int64_t k, int64_t s, T* stats,
                     double* work, double* sums);

// gx = ce_w (p G - g) + p (u - r) per logit (dice_ce_grad_element), with u_c = a[c] g_c + b[c]
// from dice_ce_class_coefficients, ce_w = gout / (n s), and r, G the voxel's sums over its
// classes; stats are the forward's.
template <class T>
void dice_ce_backward(const T* x, const T* g, const T* stats, const double* a, const double* b,
                      double ce_w, int64_t n, int64_t k, int64_t s, T* gx);

}  // namespace fdl::kernels::cpu
