// The CUDA conv3d kernels' index maps, tiling and heuristics, run on the host: every
// kernel's block/thread/slab loop is emulated with the same kernels/common steps the GPU
// runs, and compared with the CPU convolution in float64.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/ops/conv3d.h"
#include "kernels/common/conv3d_gemm.h"
#include "kernels/common/conv3d_tile.h"
#include "kernels/common/error.h"
#include "kernels/common/mma_tf32.h"
#include "kernels/cpu/conv3d.h"

using namespace fdl;
using namespace fdl::kernels;

namespace {

std::vector<double> uniform(int64_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<double> d(-1.0, 1.0);
  std::vector<double> v(static_cast<size_t>(n));
  for (auto& e : v) e = d(g);
  return v;
}

std::vector<float> to_float(const std::vector<double>& v) { return {v.begin(), v.end()}; }

// The CPU kernels in float64: y (with bias), gx, gw for upstream gy.
struct Reference {
  std::vector<double> y, gx, gw;
};

Reference reference(const Conv3dShape& s, const std::vector<double>& x,
                    const std::vector<double>& w, const std::vector<double>& b,
                    const std::vector<double>& gy) {
  namespace kc = kernels::cpu;
  Reference r;
  r.y.resize(size_t(s.y_numel()));
  r.gx.resize(size_t(s.x_numel()));
  r.gw.resize(size_t(s.w_numel()));
  std::vector<double> work(size_t(kc::conv3d_forward_scratch<double>(s, 1)));
  kc::conv3d_forward<double>(s, x.data(), w.data(), b.data(), r.y.data(), work.data(), 1);
  work.assign(size_t(kc::conv3d_backward_data_scratch<double>(s, 1)), 0.0);
  kc::conv3d_backward_data<double>(s, gy.data(), w.data(), r.gx.data(), work.data(), 1);
  work.assign(size_t(kc::conv3d_backward_weight_scratch<double>(s, 1)), 0.0);
  kc::conv3d_backward_weight<double>(s, x.data(), gy.data(), r.gw.data(), work.data(), 1);
  return r;
}

// max |got - want| / max(1, max |want|); NaN (an unwritten output) fails.
template <class T>
double rel_error(const std::vector<T>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  double err = 0, scale = 1;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(double(got[i]))) return std::numeric_limits<double>::infinity();
    err = std::max(err, std::abs(double(got[i]) - want[i]));
    scale = std::max(scale, std::abs(want[i]));
  }
  return err / scale;
}

// ---- emulators: each runs its kernel's loops over blocks and threads ------------------
template <class T, class View>
void emulate_direct(const View& v, const T* bias, T* out, bool atomic) {
  for (int z = 0; z < v.parts(); ++z) {
    const auto p = v.part(z);
    for (int64_t e = 0; e < p.M * p.N; ++e) direct_element(p, e, bias, out, atomic);
  }
}

template <class Cfg>
struct FfmaThread {
  float acc[Cfg::TM][Cfg::TN];
  float ra[Cfg::kALoads], rb[Cfg::kBLoads];
};
template <class Cfg>
struct MmaThread {
  float acc[Cfg::MT][Cfg::NT][4];
  float ra[Cfg::kALoads], rb[Cfg::kBLoads];
};

// One slab's inner products for every thread of a block: FFMA per thread, or the mma of
// every warp from its lanes' fragments.
template <class Cfg>
void compute_all(const TileSmem<Cfg, float>& s, std::vector<FfmaThread<Cfg>>& th) {
  for (int t = 0; t < Cfg::kThreads; ++t) ffma_compute<Cfg>(t, s, th[size_t(t)].acc);
}
template <class Cfg>
void compute_all(const TileSmem<Cfg, uint32_t>& s, std::vector<MmaThread<Cfg>>& th) {
  for (int w = 0; w < Cfg::kThreads / 32; ++w)
    for (int ks = 0; ks < Cfg::BK; ks += 8) {
      uint32_t fa[32][Cfg::MT][4], fb[32][Cfg::NT][2];
      for (int lane = 0; lane < 32; ++lane) mma_fragments<Cfg>(w, lane, ks, s, fa[lane], fb[lane]);
      for (int mi = 0; mi < Cfg::MT; ++mi)
        for (int ni = 0; ni < Cfg::NT; ++ni) {
          uint32_t a[32][4], b[32][2];
          float d[32][4];
          for (int l = 0; l < 32; ++l) {
            std::memcpy(a[l], fa[l][mi], sizeof a[l]);
            std::memcpy(b[l], fb[l][ni], sizeof b[l]);
            std::memcpy(d[l], th[size_t(w * 32 + l)].acc[mi][ni], sizeof d[l]);
          }
          mma_m16n8k8_tf32_host(d, a, b);
          for (int l = 0; l < 32; ++l)
            std::memcpy(th[size_t(w * 32 + l)].acc[mi][ni], d[l], sizeof d[l]);
        }
    }
}

