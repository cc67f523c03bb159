// conv3d on the GPU: every algorithm against the CPU normwise over a grid of small shapes,
// and every tile configuration and plan the kernels have elementwise, within the bound of
// float32 summation from a float64 reference (tests/gpu/conv_reference.h).
#include <doctest/doctest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/ops/conv3d.h"
#include "kernels/common/conv3d_gemm.h"
#include "kernels/common/conv3d_tile.h"
#include "tests/gpu/conv_reference.h"
#include "tests/gpu/harness.h"
#include "tests/support.h"

using namespace fdl;
using namespace fdl::gpu_test;
using kernels::Conv3dShape;
using kernels::ConvKernel;

namespace {

Tensor grad_leaf(Tensor t) { return t.set_requires_grad(true); }
bool bit_equal(const Tensor& a, const Tensor& b) { return a.to_vector() == b.to_vector(); }

const ConvAlgo kAlgos[] = {ConvAlgo::Direct, ConvAlgo::Tiled, ConvAlgo::Tf32};

// ---- normwise, over a grid ------------------------------------------------------------
struct ConvCase {
  int cin, cout;
  Shape x;
};
const ConvCase kConvCases[] = {{1, 8, {2, 1, 11, 6, 13}},
                               {8, 16, {1, 8, 7, 5, 9}},
                               {5, 3, {2, 5, 11, 6, 13}},
                               {64, 32, {1, 64, 5, 4, 3}}};
const DType kFloats[] = {DType::F32, DType::F64};

double conv_tol(ConvAlgo a, DType t) {
  if (t == DType::F64) return 1e-10;  // float64 always takes the direct kernel
  return a == ConvAlgo::Tf32 ? kTf32 : kFp32;
}

// Every (k, stride, padding, bias, channels) combination under the current settings.
void check_conv_grid(ConvAlgo a, DType t, Rng& rng) {
  for (const ConvCase& cc : kConvCases)
    for (int k : {1, 3})
      for (int stride : {1, 2})
        for (int pad : {0, 1})
          for (bool bias : {false, true}) {
            CAPTURE(cc.x.str());
            CAPTURE(cc.cout);
            CAPTURE(k);
            CAPTURE(stride);
            CAPTURE(pad);
            CAPTURE(bias);
            const Tensor x = grad_leaf(rng.normal(cc.x, t));
            const Tensor w = grad_leaf(rng.normal({cc.cout, cc.cin, k, k, k}, t));
            const Tensor b = bias ? grad_leaf(rng.normal({cc.cout}, t)) : Tensor();
            check_op(
                std::string("conv3d ") + conv_algo_name(a),
                [stride, pad](auto& v) { return conv3d(v[0], v[1], v[2], stride, pad); }, {x, w, b},
                conv_tol(a, t), rng);
          }
}

}  // namespace

TEST_CASE("gpu conv3d: every algorithm in float32 and float64") {
  FDL_GPU_RNG(rng);
  for (ConvAlgo a : kAlgos)
    for (DType t : kFloats) {
      CAPTURE(conv_algo_name(a));
      CAPTURE(dtype_name(t));
      ConvSettings settings(a);
      check_conv_grid(a, t, rng);
    }
}

TEST_CASE("gpu conv3d: nondeterministic weight gradients stay within tolerance") {
  FDL_GPU_RNG(rng);
  for (ConvAlgo a : kAlgos) {
    CAPTURE(conv_algo_name(a));
    ConvSettings settings(a, true);
    check_conv_grid(a, DType::F32, rng);
  }
}

