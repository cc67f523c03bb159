#include "kernels/cpu/adam.h"

#include <cmath>

namespace fdl::kernels::cpu {

constexpr int64_t kParallelMin = 1 << 15;

template <class T>
void adam_step(T* p, const T* g, T* m, T* v, int64_t n, const AdamScalars& s) {
  const T b1 = T(s.beta1), b2 = T(s.beta2), one_b1 = T(1 - s.beta1), one_b2 = T(1 - s.beta2);
  const T wd = T(s.weight_decay), eps = T(s.eps), bc2 = T(s.bias_correction2_sqrt);
  const T neg_step = T(-s.step_size);
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const T d = g[i] + wd * p[i];
    const T mi = m[i] * b1 + one_b1 * d;
    const T vi = v[i] * b2 + one_b2 * d * d;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] + neg_step * mi / (std::sqrt(vi) / bc2 + eps);
  }
}

template void adam_step<float>(float*, const float*, float*, float*, int64_t, const AdamScalars&);
template void adam_step<double>(double*, const double*, double*, double*, int64_t,
                                const AdamScalars&);

}  // namespace fdl::kernels::cpu