template <class Cfg>
void epilogue_all(const auto& p, int64_t m0, int64_t n0, std::vector<FfmaThread<Cfg>>& th,
                  const float* bias, float* out, bool atomic) {
  for (int t = 0; t < Cfg::kThreads; ++t)
    ffma_epilogue<Cfg>(p, t, m0, n0, th[size_t(t)].acc, bias, out, atomic);
}
template <class Cfg>
void epilogue_all(const auto& p, int64_t m0, int64_t n0, std::vector<MmaThread<Cfg>>& th,
                  const float* bias, float* out, bool atomic) {
  for (int t = 0; t < Cfg::kThreads; ++t)
    mma_epilogue<Cfg>(p, t / 32, t % 32, m0, n0, th[size_t(t)].acc, bias, out, atomic);
}

// The block loop of tiled_kernel / tf32_kernel (its slab loop is the kernels' own
// slab_loop, each step run for every thread in turn); shared memory is poisoned before each
// slab is stored so a slot no thread writes shows up as NaN.
template <class Cfg, class Thread, class E, class View>
void emulate_tiles(const View& v, const float* bias, float* out, bool atomic) {
  using Part = decltype(v.part(0));
  const TileGrid g = tile_grid(v.max_rows(), v.part(0).N, v.parts(), Cfg::BM, Cfg::BN);
  REQUIRE(tile_grid_ok(g));
  auto smem = std::make_unique<TileSmem<Cfg, E>>();
  std::vector<Thread> th(size_t(Cfg::kThreads));
  for (int64_t bz = 0; bz < g.z; ++bz)
    for (int64_t by = 0; by < g.y; ++by)
      for (int64_t bx = 0; bx < g.x; ++bx) {
        const Part p = v.part(int(bz));
        const int64_t m0 = bx * Cfg::BM, n0 = by * Cfg::BN;
        if (m0 >= p.M) continue;
        for (auto& t : th) std::memset(&t, 0, sizeof t);
        slab_loop<Cfg::BK>(
            p,
            [&](int64_t k0) {
              for (int t = 0; t < Cfg::kThreads; ++t)
                stage_tiles<Cfg>(p, t, m0, n0, k0, th[size_t(t)].ra, th[size_t(t)].rb);
            },
            [&] {
              std::memset(smem.get(), 0xff, sizeof(*smem));  // NaN in every word
              for (int t = 0; t < Cfg::kThreads; ++t)
                store_tiles<Cfg, Part::kRowsFastest>(t, th[size_t(t)].ra, th[size_t(t)].rb, *smem);
            },
            [&] { compute_all<Cfg>(*smem, th); }, [] {});
        epilogue_all<Cfg>(p, m0, n0, th, bias, out, atomic);
      }
}

enum class Emu { Direct, Tiled, Tf32 };

template <class View>
void emulate(Emu e, const View& v, const float* bias, float* out, bool atomic) {
  if (e == Emu::Direct) return emulate_direct(v, bias, out, atomic);
  if (e == Emu::Tiled)
    return with_ffma_tile(v.part(0).N, [&](auto cfg) {
      using Cfg = decltype(cfg);
      emulate_tiles<Cfg, FfmaThread<Cfg>, float>(v, bias, out, atomic);
    });
  with_mma_tile(v.part(0).N, [&](auto cfg) {
    using Cfg = decltype(cfg);
    emulate_tiles<Cfg, MmaThread<Cfg>, uint32_t>(v, bias, out, atomic);
  });
}

