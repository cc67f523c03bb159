#include "kernels/cpu/dice_ce.h"

#include <algorithm>
#include <cmath>

#include "kernels/common/dice_ce.h"
#include "kernels/cpu/dice.h"

namespace fdl::kernels::cpu {

namespace {
// exp(x) for x <= 0: the vectorisable polynomial for float (kernels/cpu/dice.h), the
// library's for double (which serves the gradient checks, where every bit counts).
template <class T>
inline T exp_t(T x) {
  if constexpr (sizeof(T) == 4) {
    return exp_poly(x);
  } else {
    return std::exp(x);
  }
}

// Voxels per partial sum (all k classes of each). Fixed, so the summation order is too.
constexpr int64_t kBlock = 4096;
constexpr int64_t kPiece = 256;  // voxels whose per-voxel values are buffered on the stack

int64_t blocks_per_item(int64_t s) { return (s + kBlock - 1) / kBlock; }

// The softmax statistics of the `len` voxels from i0 of one batch element xn (k rows of s):
// the largest logit m, then log_z = log sum_c exp(x_c - m).
template <class T>
void piece_stats(const T* xn, int64_t k, int64_t s, int64_t i0, int64_t len, T* m, T* log_z) {
  T z[kPiece];
#pragma omp simd
  for (int64_t i = 0; i < len; ++i) m[i] = xn[i0 + i], z[i] = T(0);
  for (int64_t c = 1; c < k; ++c) {
    const T* xc = xn + c * s + i0;
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) m[i] = xc[i] > m[i] ? xc[i] : m[i];
  }
  for (int64_t c = 0; c < k; ++c) {
    const T* xc = xn + c * s + i0;
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) z[i] += exp_t(xc[i] - m[i]);
  }
  for (int64_t i = 0; i < len; ++i) log_z[i] = std::log(z[i]);
}
}  // namespace

int64_t dice_ce_workspace(int64_t n, int64_t k, int64_t s) {
  return kDiceCeSums * k * n * blocks_per_item(s);
}

template <class T>
void dice_ce_forward(const T* x, const T* g, int64_t n, int64_t k, int64_t s, T* stats,
                     double* work, double* sums) {
  const int64_t per_item = blocks_per_item(s), blocks = n * per_item, q = kDiceCeSums * k;
#pragma omp parallel for schedule(static) if (n * k * s > 2 * kBlock)
  for (int64_t t = 0; t < blocks; ++t) {
    const int64_t b = t / per_item, lo = (t % per_item) * kBlock, hi = std::min(s, lo + kBlock);
    const T* xn = x + b * k * s;
    const T* gn = g + b * k * s;
    T* m = stats + b * s;
    T* log_z = stats + n * s + b * s;
    double* part = work + t * q;
    std::fill_n(part, q, 0.0);
    for (int64_t i0 = lo; i0 < hi; i0 += kPiece) {
      const int64_t len = std::min(kPiece, hi - i0);
      T* mi = m + i0;
      T* lzi = log_z + i0;
      piece_stats(xn, k, s, i0, len, mi, lzi);
      for (int64_t c = 0; c < k; ++c) {
        const T* xc = xn + c * s + i0;
        const T* gc = gn + c * s + i0;
        // Two passes, as the sigmoid Dice's: log p and p in T (vectorises alone), then the
        // sums in double.
        T lp[kPiece], p[kPiece];
#pragma omp simd
        for (int64_t i = 0; i < len; ++i) {
          lp[i] = dice_ce_log_p(xc[i], mi[i], lzi[i]);
          p[i] = exp_t(lp[i]);
        }
        double pg = 0, pp = 0, gg = 0, ce = 0;
#pragma omp simd reduction(+ : pg, pp, gg, ce)
        for (int64_t i = 0; i < len; ++i) {
          const double pi = p[i], gi = gc[i];
          pg += pi * gi;
          pp += pi;
          gg += gi;
          ce -= gi * double(lp[i]);
        }
        double* pc = part + kDiceCeSums * c;
        pc[kSumPG] += pg, pc[kSumP] += pp, pc[kSumG] += gg, pc[kSumCE] += ce;
      }
    }
  }
  std::fill_n(sums, q, 0.0);
  for (int64_t t = 0; t < blocks; ++t)
    for (int64_t j = 0; j < q; ++j) sums[j] += work[t * q + j];
}

template <class T>
void dice_ce_backward(const T* x, const T* g, const T* stats, const double* a, const double* b,
                      double ce_w, int64_t n, int64_t k, int64_t s, T* gx) {
  const int64_t per_item = blocks_per_item(s), blocks = n * per_item;
  const T cw = T(ce_w);
#pragma omp parallel for schedule(static) if (n * k * s > 2 * kBlock)
  for (int64_t t = 0; t < blocks; ++t) {
    const int64_t item = t / per_item, lo = (t % per_item) * kBlock, hi = std::min(s, lo + kBlock);
    const int64_t base = item * k * s;
    for (int64_t i0 = lo; i0 < hi; i0 += kPiece) {
      const int64_t len = std::min(kPiece, hi - i0);
      const T* m = stats + item * s + i0;
      const T* log_z = stats + n * s + item * s + i0;
      T r[kPiece], gsum[kPiece];
#pragma omp simd
      for (int64_t i = 0; i < len; ++i) r[i] = T(0), gsum[i] = T(0);
      // The voxel's sums over its classes first: r = sum p u, G = sum g.
      for (int64_t c = 0; c < k; ++c) {
        const T* xc = x + base + c * s + i0;
        const T* gc = g + base + c * s + i0;
        const T ac = T(a[c]), bc = T(b[c]);
#pragma omp simd
        for (int64_t i = 0; i < len; ++i) {
          r[i] += exp_t(dice_ce_log_p(xc[i], m[i], log_z[i])) * (ac * gc[i] + bc);
          gsum[i] += gc[i];
        }
      }
      for (int64_t c = 0; c < k; ++c) {
        const T* xc = x + base + c * s + i0;
        const T* gc = g + base + c * s + i0;
        T* out = gx + base + c * s + i0;
        const T ac = T(a[c]), bc = T(b[c]);
#pragma omp simd
        for (int64_t i = 0; i < len; ++i)
          out[i] = dice_ce_grad_element(exp_t(dice_ce_log_p(xc[i], m[i], log_z[i])), gc[i],
                                        ac * gc[i] + bc, r[i], gsum[i], cw);
      }
    }
  }
}

#define FDL_INSTANTIATE(T)                                                                      \
  template void dice_ce_forward<T>(const T*, const T*, int64_t, int64_t, int64_t, T*, double*,  \
                                   double*);                                                    \
  template void dice_ce_backward<T>(const T*, const T*, const T*, const double*, const double*, \
                                    double, int64_t, int64_t, int64_t, T*);
FDL_INSTANTIATE(float)
FDL_INSTANTIATE(double)
#undef FDL_INSTANTIATE

}  // namespace fdl::kernels::cpu
