#pragma once
// The per-thread steps of the tiled conv3d GEMM kernels (kernels/cuda/conv3d_tiled.cu and
// conv3d_tf32.cu). A block computes a BM x BN tile of C for one part (blockIdx.z) of a
// view from kernels/common/conv3d_gemm.h, stepping through the depth BK at a time:
//   stage_tiles   global -> registers: this thread's share of the A (BM x BK) and
//                 B (BK x BN) tiles, gathered through the view (zero outside the GEMM)
//   store_tiles   registers -> shared memory, A stored k-major: As[k][m], Bs[k][n]
//   ffma_compute  / mma fragments: the inner product over one BK slab
//   *_epilogue    C (+ bias) to the output, through the view's c_index
// The kernels run these with __syncthreads between steps; the host tests run them for
// every thread in turn, so they check the very index arithmetic the GPU executes.
#include <cstdint>
#include <type_traits>

#include "kernels/common/conv3d_gemm.h"
#include "kernels/common/elementwise.h"
#include "kernels/common/mma_tf32.h"

// Loop unrolling for the device pass only (host compilers do not know the pragma).
#if defined(__CUDA_ARCH__)
#define FDL_UNROLL _Pragma("unroll")
#else
#define FDL_UNROLL
#endif

namespace fdl::kernels {

// Element j of thread t when THREADS threads load a ROWS x COLS tile, rows (or columns)
// fastest; false when the slot lies past the tile. When THREADS is a multiple of the fast
// extent, a thread keeps one fast index for all j, so its row decoding is done once.
template <int ROWS, int COLS, int THREADS, bool ROWS_FASTEST>
FDL_HD bool tile_slot(int t, int j, int& r, int& c) {
  if constexpr (ROWS_FASTEST) {
    if constexpr (THREADS % ROWS == 0) {
      r = t % ROWS;
      c = t / ROWS + j * (THREADS / ROWS);
    } else {
      const int e = t + j * THREADS;
      r = e % ROWS;
      c = e / ROWS;
    }
    return c < COLS;
  } else {
    if constexpr (THREADS % COLS == 0) {
      c = t % COLS;
      r = t / COLS + j * (THREADS / COLS);
    } else {
      const int e = t + j * THREADS;
      c = e % COLS;
      r = e / COLS;
    }
    return r < ROWS;
  }
}

// FFMA tiling: 256 threads, each a TM x TN register tile; thread t owns rows
// tm + i * (BM / TM) (tm = t % (BM / TM), so a warp reads consecutive As entries and
// stores consecutive rows of C) and columns tn * TN + j (tn = t / (BM / TM)).
template <int BM_, int BN_, int TM_, int TN_>
struct FfmaTile {
  static constexpr int BM = BM_, BN = BN_, BK = 16, TM = TM_, TN = TN_, PAD = 8;
  static constexpr int kThreads = (BM / TM) * (BN / TN);
  static constexpr int LDA = BM + PAD, LDB = BN + PAD;
  static constexpr int kALoads = (BM * BK + kThreads - 1) / kThreads;
  static constexpr int kBLoads = (BK * BN + kThreads - 1) / kThreads;
  static_assert(BM % TM == 0 && BN % TN == 0, "tile must split into register tiles");
};

// TF32 tiling: WM x WN warps, each a (BM / WM) x (BN / WN) warp tile of MT x NT mma tiles
// of 16 x 8; warp w sits at (w % WM, w / WM).
template <int BM_, int BN_, int WM_, int WN_>
struct MmaTile {
  static constexpr int BM = BM_, BN = BN_, BK = 16, PAD = 8, WM = WM_, WN = WN_;
  static constexpr int kThreads = 32 * WM * WN;
  static constexpr int WTM = BM / WM, WTN = BN / WN, MT = WTM / 16, NT = WTN / 8;
  // Row strides = 8 mod 32 words, so a fragment load (word q * LD + g, q < 4, g < 8, plus a
  // constant) hits 32 distinct banks; BN + PAD alone gave 16 mod 32 for BN = 8 (2-way).
  static constexpr int LDA = BM + PAD, LDB = BN + ((8 - BN) % 32 + 32) % 32;
  static_assert(LDA % 32 == 8 && LDB % 32 == 8 && LDB >= BN, "conflict-free fragment loads");
  static constexpr int kALoads = (BM * BK + kThreads - 1) / kThreads;
  static constexpr int kBLoads = (BK * BN + kThreads - 1) / kThreads;
  static_assert(WTM % 16 == 0 && WTN % 8 == 0 && BK % 8 == 0, "warp tile must hold mma tiles");
};

// The configurations the kernels launch for a GEMM with n columns (kernels and host tests
// both pick through these): f(Cfg{}).
template <class F>
void with_ffma_tile(int64_t n, F&& f) {
  switch (tile_bn(n)) {
    case 64: return f(FfmaTile<128, 64, 8, 4>{});
    case 32: return f(FfmaTile<128, 32, 4, 4>{});
    case 16: return f(FfmaTile<128, 16, 4, 2>{});
    default: return f(FfmaTile<128, 8, 4, 1>{});
  }
}
template <class F>
void with_mma_tile(int64_t n, F&& f) {
  switch (tile_bn(n)) {
    case 64: return f(MmaTile<128, 64, 4, 2>{});
    case 32: return f(MmaTile<128, 32, 4, 2>{});
    case 16: return f(MmaTile<128, 16, 4, 2>{});
    default: return f(MmaTile<128, 8, 8, 1>{});
  }
}

template <class Cfg, class E>
struct TileSmem {
  E a[Cfg::BK][Cfg::LDA];
  E b[Cfg::BK][Cfg::LDB];
};

template <class Cfg, class Part>
FDL_HD void stage_tiles(const Part& p, int t, int64_t m0, int64_t n0, int64_t k0,
                        float (&ra)[Cfg::kALoads], float (&rb)[Cfg::kBLoads]) {
  FDL_UNROLL
  for (int j = 0; j < Cfg::kALoads; ++j) {
    int r, c;
    if (tile_slot<Cfg::BM, Cfg::BK, Cfg::kThreads, Part::kRowsFastest>(t, j, r, c)) {
      const int64_t m = m0 + r, k = k0 + c;
      ra[j] = m < p.M && k < p.k1 ? p.a(m, k) : 0.f;
    }
  }
  FDL_UNROLL
  for (int j = 0; j < Cfg::kBLoads; ++j) {
    int r, c;
    if (tile_slot<Cfg::BK, Cfg::BN, Cfg::kThreads, true>(t, j, r, c)) {
      const int64_t k = k0 + r, n = n0 + c;
      rb[j] = k < p.k1 && n < p.N ? p.b(k, n) : 0.f;
    }
  }
}

// E = float stores the values, E = uint32_t their TF32 roundings.
template <class Cfg, bool A_ROWS_FASTEST, class E>
FDL_HD void store_tiles(int t, const float (&ra)[Cfg::kALoads], const float (&rb)[Cfg::kBLoads],
                        TileSmem<Cfg, E>& s) {
  auto cvt = [](float v) {
    if constexpr (std::is_same_v<E, uint32_t>)
      return tf32_bits(v);
    else
      return v;
  };
  FDL_UNROLL
  for (int j = 0; j < Cfg::kALoads; ++j) {
    int r, c;
    if (tile_slot<Cfg::BM, Cfg::BK, Cfg::kThreads, A_ROWS_FASTEST>(t, j, r, c))
      s.a[c][r] = cvt(ra[j]);
  }
  FDL_UNROLL
  for (int j = 0; j < Cfg::kBLoads; ++j) {
    int r, c;
    if (tile_slot<Cfg::BK, Cfg::BN, Cfg::kThreads, true>(t, j, r, c)) s.b[r][c] = cvt(rb[j]);
  }
}

// Writes one result: plain store, or (atomic, device only) an add into shared output.
template <class T>
FDL_HD void put(T* out, int64_t i, T v, bool atomic) {
#if defined(FDL_DEVICE_PASS)
  if (atomic) {
    atomicAdd(out + i, v);
    return;
  }
#else
  if (atomic) {
    out[i] += v;
    return;
  }
#endif
  out[i] = v;
}

// The slab loop of one block, shared by the kernels (each thread runs it with its own
// steps and sync = __syncthreads) and the host emulation (each step runs every thread of
// the block, sync does nothing): stage the first slab into registers; then per slab store
// it to shared memory, sync, prefetch the next slab into registers, compute on the stored
// one, and sync again so no thread overwrites the tiles while another still reads them.
// Every thread takes the same branches (they depend on the part only), so no barrier sits
// in divergent code.
template <int BK, class Part, class Stage, class Store, class Compute, class Sync>
FDL_HD void slab_loop(const Part& p, Stage&& stage, Store&& store, Compute&& compute, Sync&& sync) {
  if (p.k0 >= p.k1) return;  // an empty depth: C is zero
  stage(p.k0);
  for (int64_t k0 = p.k0;; k0 += BK) {
    store();
    sync();
    const bool more = k0 + BK < p.k1;
    if (more) stage(k0 + BK);
    compute();
    sync();
    if (!more) break;
  }
}

// Element e of the direct kernel's grid-stride loop over part p: C[m][n] (+ bias) to out,
// m fastest so neighbouring threads read and write neighbouring rows.
template <class T, class Part>
FDL_HD void direct_element(const Part& p, int64_t e, const T* bias, T* out, bool atomic) {
  const int64_t n = e / p.M, m = e - n * p.M;
  T acc = gemm_dot<T>(p, m, n);
  if (bias) acc += bias[n];
  put(out, p.c_index(m, n), acc, atomic);
}

// ---- FFMA ---------------------------------------------------------------------------
template <class Cfg>
FDL_HD void ffma_compute(int t, const TileSmem<Cfg, float>& s, float (&acc)[Cfg::TM][Cfg::TN]) {
  constexpr int RS = Cfg::BM / Cfg::TM;
  const int tm = t % RS, tn = t / RS;
  FDL_UNROLL
  for (int kk = 0; kk < Cfg::BK; ++kk) {
    float a[Cfg::TM], b[Cfg::TN];
    FDL_UNROLL
    for (int i = 0; i < Cfg::TM; ++i) a[i] = s.a[kk][tm + i * RS];
    FDL_UNROLL
    for (int j = 0; j < Cfg::TN; ++j) b[j] = s.b[kk][tn * Cfg::TN + j];
    FDL_UNROLL
    for (int i = 0; i < Cfg::TM; ++i) FDL_UNROLL
    for (int j = 0; j < Cfg::TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
  }
}

template <class Cfg, class Part>
FDL_HD void ffma_epilogue(const Part& p, int t, int64_t m0, int64_t n0,
                          const float (&acc)[Cfg::TM][Cfg::TN], const float* bias, float* out,
                          bool atomic) {
  constexpr int RS = Cfg::BM / Cfg::TM;
  const int tm = t % RS, tn = t / RS;
  FDL_UNROLL
  for (int i = 0; i < Cfg::TM; ++i) FDL_UNROLL
  for (int j = 0; j < Cfg::TN; ++j) {
    const int64_t m = m0 + tm + i * RS, n = n0 + tn * Cfg::TN + j;
    if (m < p.M && n < p.N) put(out, p.c_index(m, n), acc[i][j] + (bias ? bias[n] : 0.f), atomic);
  }
}

// ---- TF32 mma -----------------------------------------------------------------------
// Lane `lane` of warp `w`: its A fragments (one per mma row tile) and B fragments (one per
// mma column tile) of the k8 step at slab offset ks.
template <class Cfg>
FDL_HD void mma_fragments(int w, int lane, int ks, const TileSmem<Cfg, uint32_t>& s,
                          uint32_t (&fa)[Cfg::MT][4], uint32_t (&fb)[Cfg::NT][2]) {
  const int wm0 = (w % Cfg::WM) * Cfg::WTM, wn0 = (w / Cfg::WM) * Cfg::WTN;
  FDL_UNROLL
  for (int mi = 0; mi < Cfg::MT; ++mi) FDL_UNROLL
  for (int r = 0; r < 4; ++r)
    fa[mi][r] = s.a[ks + mma_a_col(lane, r)][wm0 + mi * 16 + mma_a_row(lane, r)];
  FDL_UNROLL
  for (int ni = 0; ni < Cfg::NT; ++ni) FDL_UNROLL
  for (int r = 0; r < 2; ++r)
    fb[ni][r] = s.b[ks + mma_b_row(lane, r)][wn0 + ni * 8 + mma_b_col(lane, r)];
}

template <class Cfg, class Part>
FDL_HD void mma_epilogue(const Part& p, int w, int lane, int64_t m0, int64_t n0,
                         const float (&acc)[Cfg::MT][Cfg::NT][4], const float* bias, float* out,
                         bool atomic) {
  const int wm0 = (w % Cfg::WM) * Cfg::WTM, wn0 = (w / Cfg::WM) * Cfg::WTN;
  FDL_UNROLL
  for (int mi = 0; mi < Cfg::MT; ++mi) FDL_UNROLL
  for (int ni = 0; ni < Cfg::NT; ++ni) FDL_UNROLL
  for (int r = 0; r < 4; ++r) {
    const int64_t m = m0 + wm0 + mi * 16 + mma_c_row(lane, r);
    const int64_t n = n0 + wn0 + ni * 8 + mma_c_col(lane, r);
    if (m < p.M && n < p.N)
      put(out, p.c_index(m, n), acc[mi][ni][r] + (bias ? bias[n] : 0.f), atomic);
  }
}

}  // namespace fdl::kernels