ConvKernel kernel_of(Emu e) {
  return e == Emu::Direct  ? ConvKernel::Direct
         : e == Emu::Tiled ? ConvKernel::Tiled
                           : ConvKernel::Tf32;
}

std::vector<float> poisoned(int64_t n) {
  return std::vector<float>(size_t(n), std::numeric_limits<float>::quiet_NaN());
}

// The weight gradient as conv3d_backward_weight runs it after `plan`: every part added into
// a zeroed gw (atomic), parts into planes and a sum in order, or one part straight into gw.
template <int KS>
std::vector<float> weight_grad(Emu e, const Conv3dShape& s, const std::vector<float>& x,
                               const std::vector<float>& gy, const ConvWeightPlan& plan) {
  const int64_t W = s.w_numel();
  const auto v = ConvWeightView<float, KS>::make(s, x.data(), gy.data(), plan.split, !plan.atomic);
  if (plan.atomic) {
    std::vector<float> gw(size_t(W), 0.f);
    emulate(e, v, nullptr, gw.data(), true);
    return gw;
  }
  std::vector<float> gw = poisoned(W);
  if (!plan.planes) {
    REQUIRE(plan.split.splits == 1);
    emulate(e, v, nullptr, gw.data(), false);
    return gw;
  }
  std::vector<float> planes = poisoned(int64_t(plan.split.splits) * W);
  emulate(e, v, nullptr, planes.data(), false);
  for (int64_t i = 0; i < W; ++i) {
    float acc = planes[size_t(i)];
    for (int z = 1; z < plan.split.splits; ++z) acc += planes[size_t(z * W + i)];
    gw[size_t(i)] = acc;
  }
  return gw;
}

template <int KS>
void check_kernel(Emu e, const Conv3dShape& s, double tol) {
  const auto xd = uniform(s.x_numel(), 1), wd = uniform(s.w_numel(), 2), bd = uniform(s.cout, 3),
             gyd = uniform(s.y_numel(), 4);
  const Reference ref = reference(s, xd, wd, bd, gyd);
  const auto x = to_float(xd), w = to_float(wd), b = to_float(bd), gy = to_float(gyd);

  std::vector<float> y = poisoned(s.y_numel());
  emulate(e, ConvFwdGemm<float, KS>::make(s, x.data(), w.data()), b.data(), y.data(), false);
  CHECK(rel_error(y, ref.y) < tol);

  std::vector<float> gx = poisoned(s.x_numel());
  emulate(e, ConvDataView<float, KS>{s, gy.data(), w.data()}, nullptr, gx.data(), false);
  CHECK(rel_error(gx, ref.gx) < tol);

  const int64_t K = int64_t(s.n) * s.out_volume();
  for (bool deterministic : {true, false})
    CHECK(rel_error(weight_grad<KS>(e, s, x, gy, conv_weight_plan(s, kernel_of(e), deterministic)),
                    ref.gw) < tol);
  // Chunks of 40 cut through the 16-deep slabs: partial slabs inside the depth.
  const SplitK forced{int(ceil_div(K, 40)), 40};
  CHECK(rel_error(weight_grad<KS>(e, s, x, gy, {forced, false, forced.splits > 1}), ref.gw) < tol);
  CHECK(rel_error(weight_grad<KS>(e, s, x, gy, {forced, true, false}), ref.gw) < tol);
}

void check_all(Emu e, double tol, const std::vector<Conv3dShape>& shapes) {
  for (const Conv3dShape& s : shapes) {
    CAPTURE(s.n);
    CAPTURE(s.cin);
    CAPTURE(s.cout);
    CAPTURE(s.k);
    CAPTURE(s.stride);
    CAPTURE(s.pad);
    if (s.k == 1)
      check_kernel<1>(e, s, tol);
    else
      check_kernel<3>(e, s, tol);
  }
}

Conv3dShape shape(int n, int cin, int cout, int a, int b, int c, int k, int stride, int pad) {
  Conv3dShape s;
  s.n = n;
  s.cin = cin;
  s.cout = cout;
  s.in[0] = a;
  s.in[1] = b;
  s.in[2] = c;
  s.k = k;
  s.stride = stride;
  s.pad = pad;
  return s;
}

