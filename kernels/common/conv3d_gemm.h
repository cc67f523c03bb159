#pragma once
// conv3d as implicit GEMM: C[m][n] = sum_k A[m][k] * B[k][n], with A and B read straight
// from the activations and weights through index maps (no im2col buffer). Shared by the
// CUDA kernels and the host tests that emulate them.
//
// Every view has parts (blockIdx.z): part(z) gives rows M, columns N, the depth range
// [k0, k1), and a(m, k), b(k, n), c_index(m, n) (offset of C[m][n] in the output).
//   forward          M = n*outvol (b, o)    N = cout   K = cin*taps (ci, tap)   one part
//   data gradient    M = n*|class| (b, i)   N = cin    K = cout*|taps of class| one part per
//                    stride phase class: for stride 2 the input positions of one parity per
//                    axis are reached by one fixed set of taps, i = 2*i' + ph reads output
//                    o = (i + pad - t) / 2 exactly for t = first, first + 2, ... (8 classes)
//   weight gradient  transposed, so the small channel count is N again: M = cin*taps
//                    (ci, tap), N = cout, K = n*outvol (b, o), split into `splits` chunks;
//                    part z sums chunk z and writes plane z of a scratch (or gw itself)
// KS (1 or 3) is a template argument so tap decoding divides by constants.
#include <cmath>
#include <cstdint>

#include "kernels/common/conv3d_shape.h"
#include "kernels/common/launch.h"

namespace fdl::kernels {

struct Idx3 {
  int x, y, z;
};

// r in [0, d0*d1*d2) -> (x, y, z), z fastest.
FDL_HD Idx3 unflatten3(int64_t r, int d1, int d2) {
  const int64_t plane = int64_t(d1) * d2;
  const int x = int(r / plane);
  const int64_t rest = r - int64_t(x) * plane;
  const int y = int(rest / d2);
  return {x, y, int(rest - int64_t(y) * d2)};
}

FDL_HD bool inside(int i, int n) { return unsigned(i) < unsigned(n); }

// ---- forward ------------------------------------------------------------------------
template <class T, int KS>
struct ConvFwdGemm {
  static constexpr int kTaps = KS * KS * KS;
  static constexpr bool kRowsFastest = true;  // consecutive m are consecutive in x and y
  const T* x = nullptr;
  const T* w = nullptr;
  int64_t M = 0, N = 0, k0 = 0, k1 = 0;
  int in[3] = {}, out[3] = {}, cin = 0, stride = 1, pad = 0;
  int64_t invol = 0, outvol = 0;

  static ConvFwdGemm make(const Conv3dShape& s, const T* x, const T* w) {
    ConvFwdGemm g;
    g.x = x;
    g.w = w;
    g.M = int64_t(s.n) * s.out_volume();
    g.N = s.cout;
    g.k1 = int64_t(s.cin) * kTaps;
    for (int a = 0; a < 3; ++a) {
      g.in[a] = s.in[a];
      g.out[a] = s.out(a);
    }
    g.cin = s.cin;
    g.stride = s.stride;
    g.pad = s.pad;
    g.invol = s.in_volume();
    g.outvol = s.out_volume();
    return g;
  }
  FDL_HD int parts() const { return 1; }
  FDL_HD int64_t max_rows() const { return M; }
  FDL_HD ConvFwdGemm part(int) const { return *this; }

