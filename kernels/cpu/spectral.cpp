#include "kernels/cpu/spectral.h"

#include <vector>

namespace fdl::kernels::cpu {

namespace {
constexpr int64_t kParallelMin = 1 << 14;  // complex elements below which one thread is faster
}

template <class T>
void spectral_crop(const T* full, T* small, const Block3& b, int64_t batch, T scale) {
  const int64_t m0 = b.a[0].m, m1 = b.a[1].m, h2 = b.a[2].m / 2 + 1;
  const int64_t full_half = b.a[0].n * b.a[1].n * (b.a[2].n / 2 + 1);
  const int64_t per = m0 * m1 * h2, total = batch * per;
#pragma omp parallel for if (total > kParallelMin)
  for (int64_t e = 0; e < total; ++e) {
    const int64_t v = e / per, rest = e % per;
    const int64_t i0 = rest / (m1 * h2), i1 = rest / h2 % m1, i2 = rest % h2;
    const Cx<T> c = crop_element(full + 2 * v * full_half, b, i0, i1, i2, scale);
    small[2 * e] = c.re;
    small[2 * e + 1] = c.im;
  }
}

namespace {
// Per-axis block membership of index r and of its mirror -r: most (r0, r1) rows of a
// spectrum meet B in neither, and are only scaled.
struct Rows {
  std::vector<char> in[2];
  explicit Rows(const Block3& b) {
    for (int a = 0; a < 2; ++a) {
      const BlockAxis& ax = b.a[a];
      in[a].resize(size_t(ax.n));
      for (int64_t r = 0; r < ax.n; ++r)
        in[a][size_t(r)] = ax.to_small(r) >= 0 || ax.to_small(mirror_index(r, ax.n)) >= 0;
    }
  }
  bool touches(int64_t r0, int64_t r1) const { return in[0][size_t(r0)] && in[1][size_t(r1)]; }
};

// Every (v, r0, r1) row of the batch of full half spectra: a row B does not touch is only
// scaled; each element r2 of the others becomes f(row, v, r0, r1, r2).
template <class T, class F>
void for_each_row(T* full, const Block3& b, int64_t batch, T scale, F f) {
  const int64_t n0 = b.a[0].n, n1 = b.a[1].n, h2 = b.a[2].n / 2 + 1;
  const Rows rows(b);
#pragma omp parallel for collapse(2) if (batch * n0 * n1 * h2 > kParallelMin)
  for (int64_t v = 0; v < batch; ++v)
    for (int64_t r0 = 0; r0 < n0; ++r0)
      for (int64_t r1 = 0; r1 < n1; ++r1) {
        T* row = full + 2 * (((v * n0 + r0) * n1 + r1) * h2);
        if (!rows.touches(r0, r1)) {
#pragma omp simd
          for (int64_t k = 0; k < 2 * h2; ++k) row[k] *= scale;
          continue;
        }
        for (int64_t r2 = 0; r2 < h2; ++r2) f(row, v, r0, r1, r2);
      }
}
}  // namespace

template <class T>
void spectral_zero_block(T* full, const Block3& b, int64_t batch, T scale) {
  for_each_row(full, b, batch, scale, [&](T* row, int64_t, int64_t r0, int64_t r1, int64_t r2) {
    const T w = mask_weight(b, r0, r1, r2, scale);
    row[2 * r2] *= w;
    row[2 * r2 + 1] *= w;
  });
}

template <class T>
void spectral_embed(T* full, const T* small, const Block3& b, int64_t batch, T scale) {
  const int64_t small_half = b.a[0].m * b.a[1].m * (b.a[2].m / 2 + 1);
  // Outside B's rows Herm(H) = H: only the scale.
  for_each_row(full, b, batch, scale, [&](T* row, int64_t v, int64_t r0, int64_t r1, int64_t r2) {
    const Cx<T> c = embed_element(Cx<T>{row[2 * r2], row[2 * r2 + 1]}, small + 2 * v * small_half,
                                  b, r0, r1, r2, scale);
    row[2 * r2] = c.re;
    row[2 * r2 + 1] = c.im;
  });
}

#define FDL_INSTANTIATE(T)                                                 \
  template void spectral_crop<T>(const T*, T*, const Block3&, int64_t, T); \
  template void spectral_zero_block<T>(T*, const Block3&, int64_t, T);     \
  template void spectral_embed<T>(T*, const T*, const Block3&, int64_t, T);
FDL_INSTANTIATE(float)
FDL_INSTANTIATE(double)
#undef FDL_INSTANTIATE

}  // namespace fdl::kernels::cpu