// Every (k, stride, pad) on odd sizes, with channel counts that pick each tile width.
std::vector<Conv3dShape> shapes() {
  std::vector<Conv3dShape> v;
  for (int k : {1, 3})
    for (int stride : {1, 2})
      for (int pad : {0, 1}) v.push_back(shape(2, 3, 5, 5, 6, 7, k, stride, pad));
  v.push_back(shape(1, 2, 37, 4, 5, 3, 3, 1, 1));   // N = 37: 64-wide tiles forward
  v.push_back(shape(2, 19, 11, 3, 5, 4, 3, 2, 1));  // 16 forward, 32 data
  v.push_back(shape(1, 1, 2, 7, 3, 5, 3, 2, 0));    // one input channel
  v.push_back(shape(1, 4, 3, 1, 2, 3, 1, 2, 1));    // empty phase classes
  // The grid cases of tests/gpu/test_conv_gpu.cpp, so the GPU's first run meets no new shape.
  for (int k : {1, 3})
    for (int stride : {1, 2})
      for (int pad : {0, 1}) {
        v.push_back(shape(2, 1, 8, 11, 6, 13, k, stride, pad));
        v.push_back(shape(1, 8, 16, 7, 5, 9, k, stride, pad));
        v.push_back(shape(2, 5, 3, 11, 6, 13, k, stride, pad));
        v.push_back(shape(1, 64, 32, 5, 4, 3, k, stride, pad));
      }
  return v;
}

}  // namespace

TEST_CASE("conv3d gemm: the direct kernel's loops match the CPU convolution") {
  check_all(Emu::Direct, 1e-5, shapes());
  // Float64 (the GPU's float64 path) agrees to rounding.
  const Conv3dShape s = shape(2, 3, 4, 5, 4, 3, 3, 2, 1);
  const auto x = uniform(s.x_numel(), 5), w = uniform(s.w_numel(), 6), b = uniform(s.cout, 7),
             gy = uniform(s.y_numel(), 8);
  const Reference ref = reference(s, x, w, b, gy);
  std::vector<double> y(size_t(s.y_numel())), gx(size_t(s.x_numel()));
  emulate_direct(ConvFwdGemm<double, 3>::make(s, x.data(), w.data()), b.data(), y.data(), false);
  emulate_direct(ConvDataView<double, 3>{s, gy.data(), w.data()},
                 static_cast<const double*>(nullptr), gx.data(), false);
  CHECK(rel_error(y, ref.y) < 1e-12);
  CHECK(rel_error(gx, ref.gx) < 1e-12);
}

TEST_CASE("conv3d gemm: the tiled FFMA kernel's block, thread and slab loops match the CPU") {
  check_all(Emu::Tiled, 1e-5, shapes());
}

TEST_CASE("conv3d gemm: the TF32 mma kernel's warps and fragments match the CPU within TF32") {
  check_all(Emu::Tf32, 5e-3, shapes());
}

TEST_CASE(
    "conv3d gemm: the stride-2 phase classes give every input position one class and "
    "exactly the taps that reach it") {
  for (int k : {1, 3})
    for (int pad : {0, 1}) {
      const Conv3dShape s = shape(1, 1, 1, 5, 6, 7, k, 2, pad);
      std::set<int64_t> seen;
      for (int z = 0; z < conv_data_classes(2); ++z) {
        const ConvPhaseClass c = conv_phase_class(s, z);
        for (int a = 0; a < 3; ++a) {
          // the taps t with (i + pad - t) even, for i of this phase
          int expect = 0;
          for (int t = 0; t < k; ++t) expect += (c.ph[a] + pad - t) % 2 == 0;
          CHECK(c.nt[a] == expect);
          if (c.nt[a] > 0) CHECK((c.ph[a] + pad - c.first[a]) % 2 == 0);
        }
        const auto g = ConvDataView<float, 3>{s, nullptr, nullptr}.part(z);
        for (int64_t m = 0; m < g.M; ++m) CHECK(seen.insert(g.c_index(m, 0)).second);
      }
      CHECK(int64_t(seen.size()) == s.x_numel());
    }
}

