// kernels/common/concat.h, the CUDA concat's index map: one launch per source, emulated on the
// host, reproduces the CPU concat and split.
#include <doctest/doctest.h>

#include <vector>

#include "kernels/common/concat.h"
#include "kernels/cpu/concat.h"

using namespace fdl;

TEST_CASE("concat map: per-source copies equal the CPU concat and split") {
  const int64_t n = 3, s = 7;
  const std::vector<int64_t> chans = {2, 1, 4, 3};
  const int k = int(chans.size());
  int64_t total = 0;
  for (int64_t c : chans) total += c;
  std::vector<std::vector<double>> srcs;
  std::vector<const double*> ptrs;
  for (int i = 0; i < k; ++i) {
    std::vector<double> v(size_t(n * chans[size_t(i)] * s));
    for (size_t e = 0; e < v.size(); ++e) v[e] = double(1000 * (i + 1) + int64_t(e));
    srcs.push_back(v);
  }
  for (const auto& v : srcs) ptrs.push_back(v.data());
  std::vector<double> want(size_t(n * total * s)), got(want.size(), -1);
  kernels::cpu::concat_channels(ptrs.data(), chans.data(), k, want.data(), n, s);
  int64_t offset = 0;
  for (int i = 0; i < k; ++i) {
    const int64_t ci = chans[size_t(i)];
    for (int64_t e = 0; e < n * ci * s; ++e)
      got[size_t(kernels::concat_dst_index(e, ci * s, offset * s, total * s))] =
          srcs[size_t(i)][size_t(e)];
    offset += ci;
  }
  CHECK(got == want);

  // The split reads the same map backwards; source 1's gradient is not wanted.
  std::vector<std::vector<double>> parts(chans.size()), back(chans.size());
  std::vector<double*> dsts;
  for (int i = 0; i < k; ++i) {
    parts[size_t(i)].assign(srcs[size_t(i)].size(), -1);
    back[size_t(i)].assign(srcs[size_t(i)].size(), -1);
    dsts.push_back(i == 1 ? nullptr : parts[size_t(i)].data());
  }
  kernels::cpu::split_channels(want.data(), dsts.data(), chans.data(), k, n, s);
  offset = 0;
  for (int i = 0; i < k; ++i) {
    const int64_t ci = chans[size_t(i)];
    if (i != 1)
      for (int64_t e = 0; e < n * ci * s; ++e)
        back[size_t(i)][size_t(e)] =
            want[size_t(kernels::concat_dst_index(e, ci * s, offset * s, total * s))];
    offset += ci;
  }
  for (int i = 0; i < k; ++i) CHECK(back[size_t(i)] == parts[size_t(i)]);
  CHECK(back[0] == srcs[0]);
}
