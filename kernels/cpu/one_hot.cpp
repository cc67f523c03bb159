#include "kernels/cpu/one_hot.h"

#include <algorithm>

namespace fdl::kernels::cpu {

// Voxels per task: the label chunk stays in L1 while the k output rows are written.
constexpr int64_t kChunk = 4096;

template <class T>
int64_t one_hot(const int32_t* labels, T* out, int64_t n, int64_t k, int64_t s) {
  const int64_t chunks = (s + kChunk - 1) / kChunk;
  int64_t first_bad_chunk = n * chunks;  // a flat chunk id; n * chunks means none
#pragma omp parallel for schedule(static) reduction(min : first_bad_chunk) if (n * s > 2 * kChunk)
  for (int64_t c = 0; c < n * chunks; ++c) {
    const int64_t b = c / chunks, lo = (c % chunks) * kChunk, hi = std::min(s, lo + kChunk);
    const int32_t* lab = labels + b * s;
    int64_t bad = 0;
#pragma omp simd reduction(+ : bad)
    for (int64_t i = lo; i < hi; ++i) bad += uint32_t(lab[i]) >= uint64_t(k);
    if (bad) first_bad_chunk = std::min(first_bad_chunk, c);
    for (int64_t j = 0; j < k; ++j) {
      T* o = out + (b * k + j) * s;
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) o[i] = lab[i] == j ? T(1) : T(0);
    }
  }
  if (first_bad_chunk == n * chunks) return -1;
  const int64_t b = first_bad_chunk / chunks, lo = (first_bad_chunk % chunks) * kChunk;
  for (int64_t i = lo;; ++i)
    if (uint32_t(labels[b * s + i]) >= uint64_t(k)) return b * s + i;
}

template int64_t one_hot<float>(const int32_t*, float*, int64_t, int64_t, int64_t);

}  // namespace fdl::kernels::cpu
