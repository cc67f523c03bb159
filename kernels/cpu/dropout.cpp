#include "kernels/cpu/dropout.h"

#include "kernels/common/dropout.h"

namespace fdl::kernels::cpu {

// Below this many elements in all, a parallel region costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;

template <class T>
void dropout3d_apply(const T* x, T* out, int64_t nc, int64_t s, uint64_t seed, uint64_t offset,
                     double p, T scale) {
#pragma omp parallel for schedule(static) if (nc * s > kParallelMin)
  for (int64_t c = 0; c < nc; ++c) {
    const T* xc = x + c * s;
    T* oc = out + c * s;
    // A dropped channel is written as zeros without reading x (NaN inputs do not leak).
    const T k = kernels::dropout_keep(seed, offset, uint64_t(c), p) ? scale : T(0);
    if (k == T(0)) {
#pragma omp simd
      for (int64_t i = 0; i < s; ++i) oc[i] = T(0);
    } else {
#pragma omp simd
      for (int64_t i = 0; i < s; ++i) oc[i] = xc[i] * k;
    }
  }
}

#define FDL_INSTANTIATE(T) \
  template void dropout3d_apply<T>(const T*, T*, int64_t, int64_t, uint64_t, uint64_t, double, T);
FDL_INSTANTIATE(float)
FDL_INSTANTIATE(double)
#undef FDL_INSTANTIATE

}  // namespace fdl::kernels::cpu