// The grid's volumes are too small to split the bias gradient (more than 8192 values per
// channel) or to give the weight gradient many parts: at stride 1 this one does both (7
// bias blocks and about 100 weight parts per channel), and its rows span hundreds of tiles.
TEST_CASE("gpu conv3d: a volume that splits the bias and weight reductions") {
  FDL_GPU_RNG(rng);
  const Shape xs{2, 4, 33, 30, 27};
  for (ConvAlgo a : kAlgos)
    for (bool nondeterministic : {false, true})
      for (int stride : {1, 2}) {
        CAPTURE(conv_algo_name(a));
        CAPTURE(nondeterministic);
        CAPTURE(stride);
        ConvSettings settings(a, nondeterministic);
        const Tensor x = grad_leaf(rng.normal(xs)), w = grad_leaf(rng.normal({6, 4, 3, 3, 3}));
        const Tensor b = grad_leaf(rng.normal({6}));
        check_op(
            std::string("conv3d ") + conv_algo_name(a),
            [stride](auto& v) { return conv3d(v[0], v[1], v[2], stride, 1); }, {x, w, b},
            conv_tol(a, DType::F32), rng);
      }
}

TEST_CASE("gpu conv3d: gradients are bit-identical across runs by default") {
  FDL_GPU_RNG(rng);
  const Tensor x = rng.normal({2, 16, 24, 20, 18});
  const Tensor w = rng.normal({16, 16, 3, 3, 3}), b = rng.normal({16});
  for (ConvAlgo a : kAlgos)
    for (int stride : {1, 2}) {
      CAPTURE(conv_algo_name(a));
      CAPTURE(stride);
      ConvSettings settings(a);
      std::vector<Tensor> first;
      for (int run = 0; run < 2; ++run) {
        Tensor xg = x.to(Device::CUDA).set_requires_grad(true);
        Tensor wg = w.to(Device::CUDA).set_requires_grad(true);
        Tensor bg = b.to(Device::CUDA).set_requires_grad(true);
        const Tensor y = conv3d(xg, wg, bg, stride, 1);
        Generator sg(99);
        y.backward(rand_normal(y.shape(), sg).to(Device::CUDA));
        const std::vector<Tensor> got{y, wg.grad(), bg.grad(), xg.grad()};
        if (run == 0) {
          first = got;
          continue;
        }
        CHECK_MESSAGE(bit_equal(got[0], first[0]), "output");
        CHECK_MESSAGE(bit_equal(got[1], first[1]), "weight gradient");
        CHECK_MESSAGE(bit_equal(got[2], first[2]), "bias gradient");
        CHECK_MESSAGE(bit_equal(got[3], first[3]), "input gradient");
      }
    }
}

