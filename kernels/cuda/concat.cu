#include "kernels/cuda/concat.h"

#include "kernels/common/concat.h"
#include "kernels/cuda/launch.cuh"

namespace fdl::kernels::cuda {

namespace {

// Source -> output (concat) or output -> source (split) for one source of `count` elements.
template <class T, bool kToOutput>
__global__ void copy_source_kernel(const T* from, T* to, int64_t count, int64_t src_run,
                                   int64_t dst_offset, int64_t dst_run) {
  FDL_CUDA_LOOP(e, count) {
    const int64_t d = concat_dst_index(e, src_run, dst_offset, dst_run);
    if constexpr (kToOutput)
      to[d] = from[e];
    else
      to[e] = from[d];
  }
}

// Calls f(i, src_run, dst_offset, dst_run, count) for each source that has elements.
template <class F>
void for_each_source(const int64_t* chans, int k, int64_t n, int64_t s, F f) {
  int64_t total = 0;
  for (int i = 0; i < k; ++i) total += chans[i];
  int64_t offset = 0;
  for (int i = 0; i < k; ++i) {
    const int64_t count = n * chans[i] * s;
    if (count > 0) f(i, chans[i] * s, offset * s, total * s, count);
    offset += chans[i];
  }
}

}  // namespace

template <class T>
void concat_channels(const T* const* srcs, const int64_t* chans, int k, T* out, int64_t n,
                     int64_t s) {
  for_each_source(chans, k, n, s,
                  [&](int i, int64_t src_run, int64_t dst_offset, int64_t dst_run, int64_t count) {
                    launch("concat_channels (cuda)", copy_source_kernel<T, true>, blocks_for(count),
                           kThreads, 0, srcs[i], out, count, src_run, dst_offset, dst_run);
                  });
}

template <class T>
void split_channels(const T* g, T* const* dsts, const int64_t* chans, int k, int64_t n, int64_t s) {
  for_each_source(chans, k, n, s,
                  [&](int i, int64_t src_run, int64_t dst_offset, int64_t dst_run, int64_t count) {
                    if (!dsts[i]) return;
                    launch("concat_channels (cuda): split for the backward",
                           copy_source_kernel<T, false>, blocks_for(count), kThreads, 0, g, dsts[i],
                           count, src_run, dst_offset, dst_run);
                  });
}

#define FDL_INSTANTIATE(T)                                                                      \
  template void concat_channels<T>(const T* const*, const int64_t*, int, T*, int64_t, int64_t); \
  template void split_channels<T>(const T*, T* const*, const int64_t*, int, int64_t, int64_t);
FDL_INSTANTIATE(float)
FDL_INSTANTIATE(double)
#undef FDL_INSTANTIATE

}  // namespace fdl::kernels::cuda