  FDL_HD T a(int64_t m, int64_t k) const {
    const int64_t b = m / outvol;
    const Idx3 o = unflatten3(m - b * outvol, out[1], out[2]);
    const int ci = int(k / kTaps), tap = int(k - int64_t(ci) * kTaps);
    const int ix = o.x * stride - pad + tap / (KS * KS);
    const int iy = o.y * stride - pad + tap / KS % KS;
    const int iz = o.z * stride - pad + tap % KS;
    if (!inside(ix, in[0]) || !inside(iy, in[1]) || !inside(iz, in[2])) return T(0);
    return x[(b * cin + ci) * invol + (int64_t(ix) * in[1] + iy) * in[2] + iz];
  }
  FDL_HD T b(int64_t k, int64_t n) const { return w[n * k1 + k]; }
  FDL_HD int64_t c_index(int64_t m, int64_t n) const {
    const int64_t b = m / outvol;
    return (b * N + n) * outvol + (m - b * outvol);
  }
};

// ---- data gradient ------------------------------------------------------------------
// One stride phase class: positions i = stride*i' + ph along each axis, read by taps
// first + stride*j for j < nt.
struct ConvPhaseClass {
  int cnt[3] = {}, ph[3] = {}, first[3] = {}, nt[3] = {};
};

FDL_HD int conv_data_classes(int stride) { return stride == 1 ? 1 : 8; }

// Class z (bit 2-a is the phase along axis a).
FDL_HD ConvPhaseClass conv_phase_class(const Conv3dShape& s, int z) {
  ConvPhaseClass c;
  for (int a = 0; a < 3; ++a) {
    if (s.stride == 1) {
      c.cnt[a] = s.in[a];
      c.nt[a] = s.k;
    } else {
      c.ph[a] = (z >> (2 - a)) & 1;
      c.cnt[a] = (s.in[a] - c.ph[a] + 1) / 2;
      c.first[a] = (c.ph[a] + s.pad) & 1;  // i + pad - t must be even
      c.nt[a] = (s.k - c.first[a] + 1) / 2;
    }
  }
  return c;
}

template <class T, int KS>
struct ConvDataGemm {
  static constexpr bool kRowsFastest = true;
  const T* gy = nullptr;
  const T* w = nullptr;
  int64_t M = 0, N = 0, k0 = 0, k1 = 0;
  ConvPhaseClass c;
  int in[3] = {}, out[3] = {}, cin = 0, cout = 0, stride = 1, pad = 0;
  int64_t invol = 0, outvol = 0, classvol = 0, tapsz = 0;

  FDL_HD T a(int64_t m, int64_t k) const {
    const int64_t b = m / classvol;
    const Idx3 p = unflatten3(m - b * classvol, c.cnt[1], c.cnt[2]);
    const int co = int(k / tapsz);
    const Idx3 j = unflatten3(k - co * tapsz, c.nt[1], c.nt[2]);
    // The numerators are multiples of stride by the class's choice of taps: exact.
    const int ox = (p.x * stride + c.ph[0] + pad - c.first[0]) / stride - j.x;
    const int oy = (p.y * stride + c.ph[1] + pad - c.first[1]) / stride - j.y;
    const int oz = (p.z * stride + c.ph[2] + pad - c.first[2]) / stride - j.z;
    if (!inside(ox, out[0]) || !inside(oy, out[1]) || !inside(oz, out[2])) return T(0);
    return gy[(b * cout + co) * outvol + (int64_t(ox) * out[1] + oy) * out[2] + oz];
  }
  FDL_HD T b(int64_t k, int64_t n) const {
    const int co = int(k / tapsz);
    const Idx3 j = unflatten3(k - co * tapsz, c.nt[1], c.nt[2]);
    const int tx = c.first[0] + stride * j.x, ty = c.first[1] + stride * j.y,
              tz = c.first[2] + stride * j.z;
    return w[((int64_t(co) * cin + n) * KS + tx) * KS * KS + ty * KS + tz];
  }
  FDL_HD int64_t c_index(int64_t m, int64_t n) const {
    const int64_t b = m / classvol;
    const Idx3 p = unflatten3(m - b * classvol, c.cnt[1], c.cnt[2]);
    const int ix = p.x * stride + c.ph[0], iy = p.y * stride + c.ph[1], iz = p.z * stride + c.ph[2];
    return (b * cin + n) * invol + (int64_t(ix) * in[1] + iy) * in[2] + iz;
  }
};

template <class T, int KS>
struct ConvDataView {
  Conv3dShape s;
  const T* gy = nullptr;
  const T* w = nullptr;

