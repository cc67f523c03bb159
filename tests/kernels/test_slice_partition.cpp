// The slice partition of the CUDA slice kernels (instance norm, dropout, one-hot), checked on
// the host: its invariants, and the kernels' loop structure emulated over it.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/common/dropout.h"
#include "kernels/common/slice_partition.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cpu/one_hot.h"
#include "tests/support.h"

using namespace fdl;
using kernels::SlicePartition;

namespace {
constexpr int64_t kBlockThreads = 256;  // kernels/cuda/runtime.h's kThreads

// Calls f(c, i) for every element that the CUDA slice kernels' loops visit, in their order:
// grid-stride over (slice, part) blocks, then each thread strides through its part.
template <class F>
void for_each_visit(int64_t nc, int64_t s, F f) {
  const SlicePartition q = kernels::slice_partition(nc, s);
  const int64_t grid = kernels::grid_blocks(nc * q.parts, 1);
  for (int64_t block = 0; block < grid; ++block)
    for (int64_t b = block; b < nc * q.parts; b += grid) {
      const int64_t c = b / q.parts;
      int64_t lo, hi;
      q.range(s, b - c * q.parts, lo, hi);
      for (int64_t t = 0; t < kBlockThreads; ++t)
        for (int64_t i = lo + t; i < hi; i += kBlockThreads) f(c, i, t);
    }
}
}  // namespace

TEST_CASE("slice partition: whole aligned chunks, no empty part, enough blocks, not too many") {
  for (int64_t nc : {1, 2, 3, 16, 64, 1000, 5000})
    for (int64_t s : {1, 31, 32, 33, 1000, 8191, 8192, 8193, 16385, 100000, 3276800, 10000019}) {
      CAPTURE(nc);
      CAPTURE(s);
      const SlicePartition q = kernels::slice_partition(nc, s);
      CHECK(q.parts >= 1);
      CHECK(q.chunk % kernels::kSliceAlign == 0);
      CHECK(q.parts * q.chunk >= s);       // covers the slice
      CHECK((q.parts - 1) * q.chunk < s);  // the last part is not empty
      if (q.parts > 1) CHECK(q.chunk >= kernels::kSliceMinPerBlock);
      CHECK(nc * q.parts < kernels::kSliceTargetBlocks + nc);
      int64_t lo, hi;
      q.range(s, q.parts - 1, lo, hi);
      CHECK(hi == s);
      CHECK(lo < hi);
    }
  // The case the partition exists for: batch 2 x 8 channels at 160x160x128 fills the GPU.
  const SlicePartition big = kernels::slice_partition(16, 160 * 160 * 128);
  CHECK(16 * big.parts >= 512);
  CHECK(kernels::slice_partition(16, 0).parts == 1);
}

TEST_CASE("slice partition: the kernels' loops visit every element exactly once") {
  for (int64_t nc : {1, 3, 700})
    for (int64_t s : {1, 5, 257, 8192 * 2 + 33, 70001}) {
      if (nc * s > 3000000) continue;
      CAPTURE(nc);
      CAPTURE(s);
      std::vector<int> seen(size_t(nc * s), 0);
      for_each_visit(nc, s, [&](int64_t c, int64_t i, int64_t) { ++seen[size_t(c * s + i)]; });
      CHECK(std::all_of(seen.begin(), seen.end(), [](int v) { return v == 1; }));
    }
}

TEST_CASE("slice partition: the CUDA dropout's loop structure reproduces the CPU kernel") {
  const int64_t nc = 37, s = 8192 * 3 + 100;  // several parts per channel
  const uint64_t seed = 99, offset = 12;
  const double p = 0.4;
  std::vector<float> x(size_t(nc * s)), want(x.size()), got(x.size(), -1.0f);
  const std::vector<double> r = test::randn({nc * s}, 31).to_vector();
  std::copy(r.begin(), r.end(), x.begin());
  int64_t dropped = 0;
  while (kernels::dropout_keep(seed, offset, uint64_t(dropped), p)) ++dropped;
  REQUIRE(dropped < nc);
  x[size_t(dropped * s + 5)] = NAN;  // a dropped channel must not read x
  const float scale = float(1.0 / (1.0 - p));
  kernels::cpu::dropout3d_apply(x.data(), want.data(), nc, s, seed, offset, p, scale);
  for_each_visit(nc, s, [&](int64_t c, int64_t i, int64_t) {
    got[size_t(c * s + i)] =
        kernels::dropout_keep(seed, offset, uint64_t(c), p) ? x[size_t(c * s + i)] * scale : 0.0f;
  });
  CHECK(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0);
}

TEST_CASE(
    "slice partition: the CUDA one_hot's loop and per-thread minimum reproduce the CPU kernel") {
  const int64_t n = 3, k = 4, s = 8192 * 2 + 7;
  std::vector<int32_t> labels(size_t(n * s));
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = int32_t((i * 7919) % 4);
  for (int64_t bad_at : {int64_t(-1), n * s - 1, int64_t(8192 * 2 + 3), int64_t(0)}) {
    CAPTURE(bad_at);
    std::vector<int32_t> lab = labels;
    if (bad_at >= 0) {
      lab[size_t(bad_at)] = 4;
      lab[size_t(n * s - 1)] = -1;  // a later bad label must not win
    }
    std::vector<float> want(size_t(n * k * s)), got(want.size(), -1.0f);
    const int64_t first = kernels::cpu::one_hot(lab.data(), want.data(), n, k, s);
    // Each (block, thread) keeps its smallest bad index; the atomic min takes the least.
    std::vector<uint64_t> thread_min;
    uint64_t current = ~uint64_t(0);
    int64_t last_thread = -1;
    for_each_visit(n, s, [&](int64_t b, int64_t i, int64_t t) {
      if (t != last_thread) {
        thread_min.push_back(current);
        current = ~uint64_t(0);
        last_thread = t;
      }
      const int32_t v = lab[size_t(b * s + i)];
      if (uint32_t(v) >= uint64_t(k)) current = std::min(current, uint64_t(b * s + i));
      for (int64_t j = 0; j < k; ++j) got[size_t((b * k + j) * s + i)] = v == j ? 1.0f : 0.0f;
    });
    thread_min.push_back(current);
    const uint64_t least = *std::min_element(thread_min.begin(), thread_min.end());
    CHECK(first == (least == ~uint64_t(0) ? -1 : int64_t(least)));
    CHECK(first == (bad_at >= 0 ? std::min(bad_at, n * s - 1) : -1));
    CHECK(got == want);
  }
}
