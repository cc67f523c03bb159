// kernels/common/moments.h and the CUDA instance norm's reduction structure, emulated on the
// host: per (slice, part) block, 256 threads each with strided_moments, a fixed warp and
// block tree, then the parts in order.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "kernels/common/instance_norm.h"
#include "kernels/common/moments.h"
#include "kernels/cpu/instance_norm.h"
#include "tests/support.h"

using namespace fdl;
using kernels::Moments;

namespace {
constexpr int64_t kBlockThreads = 256;  // kernels/cuda/runtime.h's kThreads

Moments two_pass(const double* x, int64_t n) {
  Moments m{double(n), 0, 0};
  for (int64_t i = 0; i < n; ++i) m.mean += x[i];
  m.mean /= double(n);
  for (int64_t i = 0; i < n; ++i) m.m2 += (x[i] - m.mean) * (x[i] - m.mean);
  return m;
}

// The CUDA block reduction: in each warp lane l takes lane l + off for off = 16..1 (all lanes
// at once), then warp 0 reduces the warps' results the same way.
template <class V, class Merge>
V block_tree(std::vector<V> v, Merge merge) {
  auto warp = [&](V* lanes) {
    for (int off = 16; off > 0; off /= 2) {
      std::vector<V> before(lanes, lanes + 32);
      for (int l = 0; l + off < 32; ++l)
        lanes[l] = merge(before[size_t(l)], before[size_t(l + off)]);
    }
    return lanes[0];
  };
  std::vector<V> warps(32);
  for (size_t w = 0; w < v.size() / 32; ++w) warps[w] = warp(v.data() + 32 * w);
  return warp(warps.data());
}

// Per slice: the merged moments of the CUDA forward's first pass.
template <class T>
std::vector<Moments> emulated_moments(const T* x, int64_t nc, int64_t s) {
  const kernels::SlicePartition q = kernels::slice_partition(nc, s);
  std::vector<Moments> out(static_cast<size_t>(nc));
  for (int64_t c = 0; c < nc; ++c)
    for (int64_t p = 0; p < q.parts; ++p) {
      int64_t lo, hi;
      q.range(s, p, lo, hi);
      std::vector<Moments> threads(kBlockThreads);
      for (int64_t t = 0; t < kBlockThreads; ++t)
        threads[size_t(t)] = kernels::strided_moments(x + c * s, lo + t, hi, kBlockThreads);
      out[size_t(c)] =
          kernels::moments_merge(out[size_t(c)], block_tree(threads, kernels::moments_merge));
    }
  return out;
}

// The whole CUDA forward (plain), as normalise_kernel computes each element.
template <class T>
void emulated_forward(const T* x, T* y, T* rstd, int64_t nc, int64_t s, double eps) {
  const std::vector<Moments> m = emulated_moments(x, nc, s);
  for (int64_t c = 0; c < nc; ++c) {
    rstd[c] = T(1.0 / std::sqrt(m[size_t(c)].m2 / double(s) + eps));
    const T mh = T(m[size_t(c)].mean), ml = T(m[size_t(c)].mean - double(mh));
    for (int64_t i = 0; i < s; ++i) y[c * s + i] = ((x[c * s + i] - mh) - ml) * rstd[c];
  }
}

struct Sums2 {
  double a = 0, b = 0;
};

// The whole CUDA backward, plain or fused.
void emulated_backward(const double* y, const double* gy, const double* rstd, double* gx,
                       int64_t nc, int64_t s, bool fused, double slope) {
  auto load = [&](int64_t e, double& yn, double& gn) {
    yn = fused ? kernels::leaky_relu_input_from_output(y[e], slope) : y[e];
    gn = fused ? kernels::leaky_relu_grad_from_output(y[e], gy[e], slope) : gy[e];
  };
  const kernels::SlicePartition q = kernels::slice_partition(nc, s);
  for (int64_t c = 0; c < nc; ++c) {
    double a = 0, b = 0;
    for (int64_t p = 0; p < q.parts; ++p) {
      int64_t lo, hi;
      q.range(s, p, lo, hi);
      std::vector<Sums2> threads(kBlockThreads);
      for (int64_t t = 0; t < kBlockThreads; ++t)
        for (int64_t i = lo + t; i < hi; i += kBlockThreads) {
          double yn, gn;
          load(c * s + i, yn, gn);
          threads[size_t(t)].a += gn;
          threads[size_t(t)].b += gn * yn;
        }
      const Sums2 r = block_tree(threads, [](Sums2 u, Sums2 v) {
        return Sums2{u.a + v.a, u.b + v.b};
      });
      a += r.a;
      b += r.b;
    }
    a /= double(s);
    b /= double(s);
    for (int64_t i = 0; i < s; ++i) {
      double yn, gn;
      load(c * s + i, yn, gn);
      gx[c * s + i] = ((gn - a) - yn * b) * rstd[c];
    }
  }
}
}  // namespace