// ---- elementwise, every configuration -------------------------------------------------
namespace {

// The tiled kernels launch one template instance per (pass, k, tile width): the width is
// 8, 16, 32 or 64 after the GEMM's N (cout forward and for the weight gradient, cin for the
// data gradient), and N > 64 needs blockIdx.y > 0. The training models' channel counts are
// base_filters * {1, 2, 4, 8} (up to 128 at base_filters 16) and the class count, 3x3x3
// convs at stride 1 and 2 and 1x1 convs at stride 1. Small volumes keep the emulator fast;
// the coverage test below proves what each case selects.
struct ElemCase {
  Shape x;  // (n, cin, X, Y, Z)
  int cout, k, stride, pad;
  bool bias, also_nondeterministic;
};
const ElemCase kElemCases[] = {
    // 8F -> 8F at F = 16: two 64-column tiles in every pass, 27 row tiles of gw.
    {{1, 128, 3, 3, 3}, 128, 3, 1, 1, false, false},
    // forward 8, data 8 columns.
    {{1, 4, 5, 3, 4}, 8, 3, 1, 1, true, false},
    // a downsampling conv on odd sizes: forward 32, data 16 columns in 8 phase classes.
    {{2, 16, 7, 5, 9}, 32, 3, 2, 1, true, false},
    // forward 16, data 32 columns; 648 rows, a weight gradient in 2 parts.
    {{1, 32, 9, 8, 9}, 16, 3, 1, 1, false, true},
    // 1x1 from 128 channels to 3 classes: forward 8, data two 64-column tiles.
    {{1, 128, 3, 5, 3}, 3, 1, 1, 0, true, false},
    // 1x1 from 256 channels: forward 64, data four 64-column tiles.
    {{1, 256, 3, 3, 1}, 64, 1, 1, 0, false, false},
    // 1x1 stride 2: forward two 64-column tiles; phase classes with no rows (Z = 1) or no
    // taps (odd positions: a 1x1 kernel at stride 2 never reads them), their gx is zero.
    {{1, 8, 5, 7, 1}, 96, 1, 2, 0, true, false},
    // 1x1: forward 16, data 32; forward 32, data 16.
    {{2, 32, 3, 5, 5}, 16, 1, 1, 0, false, false},
    {{1, 16, 5, 3, 7}, 32, 1, 1, 0, true, false},
};

Conv3dShape shape_of(const ElemCase& c) {
  Conv3dShape s;
  s.n = int(c.x[0]);
  s.cin = int(c.x[1]);
  s.cout = c.cout;
  for (int a = 0; a < 3; ++a) s.in[a] = int(c.x[2 + a]);
  s.k = c.k;
  s.stride = c.stride;
  s.pad = c.pad;
  return s;
}

ConvKernel kernel_of(ConvAlgo a) {
  return a == ConvAlgo::Direct  ? ConvKernel::Direct
         : a == ConvAlgo::Tiled ? ConvKernel::Tiled
                                : ConvKernel::Tf32;
}

std::vector<bool> modes(const ElemCase& c) {
  return c.also_nondeterministic ? std::vector<bool>{false, true} : std::vector<bool>{false};
}

// What the launchers pick for shape s: kernels/cuda/conv3d_tile_passes.cuh takes the tile
// from with_ffma_tile / with_mma_tile and the grid from tile_grid over the view; conv3d.cu
// takes the weight gradient's split and reduction from conv_weight_plan. Adds a name for
// each configuration to `seen`.
template <int KS>
void note_plan(const Conv3dShape& s, bool deterministic, std::set<std::string>& seen) {
  namespace k = kernels;
  auto note = [&](const std::string& pass, const auto& view) {
    const int64_t n = view.part(0).N;
    int ffma = 0, mma = 0;
    k::with_ffma_tile(n, [&](auto cfg) { ffma = decltype(cfg)::BN; });
    k::with_mma_tile(n, [&](auto cfg) { mma = decltype(cfg)::BN; });
    CHECK_MESSAGE(ffma == mma, "tiled and tf32 pick different widths for N = ", n);
    seen.insert(pass + " k" + std::to_string(KS) + " bn" + std::to_string(ffma));
    const k::TileGrid g = k::tile_grid(view.max_rows(), n, view.parts(), k::kConvTileBM, ffma);
    if (g.x > 1) seen.insert(pass + " grid.x > 1");
    if (g.y > 1) seen.insert(pass + " grid.y > 1");
    for (int z = 0; z < view.parts(); ++z) {
      if (view.part(z).M == 0) seen.insert(pass + " part without rows");
      if (view.part(z).k1 == view.part(z).k0) seen.insert(pass + " part without depth");
    }
  };
  note("forward", k::ConvFwdGemm<float, KS>::make(s, nullptr, nullptr));
  const k::ConvDataView<float, KS> data{s, nullptr, nullptr};
  note("data", data);
  if (data.parts() == 8) seen.insert("data k" + std::to_string(KS) + " 8 phase classes");
  for (ConvAlgo a : kAlgos) {
    const k::ConvWeightPlan p = k::conv_weight_plan(s, kernel_of(a), deterministic);
    const auto view = k::ConvWeightView<float, KS>::make(s, nullptr, nullptr, p.split, p.planes);
    if (a != ConvAlgo::Direct) note("weight", view);
    seen.insert(std::string(conv_algo_name(a)) + " weight " +
                (p.atomic   ? "atomic"
                 : p.planes ? "planes"
                            : "one part"));
  }
}

// Unit roundoff of the float32 sums. FFMA rounds each to nearest; so does the emulator's
// mma, adding in order of k. PTX leaves the rounding of the device's mma sum unspecified;
// tensor cores are reported (Fasi, Higham, Mikaitis, Pranesh 2021) to align a k8 step's
// addends (8 products and the accumulator) to the largest and truncate, which loses under
// 2^-23 of the step's sum of magnitudes per addend and once more for the result: over
// ceil(K / 8) steps at most (1.25 K + 2) 2^-23 of the sum, below 4 K 2^-24 for K >= 3 (every
// case here).
double unit_roundoff(ConvAlgo a) {
#if defined(FDL_CUDA_EMU)
  (void)a;
  return 0x1p-24;
#else
  return a == ConvAlgo::Tf32 ? 0x1p-22 : 0x1p-24;
#endif
}

// The bound per unit of magnitude for an element summing `adds` terms (float32 summation
// and the float64 reference's own rounding).
double bound_for(ConvAlgo a, int64_t adds) {
  return gamma_k(adds, unit_roundoff(a)) + gamma_k(adds, 0x1p-53);
}

// CHECKs every element of got within the bound of `adds` additions.
void check_pass(const char* pass, const std::vector<double>& got, const std::vector<double>& want,
                const std::vector<double>& magnitude, ConvAlgo a, int64_t adds) {
  INFO(pass);
  REQUIRE(got.size() == want.size());
  REQUIRE(magnitude.size() == want.size());
  const ElementCheck e = check_elements(got, want, magnitude, bound_for(a, adds));
  const int64_t first = e.bad.empty() ? -1 : e.bad.front();
  CHECK_MESSAGE(e.bad.empty(), e.bad.size(), " of ", got.size(), " elements are outside ",
                "the bound of ", adds, " float32 additions (error / bound up to ", e.worst,
                "), the first at flat index ", first, ": ", first < 0 ? 0.0 : got[size_t(first)],
                " vs ", first < 0 ? 0.0 : want[size_t(first)]);
}

struct CaseInputs {
  Tensor x, w, b, gy;
};
CaseInputs draw(const ElemCase& c, Rng& rng) {
  const Conv3dShape s = shape_of(c);
  CaseInputs in;
  in.x = rng.normal(c.x);
  in.w = rng.normal({c.cout, c.x[1], c.k, c.k, c.k});
  if (c.bias) in.b = rng.normal({c.cout});
  in.gy = rng.normal({s.n, s.cout, s.out(0), s.out(1), s.out(2)});
  return in;
}

ConvPasses gpu_passes(const ElemCase& c, const CaseInputs& in) {
  return conv_passes(in.x.to(Device::CUDA), in.w.to(Device::CUDA),
                     in.b.defined() ? in.b.to(Device::CUDA) : in.b, in.gy, c.stride, c.pad);
}

// y, gx and gw of every case with algorithm a, each element within its bound.
void check_cases_elementwise(ConvAlgo a) {
  FDL_GPU_RNG(rng);
  for (const ElemCase& c : kElemCases)
    for (bool nondeterministic : modes(c)) {
      CAPTURE(c.x.str());
      CAPTURE(c.cout);
      CAPTURE(c.k);
      CAPTURE(c.stride);
      CAPTURE(nondeterministic);
      const Conv3dShape s = shape_of(c);
      const CaseInputs in = draw(c, rng);
      ConvSettings settings(a, nondeterministic);
      const ConvPasses got = gpu_passes(c, in);
      const ConvReference ref =
          conv_reference(in.x, in.w, in.b, in.gy, c.stride, c.pad, a == ConvAlgo::Tf32);
      // Additions per element: cin*taps products and the bias; at most cout*taps (a stride
      // phase class reads fewer taps); n*outvol products and the sum of the split-K parts.
      const int splits = kernels::conv_weight_plan(s, kernel_of(a), !nondeterministic).split.splits;
      const int64_t taps = s.taps();
      check_pass("y", got.y, ref.value.y, ref.magnitude.y, a, s.cin * taps + (c.bias ? 1 : 0));
      check_pass("gx", got.gx, ref.value.gx, ref.magnitude.gx, a, s.cout * taps);
      check_pass("gw", got.gw, ref.value.gw, ref.magnitude.gw, a,
                 int64_t(s.n) * s.out_volume() + splits);
    }
}

}  // namespace

