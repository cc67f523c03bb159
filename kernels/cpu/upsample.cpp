#include "kernels/cpu/upsample.h"

#include <algorithm>

namespace fdl::kernels::cpu {

// Below this many input elements, a parallel region costs more than it saves.
constexpr int64_t kParallelMin = 1 << 14;

// Both kernels walk input rows (one (n, c, x, y) line of Z values); each input row maps to
// four output rows of 2Z values: (2x, 2y), (2x, 2y+1), (2x+1, 2y), (2x+1, 2y+1).

template <class T>
void upsample_nearest2x_forward(const T* x, T* y, int64_t nc, int64_t X, int64_t Y, int64_t Z) {
  const int64_t rows = nc * X, Z2 = 2 * Z, plane2 = 2 * Y * Z2;
#pragma omp parallel for collapse(2) schedule(static) if (rows * Y * Z > kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < Y; ++j) {
      const T* in = x + (r * Y + j) * Z;
      T* o = y + 2 * r * plane2 + 2 * j * Z2;  // output row (2x, 2y) of volume (n, c)
#pragma omp simd
      for (int64_t k = 0; k < Z; ++k) {
        o[2 * k] = in[k];
        o[2 * k + 1] = in[k];
      }
      std::copy_n(o, Z2, o + Z2);
      std::copy_n(o, 2 * Z2, o + plane2);
    }
  }
}

template <class T>
void upsample_nearest2x_backward(const T* gy, T* gx, int64_t nc, int64_t X, int64_t Y, int64_t Z) {
  const int64_t rows = nc * X, Z2 = 2 * Z, plane2 = 2 * Y * Z2;
#pragma omp parallel for collapse(2) schedule(static) if (rows * Y * Z > kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < Y; ++j) {
      const T* g0 = gy + 2 * r * plane2 + 2 * j * Z2;
      const T* g1 = g0 + Z2;
      const T* g2 = g0 + plane2;
      const T* g3 = g2 + Z2;
      T* out = gx + (r * Y + j) * Z;
#pragma omp simd
      for (int64_t k = 0; k < Z; ++k)
        out[k] = ((g0[2 * k] + g0[2 * k + 1]) + (g1[2 * k] + g1[2 * k + 1])) +
                 ((g2[2 * k] + g2[2 * k + 1]) + (g3[2 * k] + g3[2 * k + 1]));
    }
  }
}

#define FDL_INSTANTIATE(T)                                                                       \
  template void upsample_nearest2x_forward<T>(const T*, T*, int64_t, int64_t, int64_t, int64_t); \
  template void upsample_nearest2x_backward<T>(const T*, T*, int64_t, int64_t, int64_t, int64_t);
FDL_INSTANTIATE(float)
FDL_INSTANTIATE(double)
#undef FDL_INSTANTIATE

}  // namespace fdl::kernels::cpu
