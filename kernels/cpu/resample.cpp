#include "kernels/cpu/resample.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace fdl::kernels::cpu {

namespace {

// Below this many output elements, a parallel region costs more than it saves.
constexpr int64_t kParallelMin = 1 << 14;

// One axis of linear interpolation: output d reads i0[d] and i1[d] with weights w0[d], w1[d].
// The arithmetic follows torch's compute_source_index_and_lambda in T.
template <class T>
struct LinearAxis {
  std::vector<int64_t> i0, i1;
  std::vector<T> w0, w1;
  LinearAxis(int64_t in, int64_t out)
      : i0(size_t(out)), i1(size_t(out)), w0(size_t(out)), w1(size_t(out)) {
    const T scale = T(in) / T(out);
    for (int64_t d = 0; d < out; ++d) {
      const size_t s = size_t(d);
      if (in == out) {
        i0[s] = i1[s] = d;
        w0[s] = 1, w1[s] = 0;
        continue;
      }
      const T src = std::max(T(0), scale * (T(d) + T(0.5)) - T(0.5));
      i0[s] = int64_t(src);
      i1[s] = i0[s] + (i0[s] < in - 1 ? 1 : 0);
      w1[s] = src - T(i0[s]);
      w0[s] = T(1) - w1[s];
    }
  }
};

std::vector<int64_t> nearest_axis(int64_t in, int64_t out) {
  std::vector<int64_t> idx(static_cast<size_t>(out));
  const float scale = float(in) / float(out);
  for (int64_t d = 0; d < out; ++d)
    idx[size_t(d)] =
        std::min(int64_t(std::floor(float((double(d) + 0.5) * double(scale)))), in - 1);
  return idx;
}

}  // namespace

template <class T>
void resize_trilinear(const T* x, T* y, int64_t nc, int64_t X, int64_t Y, int64_t Z, int64_t OX,
                      int64_t OY, int64_t OZ) {
  const LinearAxis<T> ax(X, OX), ay(Y, OY), az(Z, OZ);
  const int64_t rows = nc * OX;
#pragma omp parallel for collapse(2) schedule(static) if (rows * OY * OZ > kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t oy = 0; oy < OY; ++oy) {
      const int64_t c = r / OX, ox = r % OX;
      const size_t sx = size_t(ox), sy = size_t(oy);
      const T* v = x + c * X * Y * Z;
      // The four input rows (x, y) around this output row, with their bilinear weights.
      const T* r00 = v + (ax.i0[sx] * Y + ay.i0[sy]) * Z;
      const T* r01 = v + (ax.i0[sx] * Y + ay.i1[sy]) * Z;
      const T* r10 = v + (ax.i1[sx] * Y + ay.i0[sy]) * Z;
      const T* r11 = v + (ax.i1[sx] * Y + ay.i1[sy]) * Z;
      const T wx0 = ax.w0[sx], wx1 = ax.w1[sx], wy0 = ay.w0[sy], wy1 = ay.w1[sy];
      T* out = y + (r * OY + oy) * OZ;
      for (int64_t oz = 0; oz < OZ; ++oz) {
        const size_t sz = size_t(oz);
        const int64_t z0 = az.i0[sz], z1 = az.i1[sz];
        const T wz0 = az.w0[sz], wz1 = az.w1[sz];
        out[oz] =
            wx0 * (wy0 * (wz0 * r00[z0] + wz1 * r00[z1]) + wy1 * (wz0 * r01[z0] + wz1 * r01[z1])) +
            wx1 * (wy0 * (wz0 * r10[z0] + wz1 * r10[z1]) + wy1 * (wz0 * r11[z0] + wz1 * r11[z1]));
      }
    }
  }
}

template <class T>
void resize_nearest(const T* x, T* y, int64_t nc, int64_t X, int64_t Y, int64_t Z, int64_t OX,
                    int64_t OY, int64_t OZ) {
  const std::vector<int64_t> ix = nearest_axis(X, OX), iy = nearest_axis(Y, OY),
                             iz = nearest_axis(Z, OZ);
  const int64_t rows = nc * OX;
#pragma omp parallel for collapse(2) schedule(static) if (rows * OY * OZ > kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t oy = 0; oy < OY; ++oy) {
      const int64_t c = r / OX, ox = r % OX;
      const T* in = x + ((c * X + ix[size_t(ox)]) * Y + iy[size_t(oy)]) * Z;
      T* out = y + (r * OY + oy) * OZ;
      for (int64_t oz = 0; oz < OZ; ++oz) out[oz] = in[iz[size_t(oz)]];
    }
  }
}

template void resize_trilinear<float>(const float*, float*, int64_t, int64_t, int64_t, int64_t,
                                      int64_t, int64_t, int64_t);
template void resize_trilinear<double>(const double*, double*, int64_t, int64_t, int64_t, int64_t,
                                       int64_t, int64_t, int64_t);
template void resize_nearest<float>(const float*, float*, int64_t, int64_t, int64_t, int64_t,
                                    int64_t, int64_t, int64_t);
template void resize_nearest<double>(const double*, double*, int64_t, int64_t, int64_t, int64_t,
                                     int64_t, int64_t, int64_t);
template void resize_nearest<int32_t>(const int32_t*, int32_t*, int64_t, int64_t, int64_t, int64_t,
                                      int64_t, int64_t, int64_t);

}  // namespace fdl::kernels::cpu