TEST_CASE("gpu conv3d: the elementwise cases select every tile width and grid and weight plan") {
  std::set<std::string> seen;
  for (const ElemCase& c : kElemCases)
    for (bool nondeterministic : modes(c)) {
      const Conv3dShape s = shape_of(c);
      if (s.k == 1)
        note_plan<1>(s, !nondeterministic, seen);
      else
        note_plan<3>(s, !nondeterministic, seen);
      if (c.bias) seen.insert("forward bias");
    }
  std::set<std::string> want{"forward bias", "data k1 8 phase classes", "data k3 8 phase classes",
                             "data part without rows", "data part without depth"};
  for (std::string pass : {"forward", "data", "weight"}) {
    for (int k : {1, 3})
      for (int bn : {8, 16, 32, 64})
        want.insert(pass + " k" + std::to_string(k) + " bn" + std::to_string(bn));
    want.insert(pass + " grid.x > 1");
    want.insert(pass + " grid.y > 1");
  }
  for (std::string kind : {"direct", "tiled", "tf32"})
    for (const char* plan : {"one part", "planes", "atomic"}) want.insert(kind + " weight " + plan);
  for (const std::string& w : want) {
    CAPTURE(w);
    CHECK(seen.count(w) == 1);
  }
}

TEST_CASE("gpu conv3d: direct is elementwise within the float32 summation bound") {
  check_cases_elementwise(ConvAlgo::Direct);
}

