#include "kernels/cpu/sgd.h"

#include "kernels/common/sgd.h"

namespace fdl::kernels::cpu {

constexpr int64_t kParallelMin = 1 << 15;

template <class T>
void sgd_step(T* p, const T* g, T* buf, int64_t n, double lr, double momentum, double weight_decay,
              bool nesterov) {
  const SgdCoeffs<T> c = sgd_coeffs<T>(lr, momentum, weight_decay, nesterov);
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) sgd_update(p[i], g[i], buf[i], c);
}

template void sgd_step<float>(float*, const float*, float*, int64_t, double, double, double, bool);
template void sgd_step<double>(double*, const double*, double*, int64_t, double, double, double,
                               bool);

}  // namespace fdl::kernels::cpu
