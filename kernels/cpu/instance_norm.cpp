#include "kernels/cpu/instance_norm.h"

#include <algorithm>
#include <cmath>

#include "kernels/common/elementwise.h"
#include "kernels/common/instance_norm.h"

namespace fdl::kernels::cpu {

namespace {

// Statistics are gathered block by block: each block is small enough to stay in L1, so its
// exact mean and squared deviations cost one read from memory, and the blocks are merged
// with Chan's pairwise update in double. This stays accurate when |mean| >> std.
constexpr int64_t kBlock = 2048;

// Below this many elements in all, a parallel region costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;

template <class T>
void slice_moments(const T* x, int64_t s, double& mean, double& m2) {
  mean = 0;
  m2 = 0;
  int64_t count = 0;
  for (int64_t b0 = 0; b0 < s; b0 += kBlock) {
    const T* p = x + b0;
    const int64_t nb = std::min(kBlock, s - b0);
    double sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < nb; ++i) sum += double(p[i]);
    const double bmean = sum / double(nb);
    double bm2 = 0;
#pragma omp simd reduction(+ : bm2)
    for (int64_t i = 0; i < nb; ++i) {
      const double d = double(p[i]) - bmean;
      bm2 += d * d;
    }
    const int64_t total = count + nb;
    const double delta = bmean - mean;
    mean += delta * (double(nb) / double(total));
    m2 += bm2 + delta * delta * (double(count) * double(nb) / double(total));
    count = total;
  }
}

// Both forwards: statistics, then one pass that normalises and applies `act`.
template <class T, class Act>
void normalise(const T* x, T* y, T* rstd, int64_t nc, int64_t s, double eps, Act act) {
#pragma omp parallel for schedule(static) if (nc * s > kParallelMin)
  for (int64_t c = 0; c < nc; ++c) {
    const T* xc = x + c * s;
    T* yc = y + c * s;
    double mean, m2;
    slice_moments(xc, s, mean, m2);
    const double r = 1.0 / std::sqrt(m2 / double(s) + eps);
    rstd[c] = T(r);
    // The mean as a sum of two T values: x - hi is exact when x is near the mean, so the
    // centring keeps double accuracy even in float when the mean dwarfs the spread.
    const T hi = T(mean), lo = T(mean - double(hi)), rt = T(r);
#pragma omp simd
    for (int64_t i = 0; i < s; ++i) yc[i] = act(((xc[i] - hi) - lo) * rt);
  }
}

// The normalised value and its gradient as the norm backward sees them.
template <class T>
struct NormGrad {
  T y, g;
};

// Both backwards: `load(y, gy)` gives the NormGrad of an element.
template <class T, class Load>
void norm_backward(const T* y, const T* gy, const T* rstd, T* gx, int64_t nc, int64_t s,
                   Load load) {
#pragma omp parallel for schedule(static) if (nc * s > kParallelMin)
  for (int64_t c = 0; c < nc; ++c) {
    const T* yc = y + c * s;
    const T* gc = gy + c * s;
    T* out = gx + c * s;
    double sg = 0, sgy = 0;
#pragma omp simd reduction(+ : sg, sgy)
    for (int64_t i = 0; i < s; ++i) {
      const NormGrad<T> e = load(yc[i], gc[i]);
      sg += double(e.g);
      sgy += double(e.g) * double(e.y);
    }
    const double inv_s = 1.0 / double(s);
    const T a = T(sg * inv_s), b = T(sgy * inv_s), r = rstd[c];
#pragma omp simd
    for (int64_t i = 0; i < s; ++i) {
      const NormGrad<T> e = load(yc[i], gc[i]);
      out[i] = ((e.g - a) - e.y * b) * r;
    }
  }
}

}  // namespace

template <class T>
void instance_norm_forward(const T* x, T* y, T* rstd, int64_t nc, int64_t s, double eps) {
  normalise(x, y, rstd, nc, s, eps, [](T v) { return v; });
}

template <class T>
void instance_norm_backward(const T* y, const T* gy, const T* rstd, T* gx, int64_t nc, int64_t s) {
  norm_backward(y, gy, rstd, gx, nc, s, [](T yv, T g) { return NormGrad<T>{yv, g}; });
}

template <class T>
void instance_norm_leaky_relu_forward(const T* x, T* y, T* rstd, int64_t nc, int64_t s, double eps,
                                      T slope) {
  normalise(x, y, rstd, nc, s, eps, [slope](T v) { return kernels::leaky_relu(v, slope); });
}

template <class T>
void instance_norm_leaky_relu_backward(const T* y, const T* gy, const T* rstd, T* gx, int64_t nc,
                                       int64_t s, T slope) {
  norm_backward(y, gy, rstd, gx, nc, s, [slope](T yv, T g) {
    return NormGrad<T>{kernels::leaky_relu_input_from_output(yv, slope),
                       kernels::leaky_relu_grad_from_output(yv, g, slope)};
  });
}

#define FDL_INSTANTIATE(T)                                                                      \
  template void instance_norm_forward<T>(const T*, T*, T*, int64_t, int64_t, double);           \
  template void instance_norm_backward<T>(const T*, const T*, const T*, T*, int64_t, int64_t);  \
  template void instance_norm_leaky_relu_forward<T>(const T*, T*, T*, int64_t, int64_t, double, \
                                                    T);                                         \
  template void instance_norm_leaky_relu_backward<T>(const T*, const T*, const T*, T*, int64_t, \
                                                     int64_t, T);
FDL_INSTANTIATE(float)
FDL_INSTANTIATE(double)
#undef FDL_INSTANTIATE

}  // namespace fdl::kernels::cpu