TEST_CASE("gpu conv3d: tiled is elementwise within the float32 summation bound") {
  check_cases_elementwise(ConvAlgo::Tiled);
}

TEST_CASE("gpu conv3d: tf32 is elementwise within the float32 summation bound of rounded inputs") {
  check_cases_elementwise(ConvAlgo::Tf32);
}

TEST_CASE("gpu conv3d: the elementwise check finds three elements off by 1e-3 of the rms") {
  // The reference's rounding: ties away from zero, subnormals on the fixed 2^-136 grid.
  CHECK(round_tf32(1 + 0x1p-11) == 1 + 0x1p-10);
  CHECK(round_tf32(-(1 + 0x1p-11)) == -(1 + 0x1p-10));
  CHECK(round_tf32(1 + 0x1p-11 - 0x1p-23) == 1);
  CHECK(round_tf32(0x1.8p-136) == 0x1p-135);
  FDL_GPU_RNG(rng);
  const ElemCase c{{1, 4, 5, 6, 7}, 8, 3, 1, 1, false, false};
  const CaseInputs in = draw(c, rng);
  ConvSettings settings(ConvAlgo::Tf32);
  ConvPasses got = gpu_passes(c, in);
  const ConvReference ref = conv_reference(in.x, in.w, in.b, in.gy, c.stride, c.pad, true);
  const double bound = bound_for(ConvAlgo::Tf32, 4 * 27);
  REQUIRE(check_elements(got.y, ref.value.y, ref.magnitude.y, bound).bad.empty());
  double sq = 0;
  for (double v : ref.value.y) sq += v * v;
  const double rms = std::sqrt(sq / double(ref.value.y.size()));
  const std::vector<int64_t> off{0, int64_t(got.y.size() / 2), int64_t(got.y.size()) - 1};
  for (int64_t i : off) got.y[size_t(i)] += 1e-3 * rms;
  CHECK(check_elements(got.y, ref.value.y, ref.magnitude.y, bound).bad == off);
}