  FDL_HD int parts() const { return conv_data_classes(s.stride); }
  // Class 0 (phase 0 on every axis) is the largest.
  FDL_HD int64_t max_rows() const { return part(0).M; }
  FDL_HD ConvDataGemm<T, KS> part(int z) const {
    ConvDataGemm<T, KS> g;
    g.gy = gy;
    g.w = w;
    g.c = conv_phase_class(s, z);
    g.classvol = int64_t(g.c.cnt[0]) * g.c.cnt[1] * g.c.cnt[2];
    g.tapsz = int64_t(g.c.nt[0]) * g.c.nt[1] * g.c.nt[2];
    g.M = int64_t(s.n) * g.classvol;
    g.N = s.cin;
    g.k1 = int64_t(s.cout) * g.tapsz;
    for (int a = 0; a < 3; ++a) {
      g.in[a] = s.in[a];
      g.out[a] = s.out(a);
    }
    g.cin = s.cin;
    g.cout = s.cout;
    g.stride = s.stride;
    g.pad = s.pad;
    g.invol = s.in_volume();
    g.outvol = s.out_volume();
    return g;
  }
};

// ---- weight gradient ----------------------------------------------------------------
// How the depth K of the weight gradient is cut into chunks, one part (blockIdx.z) each.
struct SplitK {
  int splits = 1;
  int64_t chunk = 0;
};

// Enough parts that blocks_per_part * splits reaches target_blocks, each chunk at least
// min_chunk deep (and a multiple of align), the scratch (splits * plane) within
// max_scratch elements, and splits <= max_splits (a grid's z extent is at most 65535).
FDL_HD SplitK split_k(int64_t K, int64_t blocks_per_part, int64_t plane,
                      int64_t target_blocks = 1056, int64_t min_chunk = 512,
                      int64_t max_scratch = int64_t(1) << 24, int64_t align = 32,
                      int64_t max_splits = 1024) {
  int64_t s = ceil_div(target_blocks, blocks_per_part < 1 ? 1 : blocks_per_part);
  const int64_t by_depth = ceil_div(K, min_chunk);
  const int64_t by_memory = max_scratch / (plane < 1 ? 1 : plane);
  if (s > by_depth) s = by_depth;
  if (s > by_memory) s = by_memory;
  if (s > max_splits) s = max_splits;
  if (s < 1) s = 1;
  SplitK r;
  r.chunk = ceil_div(ceil_div(K, s), align) * align;
  if (r.chunk < align) r.chunk = align;
  r.splits = int(ceil_div(K, r.chunk));
  if (r.splits < 1) r.splits = 1;
  return r;
}

template <class T, int KS>
struct ConvWeightGemm {
  static constexpr bool kRowsFastest = false;  // consecutive k are consecutive in x and gy
  ConvFwdGemm<T, KS> fwd;                      // its a(k, m) is our a(m, k)
  const T* gy = nullptr;
  int64_t M = 0, N = 0, k0 = 0, k1 = 0, plane_offset = 0;

  FDL_HD T a(int64_t m, int64_t k) const { return fwd.a(k, m); }
  FDL_HD T b(int64_t k, int64_t n) const {
    const int64_t b = k / fwd.outvol;
    return gy[(b * N + n) * fwd.outvol + (k - b * fwd.outvol)];
  }
  // gw[co][ci][tap] = C[(ci, tap)][co]
  FDL_HD int64_t c_index(int64_t m, int64_t n) const { return plane_offset + n * M + m; }
};

template <class T, int KS>
struct ConvWeightView {
  ConvFwdGemm<T, KS> fwd;
  const T* gy = nullptr;
  SplitK split;
  int64_t plane_stride = 0;  // w_numel when each part writes its own plane, 0 to share one