// conv3d_backward_bias: block (z, co) sums its chunk with kThreads strided partial sums and
// a fixed halving tree; the partial sums of the blocks are added in order of z.
TEST_CASE("conv3d gemm: the bias gradient's blocks cover each value once and sum to the total") {
  for (const Conv3dShape& s :
       {shape(2, 1, 3, 5, 6, 7, 3, 1, 1), shape(2, 1, 3, 24, 20, 18, 3, 1, 1),
        shape(1, 1, 2, 41, 40, 33, 1, 1, 0)}) {
    constexpr int kThreads = 256;
    const int64_t per_channel = int64_t(s.n) * s.out_volume(), outvol = s.out_volume();
    const int splits = bias_splits(per_channel);
    CAPTURE(per_channel);
    CAPTURE(splits);
    const auto gy = uniform(s.y_numel(), 11);
    std::vector<double> partial(size_t(splits) * s.cout, std::nan(""));
    std::vector<int> seen(size_t(s.y_numel()), 0);
    for (int co = 0; co < s.cout; ++co)
      for (int z = 0; z < splits; ++z) {
        const IndexRange r = bias_chunk(per_channel, splits, z);
        double red[kThreads];
        for (int t = 0; t < kThreads; ++t) {
          double acc = 0;
          for (int64_t j = r.begin + t; j < r.end; j += kThreads) {
            const int64_t i = bias_gy_index(j, outvol, s.cout, co);
            REQUIRE((i >= 0 && i < s.y_numel()));
            ++seen[size_t(i)];
            acc += gy[size_t(i)];
          }
          red[t] = acc;
        }
        for (int half = kThreads / 2; half > 0; half /= 2)
          for (int t = 0; t < half; ++t) red[t] += red[t + half];
        partial[size_t(z) * s.cout + co] = red[0];
      }
    for (int c : seen) REQUIRE(c == 1);
    for (int co = 0; co < s.cout; ++co) {
      double got = partial[size_t(co)], want = 0;
      for (int z = 1; z < splits; ++z) got += partial[size_t(z) * s.cout + co];
      for (int b = 0; b < s.n; ++b)
        for (int64_t o = 0; o < outvol; ++o) want += gy[size_t((b * s.cout + co) * outvol + o)];
      CHECK(std::abs(got - want) < 1e-9 * per_channel);
    }
  }
  CHECK(bias_splits(int64_t(2) * 160 * 160 * 128) == 256);
  for (int64_t n : {int64_t(1), int64_t(255), int64_t(8193), int64_t(2) * 160 * 160 * 128})
    for (int splits : {1, 3, 256}) {
      int64_t next = 0;
      for (int z = 0; z < splits; ++z) {
        const IndexRange r = bias_chunk(n, splits, z);
        CHECK(r.begin == next);
        CHECK(r.end >= r.begin);
        next = r.end;
      }
      CHECK(next == n);
    }
}

TEST_CASE("conv3d gemm: mma m16n8k8 fragment maps cover each matrix once and multiply") {
  std::set<int> a, b, c;
  for (int lane = 0; lane < 32; ++lane) {
    for (int r = 0; r < 4; ++r) {
      CHECK(a.insert(mma_a_row(lane, r) * 8 + mma_a_col(lane, r)).second);
      CHECK(c.insert(mma_c_row(lane, r) * 8 + mma_c_col(lane, r)).second);
    }
    for (int r = 0; r < 2; ++r) CHECK(b.insert(mma_b_row(lane, r) * 8 + mma_b_col(lane, r)).second);
  }
  CHECK(a.size() == 128);
  CHECK(*a.rbegin() == 127);
  CHECK(b.size() == 64);
  CHECK(*b.rbegin() == 63);
  CHECK(c.size() == 128);

  // Small integers are exact in TF32, so the emulated warp must give the exact product.
  std::mt19937 g(9);
  std::uniform_int_distribution<int> d(-8, 8);
  float A[16][8], B[8][8], C[16][8];
  for (auto& r : A)
    for (float& e : r) e = float(d(g));
  for (auto& r : B)
    for (float& e : r) e = float(d(g));
  for (auto& r : C)
    for (float& e : r) e = float(d(g));
  uint32_t fa[32][4], fb[32][2];
  float fd[32][4];
  for (int l = 0; l < 32; ++l) {
    for (int r = 0; r < 4; ++r) fa[l][r] = tf32_bits(A[mma_a_row(l, r)][mma_a_col(l, r)]);
    for (int r = 0; r < 2; ++r) fb[l][r] = tf32_bits(B[mma_b_row(l, r)][mma_b_col(l, r)]);
    for (int r = 0; r < 4; ++r) fd[l][r] = C[mma_c_row(l, r)][mma_c_col(l, r)];
  }
  mma_m16n8k8_tf32_host(fd, fa, fb);
  for (int l = 0; l < 32; ++l)
    for (int r = 0; r < 4; ++r) {
      const int i = mma_c_row(l, r), j = mma_c_col(l, r);
      float want = C[i][j];
      for (int k = 0; k < 8; ++k) want += A[i][k] * B[k][j];
      CHECK(fd[l][r] == want);
    }
}

