#include "kernels/cpu/dice.h"

#include <algorithm>
#include <cmath>

#include "kernels/common/dice.h"

namespace fdl::kernels::cpu {

namespace {
// exp(-x): the polynomial for float, the library's for double (which serves the gradient
// checks, where every bit counts). Then p = 1 / (1 + e) and 1 - p = e p, which keeps
// p (1 - p) accurate where p rounds to 1.
template <class T>
inline T exp_neg(T x) {
  if constexpr (sizeof(T) == 4) {
    return exp_poly(-x);
  } else {
    return std::exp(-x);
  }
}
}  // namespace

// Elements per partial sum. Fixed, so the summation order is too.
constexpr int64_t kBlock = 8192;
constexpr int64_t kPiece = 512;  // sigmoid values buffered on the stack per pass

int64_t dice_workspace(int64_t n, int64_t k, int64_t s) {
  return 3 * n * k * ((s + kBlock - 1) / kBlock);
}

template <class T>
void dice_sums(const T* x, const T* g, int64_t n, int64_t k, int64_t s, double* work,
               double* sums) {
  const int64_t per_row = (s + kBlock - 1) / kBlock, blocks = n * k * per_row;
#pragma omp parallel for schedule(static) if (n * k * s > 2 * kBlock)
  for (int64_t t = 0; t < blocks; ++t) {
    const int64_t row = t / per_row, lo = (t % per_row) * kBlock, hi = std::min(s, lo + kBlock);
    const T* xr = x + row * s;
    const T* gr = g + row * s;
    // Two passes over L1-sized pieces: the sigmoid (vectorises alone), then the sums in
    // double (an omp simd reduction over both at once did not vectorise).
    double pg = 0, pp = 0, gg = 0;
    for (int64_t i0 = lo; i0 < hi; i0 += kPiece) {
      const int64_t len = std::min(kPiece, hi - i0);
      T p[kPiece];
#pragma omp simd
      for (int64_t i = 0; i < len; ++i) p[i] = T(1) / (T(1) + exp_neg(xr[i0 + i]));
#pragma omp simd reduction(+ : pg, pp, gg)
      for (int64_t i = 0; i < len; ++i) {
        const double pi = p[i], gi = gr[i0 + i];
        pg += pi * gi;
        pp += pi * pi;
        gg += gi * gi;
      }
    }
    work[3 * t] = pg, work[3 * t + 1] = pp, work[3 * t + 2] = gg;
  }
  std::fill_n(sums, 3 * k, 0.0);
  for (int64_t t = 0; t < blocks; ++t) {
    const int64_t c = (t / per_row) % k;
    for (int j = 0; j < 3; ++j) sums[3 * c + j] += work[3 * t + j];
  }
}

template <class T>
void dice_backward(const T* x, const T* g, const double* a, const double* b, int64_t n, int64_t k,
                   int64_t s, T* gx) {
  const int64_t per_row = (s + kBlock - 1) / kBlock, blocks = n * k * per_row;
#pragma omp parallel for schedule(static) if (n * k * s > 2 * kBlock)
  for (int64_t t = 0; t < blocks; ++t) {
    const int64_t row = t / per_row, lo = (t % per_row) * kBlock, hi = std::min(s, lo + kBlock);
    const int64_t c = row % k;
    const T ac = T(a[c]), bc = T(b[c]);
    const T* xr = x + row * s;
    const T* gr = g + row * s;
    T* out = gx + row * s;
    if (ac == T(0) && bc == T(0)) {  // the ignored background
      std::fill(out + lo, out + hi, T(0));
      continue;
    }
#pragma omp simd
    for (int64_t i = lo; i < hi; ++i) out[i] = dice_grad_element(exp_neg(xr[i]), gr[i], ac, bc);
  }
}

#define FDL_INSTANTIATE(T)                                                                     \
  template void dice_sums<T>(const T*, const T*, int64_t, int64_t, int64_t, double*, double*); \
  template void dice_backward<T>(const T*, const T*, const double*, const double*, int64_t,    \
                                 int64_t, int64_t, T*);
FDL_INSTANTIATE(float)
FDL_INSTANTIATE(double)
#undef FDL_INSTANTIATE

}  // namespace fdl::kernels::cpu
