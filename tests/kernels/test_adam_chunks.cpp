// The multi-tensor Adam kernel's block map (kernels/common/adam_chunks.h) and its per-element
// update (kernels/common/adam.h), emulated on the host the way kernels/cuda/adam.cu runs them:
// launches of at most kAdamMaxTensors tensors, one chunk per block, kThreads-strided loops.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "kernels/common/adam.h"
#include "kernels/common/adam_chunks.h"
#include "kernels/cpu/adam.h"
#include "tests/support.h"

using namespace fdl;
using namespace fdl::kernels;

namespace {
constexpr int64_t kEmuThreads = 256;  // kernels/cuda/runtime.h's kThreads

// Calls visit(tensor, element) for every element each emulated thread of each emulated block
// touches, over all the launches kernels::cuda::adam_step makes for these sizes.
template <class F>
void emulate(const std::vector<int64_t>& sizes, F&& visit) {
  const int64_t count = int64_t(sizes.size());
  for (int64_t first = 0; first < count; first += kAdamMaxTensors) {
    const int n = int(std::min<int64_t>(count - first, kAdamMaxTensors));
    int64_t starts[kAdamMaxTensors + 1];
    adam_chunk_starts(sizes.data() + first, n, starts);
    for (int64_t b = 0; b < starts[n]; ++b) {
      const AdamChunk ch = adam_chunk_of(starts, n, b);
      REQUIRE(ch.tensor >= 0);
      REQUIRE(ch.tensor < n);
      const int64_t numel = sizes[size_t(first + ch.tensor)];
      REQUIRE(ch.begin >= 0);
      REQUIRE(ch.begin < numel);
      const int64_t end = std::min(ch.begin + kAdamChunk, numel);
      for (int64_t tid = 0; tid < kEmuThreads; ++tid)
        for (int64_t i = ch.begin + tid; i < end; i += kEmuThreads) visit(first + ch.tensor, i);
    }
  }
}

std::vector<int64_t> odd_sizes(int count, uint64_t seed) {
  const int64_t special[] = {0, 1, kAdamChunk - 1, kAdamChunk, kAdamChunk + 1, 3 * kAdamChunk + 7};
  std::vector<int64_t> s;
  uint64_t h = seed;
  for (int i = 0; i < count; ++i) {
    h = h * 6364136223846793005ull + 1442695040888963407ull;
    s.push_back(i % 5 == 0 ? special[(h >> 33) % 6] : int64_t((h >> 33) % 20000));
  }
  return s;
}
}  // namespace

TEST_CASE("adam_chunks: every element of every tensor is updated exactly once") {
  for (const std::vector<int64_t>& sizes :
       {std::vector<int64_t>{1}, std::vector<int64_t>{0, 5, 0},
        std::vector<int64_t>{kAdamChunk * 2 + 1}, odd_sizes(47, 1), odd_sizes(48, 2),
        odd_sizes(49, 3), odd_sizes(121, 4), std::vector<int64_t>(50, 0)}) {
    CAPTURE(sizes.size());
    std::vector<std::vector<int>> seen;
    for (int64_t n : sizes) seen.emplace_back(size_t(n), 0);
    emulate(sizes, [&](int64_t t, int64_t i) { ++seen[size_t(t)][size_t(i)]; });
    for (size_t t = 0; t < sizes.size(); ++t) {
      CAPTURE(t);
      int64_t wrong = 0;
      for (int c : seen[t]) wrong += c != 1;
      CHECK(wrong == 0);
    }
  }
}

TEST_CASE("adam_chunks: the prefix table and the block search") {
  const std::vector<int64_t> sizes{kAdamChunk, 0, 1, 2 * kAdamChunk + 1, 0};
  int64_t starts[6];
  adam_chunk_starts(sizes.data(), 5, starts);
  CHECK(std::vector<int64_t>(starts, starts + 6) == std::vector<int64_t>{0, 1, 1, 2, 5, 5});
  const int want_tensor[] = {0, 2, 3, 3, 3};
  for (int64_t b = 0; b < 5; ++b) {
    CAPTURE(b);
    CHECK(adam_chunk_of(starts, 5, b).tensor == want_tensor[b]);
  }
  CHECK(adam_chunk_of(starts, 5, 4).begin == 2 * kAdamChunk);
  CHECK(adam_chunks(0) == 0);
  CHECK(adam_chunks(kAdamChunk + 1) == 2);
}

TEST_CASE("adam_chunks: the emulated multi-tensor step gives the CPU kernel's bits") {
  // Per-parameter steps differ, as they do when some parameters miss a gradient.
  const std::vector<int64_t> sizes = odd_sizes(60, 9);
  for (DType dt : {DType::F32, DType::F64}) {
    dispatch_float(dt, [&](auto tag) {
      using T = typename decltype(tag)::type;
      const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, wd = 0.01, lr = 3e-3;
      std::vector<std::vector<T>> p, g, m, v;
      std::vector<cpu::AdamScalars> sc;
      for (size_t i = 0; i < sizes.size(); ++i) {
        std::vector<T> x(size_t(sizes[i]) * 4);
        for (size_t j = 0; j < x.size(); ++j)
          x[j] = T(std::sin(double(j * 7 + i)) * (1 + double(j % 3)));
        auto part = [&](int q) {
          return std::vector<T>(x.begin() + q * sizes[i], x.begin() + (q + 1) * sizes[i]);
        };
        p.push_back(part(0));
        g.push_back(part(1));
        m.push_back(part(2));
        v.push_back(part(3));
        for (T& e : v.back()) e = e * e;  // a second moment is non-negative
        const double t = double(1 + i % 4);
        sc.push_back({beta1, beta2, eps, wd, lr / (1 - std::pow(beta1, t)),
                      std::sqrt(1 - std::pow(beta2, t))});
      }
      auto cp = p, cm = m, cv = v;
      for (size_t i = 0; i < sizes.size(); ++i)
        cpu::adam_step(cp[i].data(), g[i].data(), cm[i].data(), cv[i].data(), sizes[i], sc[i]);
      const AdamCoeffs<T> c = adam_coeffs<T>(beta1, beta2, eps, wd);
      emulate(sizes, [&](int64_t t, int64_t i) {
        const size_t k = size_t(t), e = size_t(i);
        adam_update(p[k][e], g[k][e], m[k][e], v[k][e], c, T(-sc[k].step_size),
                    T(sc[k].bias_correction2_sqrt));
      });
      CHECK(p == cp);
      CHECK(m == cm);
      CHECK(v == cv);
    });
  }
}