TEST_CASE("conv3d gemm: TF32 rounding keeps 10 mantissa bits, to nearest, ties away") {
  CHECK(bits_float(tf32_bits(1.0f)) == 1.0f);
  CHECK(bits_float(tf32_bits(1.0f + std::ldexp(1.0f, -12))) == 1.0f);
  CHECK(bits_float(tf32_bits(1.0f + std::ldexp(1.0f, -11))) == 1.0f + std::ldexp(1.0f, -10));
  CHECK(bits_float(tf32_bits(-1.0f - std::ldexp(1.0f, -11))) == -1.0f - std::ldexp(1.0f, -10));
  CHECK(std::isinf(bits_float(tf32_bits(std::numeric_limits<float>::infinity()))));
  const auto v = uniform(1000, 10);
  for (double e : v) {
    const float f = float(e * 1e3);
    const float r = bits_float(tf32_bits(f));
    CHECK(std::abs(r - f) <= std::ldexp(std::abs(f), -11));
    uint32_t u;
    std::memcpy(&u, &r, 4);
    CHECK((u & 0x1fffu) == 0u);
  }
}

TEST_CASE("conv3d gemm: tile load slots cover each tile exactly once") {
  auto check_cfg = [](auto cfg) {
    using Cfg = decltype(cfg);
    std::set<int> a_rows, a_cols, b;
    for (bool rows_fastest : {true, false}) {
      std::set<int> a;
      for (int t = 0; t < Cfg::kThreads; ++t)
        for (int j = 0; j < Cfg::kALoads; ++j) {
          int r, c;
          const bool in = rows_fastest
                              ? tile_slot<Cfg::BM, Cfg::BK, Cfg::kThreads, true>(t, j, r, c)
                              : tile_slot<Cfg::BM, Cfg::BK, Cfg::kThreads, false>(t, j, r, c);
          if (in) {
            CHECK((r >= 0 && r < Cfg::BM && c >= 0 && c < Cfg::BK));
            CHECK(a.insert(r * Cfg::BK + c).second);
          }
        }
      CHECK(int(a.size()) == Cfg::BM * Cfg::BK);
    }
    for (int t = 0; t < Cfg::kThreads; ++t)
      for (int j = 0; j < Cfg::kBLoads; ++j) {
        int r, c;
        if (tile_slot<Cfg::BK, Cfg::BN, Cfg::kThreads, true>(t, j, r, c)) {
          CHECK((r >= 0 && r < Cfg::BK && c >= 0 && c < Cfg::BN));
          CHECK(b.insert(r * Cfg::BN + c).second);
        }
      }
    CHECK(int(b.size()) == Cfg::BK * Cfg::BN);
    CHECK(Cfg::kThreads == 256);
    CHECK(Cfg::BM == kConvTileBM);
    CHECK(sizeof(TileSmem<Cfg, float>) <= 48 * 1024);  // static shared memory limit
  };
  for (int64_t n : {2, 8, 9, 16, 17, 32, 33, 64}) {
    with_ffma_tile(n, check_cfg);
    with_mma_tile(n, check_cfg);
    with_ffma_tile(n, [&](auto cfg) { CHECK(decltype(cfg)::BN >= std::min<int64_t>(n, 64)); });
    with_mma_tile(n, [&](auto cfg) { CHECK(decltype(cfg)::BN >= std::min<int64_t>(n, 64)); });
  }
}