  static ConvWeightView make(const Conv3dShape& s, const T* x, const T* gy, SplitK split,
                             bool own_planes) {
    ConvWeightView v;
    v.fwd = ConvFwdGemm<T, KS>::make(s, x, nullptr);
    v.gy = gy;
    v.split = split;
    v.plane_stride = own_planes ? s.w_numel() : 0;
    return v;
  }
  FDL_HD int parts() const { return split.splits; }
  FDL_HD int64_t max_rows() const { return fwd.k1; }
  FDL_HD ConvWeightGemm<T, KS> part(int z) const {
    ConvWeightGemm<T, KS> g;
    g.fwd = fwd;
    g.gy = gy;
    g.M = fwd.k1;
    g.N = fwd.N;
    const int64_t K = fwd.M;
    g.k0 = int64_t(z) * split.chunk;
    if (g.k0 > K) g.k0 = K;
    g.k1 = g.k0 + split.chunk < K ? g.k0 + split.chunk : K;
    g.plane_offset = int64_t(z) * plane_stride;
    return g;
  }
};

// ---- backward bias ------------------------------------------------------------------
// gb[co] sums n*outvol values; blocks of each channel take one contiguous chunk each.
FDL_HD int bias_splits(int64_t per_channel, int64_t per_block = 8192, int max_splits = 256) {
  const int64_t s = ceil_div(per_channel, per_block);
  return s < 1 ? 1 : s > max_splits ? max_splits : int(s);
}

// Values [begin, end) of a channel's per_channel ones (j = b * outvol + o) that bias block
// z of `splits` sums; the last blocks may be empty.
struct IndexRange {
  int64_t begin = 0, end = 0;
};
FDL_HD IndexRange bias_chunk(int64_t per_channel, int splits, int z) {
  const int64_t chunk = ceil_div(per_channel, splits < 1 ? 1 : splits);
  IndexRange r;
  r.begin = int64_t(z) * chunk;
  if (r.begin > per_channel) r.begin = per_channel;
  r.end = r.begin + chunk < per_channel ? r.begin + chunk : per_channel;
  return r;
}
// Offset in gy (n, cout, outvol) of value j of channel co.
FDL_HD int64_t bias_gy_index(int64_t j, int64_t outvol, int cout, int co) {
  const int64_t b = j / outvol;
  return (b * cout + co) * outvol + (j - b * outvol);
}

// ---- kernel choice and scratch ------------------------------------------------------
enum class ConvKernel { Direct, Tiled, Tf32 };

// Rows of every tiled block (both tiled versions).
constexpr int kConvTileBM = 128;
// Block tile width for a GEMM with N columns: the channel counts are small, so the tile
// follows N (8, 16, 32 or 64) instead of wasting a fixed wide one.
FDL_HD int tile_bn(int64_t n) { return n > 32 ? 64 : n > 16 ? 32 : n > 8 ? 16 : 8; }

// The split of the weight gradient's depth for kernel `kind`: the direct kernel has one
// thread per weight per part, the tiled ones kConvTileBM x tile_bn(cout) tiles per part.
FDL_HD SplitK conv_weight_split(const Conv3dShape& s, ConvKernel kind) {
  const int64_t W = s.w_numel(), K = int64_t(s.n) * s.out_volume();
  const int64_t blocks =
      kind == ConvKernel::Direct
          ? ceil_div(W, 256)
          : ceil_div(int64_t(s.cin) * s.taps(), kConvTileBM) * ceil_div(s.cout, tile_bn(s.cout));
  return split_k(K, blocks, W);
}

// How conv3d_backward_weight runs: deterministic with several parts, part z writes plane z
// of the scratch and the planes are summed in order into gw; deterministic with one part,
// it writes gw; otherwise every part adds atomically into gw, zeroed first.
struct ConvWeightPlan {
  SplitK split;
  bool atomic = false, planes = false;
};
FDL_HD ConvWeightPlan conv_weight_plan(const Conv3dShape& s, ConvKernel kind, bool deterministic) {
  ConvWeightPlan p;
  p.split = conv_weight_split(s, kind);
  p.atomic = !deterministic;
  p.planes = deterministic && p.split.splits > 1;
  return p;
}

// Scratch (elements of the tensor's type) of the weight gradient: one plane per part when
// the parts are reduced in a fixed order; none for one part or atomic adds.
FDL_HD int64_t conv_weight_scratch(const Conv3dShape& s, ConvKernel kind, bool deterministic) {
  const ConvWeightPlan p = conv_weight_plan(s, kind, deterministic);
  return p.planes ? int64_t(p.split.splits) * s.w_numel() : 0;
}

// Scratch of the bias gradient: one partial sum per (block, channel).
FDL_HD int64_t conv_bias_scratch(const Conv3dShape& s) {
  const int b = bias_splits(int64_t(s.n) * s.out_volume());
  return b > 1 ? int64_t(b) * s.cout : 0;
}

FDL_HD float fma_t(float a, float b, float c) { return fmaf(a, b, c); }
FDL_HD double fma_t(double a, double b, double c) { return fma(a, b, c); }

// C[m][n] of one part, summed in order of k (the direct kernel's one thread).
template <class T, class Part>
FDL_HD T gemm_dot(const Part& p, int64_t m, int64_t n) {
  T acc = T(0);
  for (int64_t k = p.k0; k < p.k1; ++k) acc = fma_t(p.a(m, k), p.b(k, n), acc);
  return acc;
}

// ---- tile configurations ------------------------------------------------------------

// Blocks of a tiled launch: x over row tiles, y over column tiles, z over parts.
struct TileGrid {
  int64_t x = 1, y = 1, z = 1;
};
FDL_HD TileGrid tile_grid(int64_t max_rows, int64_t cols, int parts, int bm, int bn) {
  TileGrid g;
  g.x = ceil_div(max_rows, bm);
  g.y = ceil_div(cols, bn);
  g.z = parts;
  if (g.x < 1) g.x = 1;
  if (g.y < 1) g.y = 1;
  return g;
}
// CUDA's limits on a grid.
FDL_HD bool tile_grid_ok(const TileGrid& g) {
  return g.x <= 2147483647 && g.y <= 65535 && g.z >= 1 && g.z <= 65535;
}

}  // namespace fdl::kernels