TEST_CASE("moments: merge and strided chunks agree with a two-pass reference") {
  const std::vector<double> x = test::randn({5000}, 51).to_vector();
  for (int64_t n : {1, 2, 7, 8, 9, 17, 1000, 5000}) {
    CAPTURE(n);
    const Moments want = two_pass(x.data(), n);
    const Moments got = kernels::strided_moments(x.data(), 0, n, 1);
    CHECK(got.n == double(n));
    CHECK(got.mean == doctest::Approx(want.mean).epsilon(1e-13));
    CHECK(got.m2 == doctest::Approx(want.m2).epsilon(1e-12));
    const int64_t h = n / 2;
    const Moments merged = kernels::moments_merge(kernels::strided_moments(x.data(), 0, h, 1),
                                                  kernels::strided_moments(x.data(), h, n, 1));
    CHECK(merged.mean == doctest::Approx(want.mean).epsilon(1e-13));
    CHECK(merged.m2 == doctest::Approx(want.m2).epsilon(1e-12));
  }
  // Stride 3 from offset 1 visits 1, 4, 7, ...
  std::vector<double> every3;
  for (size_t i = 1; i < 1000; i += 3) every3.push_back(x[i]);
  const Moments s3 = kernels::strided_moments(x.data(), 1, 1000, 3);
  const Moments w3 = two_pass(every3.data(), int64_t(every3.size()));
  CHECK(s3.n == w3.n);
  CHECK(s3.m2 == doctest::Approx(w3.m2).epsilon(1e-12));
  // Empty ranges and empty sides.
  CHECK(kernels::strided_moments(x.data(), 10, 10, 1).n == 0);
  const Moments one{3, 1.5, 2};
  CHECK(kernels::moments_merge(one, Moments{}).m2 == 2);
  CHECK(kernels::moments_merge(Moments{}, one).mean == 1.5);
}

TEST_CASE("moments: the emulated CUDA instance norm forward matches the CPU in float64") {
  for (const auto& [nc, s] :
       {std::pair<int64_t, int64_t>{6, 210}, {2, 8192 * 3 + 77}, {1, 1}, {3, 40000}}) {
    CAPTURE(nc);
    CAPTURE(s);
    const std::vector<double> x = test::randn({nc * s}, 52).to_vector();
    std::vector<double> y(x.size()), rstd(static_cast<size_t>(nc)), yc(x.size()),
        rc(static_cast<size_t>(nc));
    emulated_forward(x.data(), y.data(), rstd.data(), nc, s, 1e-5);
    kernels::cpu::instance_norm_forward(x.data(), yc.data(), rc.data(), nc, s, 1e-5);
    for (int64_t c = 0; c < nc; ++c)
      CHECK(rstd[size_t(c)] == doctest::Approx(rc[size_t(c)]).epsilon(1e-12));
    double worst = 0;
    for (size_t i = 0; i < y.size(); ++i) worst = std::max(worst, std::abs(y[i] - yc[i]));
    CHECK(worst < 1e-11);
  }
}

TEST_CASE("moments: the emulated CUDA statistics stay exact in float32 with a large mean") {
  // Mean 500, spread 0.01, several parts per slice: sums of squares would lose everything.
  const int64_t nc = 2, s = 8192 * 4 + 123;
  const std::vector<double> r = test::randn({nc * s}, 53).to_vector();
  std::vector<float> x(r.size());
  for (size_t i = 0; i < r.size(); ++i) x[i] = float(500.0 + 0.01 * r[i]);
  REQUIRE(kernels::slice_partition(nc, s).parts > 1);
  std::vector<float> y(x.size()), rstd(static_cast<size_t>(nc));
  emulated_forward(x.data(), y.data(), rstd.data(), nc, s, 1e-5);
  for (int64_t c = 0; c < nc; ++c) {
    std::vector<double> xd(x.begin() + c * s, x.begin() + (c + 1) * s);
    const Moments w = two_pass(xd.data(), s);
    const double want_r = 1.0 / std::sqrt(w.m2 / double(s) + 1e-5);
    CHECK(double(rstd[size_t(c)]) == doctest::Approx(want_r).epsilon(1e-6));
    double worst = 0;
    for (int64_t i = 0; i < s; ++i)
      worst = std::max(worst,
                       std::abs(double(y[size_t(c * s + i)]) - (xd[size_t(i)] - w.mean) * want_r));
    CHECK(worst < 1e-5);
  }
}

TEST_CASE("moments: the emulated CUDA backward, plain and fused, matches the CPU in float64") {
  const int64_t nc = 3, s = 8192 * 2 + 999;
  const std::vector<double> x = test::randn({nc * s}, 54).to_vector(),
                            gy = test::randn({nc * s}, 55).to_vector();
  std::vector<double> y(x.size()), rstd(static_cast<size_t>(nc)), want(x.size()), got(x.size());
  for (bool fused : {false, true}) {
    CAPTURE(fused);
    const double slope = 0.05;
    if (fused)
      kernels::cpu::instance_norm_leaky_relu_forward(x.data(), y.data(), rstd.data(), nc, s, 1e-5,
                                                     slope);
    else
      kernels::cpu::instance_norm_forward(x.data(), y.data(), rstd.data(), nc, s, 1e-5);
    if (fused)
      kernels::cpu::instance_norm_leaky_relu_backward(y.data(), gy.data(), rstd.data(), want.data(),
                                                      nc, s, slope);
    else
      kernels::cpu::instance_norm_backward(y.data(), gy.data(), rstd.data(), want.data(), nc, s);
    emulated_backward(y.data(), gy.data(), rstd.data(), got.data(), nc, s, fused, slope);
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
    CHECK(worst < 1e-11);
  }
}

TEST_CASE("moments: the CUDA scratch holds the partials and the per-slice values") {
  for (const auto& [nc, s] : {std::pair<int64_t, int64_t>{16, 3276800}, {1, 1}, {700, 100}}) {
    const int64_t parts = kernels::slice_partition(nc, s).parts;
    // Forward: 3 doubles per part, then the means; backward: the same offset, then 2 per slice.
    CHECK(kernels::instance_norm_scratch_doubles(nc, s) >= 3 * nc * parts + 2 * nc);
  }
}
