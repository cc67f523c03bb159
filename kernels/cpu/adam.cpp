#include "kernels/cpu/adam.h"

#include "kernels/common/adam.h"

namespace fdl::kernels::cpu {

constexpr int64_t kParallelMin = 1 << 15;

template <class T>
void adam_step(T* p, const T* g, T* m, T* v, int64_t n, const AdamScalars& s) {
  const AdamCoeffs<T> c = adam_coeffs<T>(s.beta1, s.beta2, s.eps, s.weight_decay);
  const T bc2 = T(s.bias_correction2_sqrt), neg_step = T(-s.step_size);
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) adam_update(p[i], g[i], m[i], v[i], c, neg_step, bc2);
}

template void adam_step<float>(float*, const float*, float*, float*, int64_t, const AdamScalars&);
template void adam_step<double>(double*, const double*, double*, double*, int64_t,
                                const AdamScalars&);

}  // namespace fdl::kernels::cpu