TEST_CASE("conv3d gemm: split-K and block counts stay within the grid and scratch limits") {
  for (int64_t K :
       {int64_t(1), int64_t(31), int64_t(420), int64_t(100000), int64_t(2) * 160 * 160 * 128})
    for (int64_t blocks : {int64_t(1), int64_t(7), int64_t(5000)})
      for (int64_t plane : {int64_t(1), int64_t(54), int64_t(64) * 64 * 27}) {
        CAPTURE(K);
        CAPTURE(blocks);
        CAPTURE(plane);
        const SplitK s = split_k(K, blocks, plane);
        CHECK(s.splits >= 1);
        CHECK(s.splits <= 1024);
        CHECK(s.chunk % 32 == 0);
        CHECK(s.chunk >= 32);
        CHECK(int64_t(s.splits) * s.chunk >= K);  // the parts cover the depth
        CHECK(int64_t(s.splits - 1) * s.chunk < std::max<int64_t>(K, 1));  // none empty
        if (s.splits > 1) CHECK(int64_t(s.splits) * plane <= int64_t(1) << 24);
      }
  // Large convolutions of the U-Nets: grids within CUDA's limits, scratch bounded.
  for (int cin : {1, 8, 32, 64})
    for (int cout : {2, 8, 32, 64})
      for (int stride : {1, 2}) {
        const Conv3dShape s = shape(2, cin, cout, 160, 160, 128, 3, stride, 1);
        for (ConvKernel kind : {ConvKernel::Direct, ConvKernel::Tiled, ConvKernel::Tf32}) {
          const SplitK sp = conv_weight_split(s, kind);
          CHECK(sp.splits >= 1);
          CHECK(conv_weight_scratch(s, kind, true) <= int64_t(1) << 24);
          CHECK(conv_weight_scratch(s, kind, false) == 0);
        }
        const auto fwd = ConvFwdGemm<float, 3>::make(s, nullptr, nullptr);
        CHECK(tile_grid_ok(tile_grid(fwd.max_rows(), fwd.N, fwd.parts(), 128, tile_bn(fwd.N))));
        const ConvDataView<float, 3> data{s, nullptr, nullptr};
        CHECK(tile_grid_ok(tile_grid(data.max_rows(), s.cin, data.parts(), 128, tile_bn(s.cin))));
        const int bs = bias_splits(int64_t(s.n) * s.out_volume());
        CHECK(bs >= 1);
        CHECK(bs <= 256);
        CHECK(conv_bias_scratch(s) == (bs > 1 ? int64_t(bs) * cout : 0));
      }
  CHECK(tile_bn(1) == 8);
  CHECK(tile_bn(8) == 8);
  CHECK(tile_bn(9) == 16);
  CHECK(tile_bn(33) == 64);
  CHECK(tile_bn(200) == 64);
  CHECK_FALSE(tile_grid_ok(TileGrid{1, 70000, 1}));
}

TEST_CASE("conv3d: algorithm names parse and print, unknown names are refused") {
  for (ConvAlgo a : {ConvAlgo::Direct, ConvAlgo::Tiled, ConvAlgo::Tf32})
    CHECK(parse_conv_algo(conv_algo_name(a)) == a);
  CHECK(std::string(conv_algo_name(ConvAlgo::Tf32)) == "tf32");
  CHECK(cuda_conv_algo() == ConvAlgo::Tiled);  // the default
  set_cuda_conv_algo(ConvAlgo::Tf32);
  CHECK(cuda_conv_algo() == ConvAlgo::Tf32);
  set_cuda_conv_algo(ConvAlgo::Tiled);
  CHECK_THROWS_AS(parse_conv_algo("cudnn"), Error);
  try {
    parse_conv_algo("fast");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("direct, tiled or tf32") != std::string::npos);
  }
}
