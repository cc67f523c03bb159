#include "kernels/cpu/concat.h"

#include <cstring>

namespace fdl::kernels::cpu {

namespace {

// Below this many elements in all, a parallel region costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;

// Calls f(j, i, c) for every output channel j = (sample, channel) in parallel, where source i
// holds it as its channel c. Each call moves one contiguous run of s elements.
template <class F>
void for_each_channel(const int64_t* chans, int k, int64_t n, int64_t s, F f) {
  int64_t total = 0;
  for (int i = 0; i < k; ++i) total += chans[i];
#pragma omp parallel for schedule(static) if (n * total * s > kParallelMin)
  for (int64_t j = 0; j < n * total; ++j) {
    const int64_t b = j / total;
    int64_t c = j - b * total;
    int i = 0;
    while (c >= chans[i]) c -= chans[i++];
    f(j, i, b * chans[i] + c);
  }
}

}  // namespace

template <class T>
void concat_channels(const T* const* srcs, const int64_t* chans, int k, T* out, int64_t n,
                     int64_t s) {
  for_each_channel(chans, k, n, s, [&](int64_t j, int i, int64_t src_ch) {
    std::memcpy(out + j * s, srcs[i] + src_ch * s, size_t(s) * sizeof(T));
  });
}

template <class T>
void split_channels(const T* g, T* const* dsts, const int64_t* chans, int k, int64_t n, int64_t s) {
  for_each_channel(chans, k, n, s, [&](int64_t j, int i, int64_t dst_ch) {
    if (dsts[i]) std::memcpy(dsts[i] + dst_ch * s, g + j * s, size_t(s) * sizeof(T));
  });
}

#define FDL_INSTANTIATE(T)                                                                      \
  template void concat_channels<T>(const T* const*, const int64_t*, int, T*, int64_t, int64_t); \
  template void split_channels<T>(const T*, T* const*, const int64_t*, int, int64_t, int64_t);
FDL_INSTANTIATE(float)
FDL_INSTANTIATE(double)
#undef FDL_INSTANTIATE

}  // namespace fdl::kernels::cpu
