#include "kernels/cuda/one_hot.h"

#include "kernels/common/one_hot.h"
#include "kernels/common/slice_partition.h"
#include "kernels/cuda/launch.cuh"

namespace fdl::kernels::cuda {

namespace {

// One block per (sample, part); a thread reads a label once and writes its k class rows, so
// each row is written coalesced. Each thread keeps its smallest bad index and makes at most
// one atomic, however many labels are bad.
template <class T>
__global__ void one_hot_kernel(const int32_t* labels, T* out, int64_t n, int64_t k, int64_t s,
                               SlicePartition q, unsigned long long* first_bad) {
  unsigned long long bad = kOneHotNoBadLabel;
  for (int64_t b = blockIdx.x; b < n * q.parts; b += gridDim.x) {
    const int64_t sample = b / q.parts;
    int64_t lo, hi;
    q.range(s, b - sample * q.parts, lo, hi);
    const int32_t* lab = labels + sample * s;
    T* o = out + sample * k * s;
    for (int64_t i = lo + threadIdx.x; i < hi; i += blockDim.x) {
      const int32_t v = lab[i];
      if (uint32_t(v) >= uint64_t(k)) {
        const unsigned long long flat = (unsigned long long)(sample * s + i);
        bad = flat < bad ? flat : bad;
      }
      for (int64_t j = 0; j < k; ++j) o[j * s + i] = v == j ? T(1) : T(0);
    }
  }
  if (bad != kOneHotNoBadLabel) atomicMin(first_bad, bad);
}

// After the atomics: the value of the smallest bad label, for the error message.
__global__ void one_hot_report_kernel(const int32_t* labels, int32_t* report) {
  const unsigned long long first_bad = *reinterpret_cast<const unsigned long long*>(report);
  if (first_bad != kOneHotNoBadLabel) report[2] = labels[first_bad];
}

}  // namespace

template <class T>
void one_hot(const int32_t* labels, T* out, int64_t n, int64_t k, int64_t s, int32_t* report) {
  check(cudaMemsetAsync(report, 0xFF, kOneHotReportWords * sizeof(int32_t), stream()),
        "one_hot (cuda): clearing the bad-label report");
  if (n <= 0 || s <= 0 || k <= 0) return;
  const SlicePartition q = slice_partition(n, s);
  launch("one_hot (cuda)", one_hot_kernel<T>, grid_blocks(n * q.parts, 1), kThreads, 0, labels, out,
         n, k, s, q, reinterpret_cast<unsigned long long*>(report));
  launch("one_hot (cuda): bad-label report", one_hot_report_kernel, 1, 1, 0, labels, report);
}

template void one_hot<float>(const int32_t*, float*, int64_t, int64_t, int64_t, int32_t*);

}  // namespace fdl::kernels::cuda
