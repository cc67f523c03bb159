#include "kernels/cpu/conv3d.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace fdl::kernels::cpu {

namespace {

// ---- Vectors: GCC vector extensions give one zmm of float or double from the same code.
template <class T>
struct VecOf;
template <>
struct VecOf<float> {
  typedef float type __attribute__((vector_size(64)));
};
template <>
struct VecOf<double> {
  typedef double type __attribute__((vector_size(64)));
};
template <class T>
using Vec = typename VecOf<T>::type;
template <class T>
constexpr int kLanes = 64 / sizeof(T);

template <class T>
inline Vec<T> load(const T* p) {
  Vec<T> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class T>
inline void store(T* p, Vec<T> v) {
  std::memcpy(p, &v, sizeof v);
}

constexpr int kCo = 8;            // output channels per forward tile (one weight broadcast each)
constexpr int kVecs = 3;          // vectors of positions per forward tile
constexpr int kWgCo = 4;          // output channels per weight-gradient tile
constexpr int kWgTaps = 6;        // taps per weight-gradient tile
constexpr int64_t kChunk = 1536;  // target positions per work item (fits L1/L2 with its weights)
constexpr int64_t kAlign = 16;    // scratch sub-buffers start on 64-byte boundaries

template <class T>
constexpr int64_t kTile = int64_t(kVecs) * kLanes<T>;

int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }
int64_t div_up(int64_t a, int64_t b) { return (a + b - 1) / b; }

// ---- The position grid and the source buffer.
// A source buffer holds, per channel, s^3 phases of a (len0, len1, len2) box; along each axis
// element (phase r, index u) is in[s*u + r - lo], zero outside the input. Positions of a pass
// are p = qx*ps + qy*rs + qz in that box's strides; a tap is a constant offset from p. Only
// qx < q[0], qy < q[1], qz < q[2] are real outputs; the other columns of a row are computed
// and dropped, which keeps every vector full.
struct Source {
  int s = 1, lo[3] = {0, 0, 0}, len[3] = {1, 1, 1};
  int channels = 1;
  int64_t rs = 1, ps = 1, phase_vol = 1, chan_stride = 1;
  void finish() {
    rs = len[2];
    ps = int64_t(len[1]) * len[2];
    phase_vol = int64_t(len[0]) * ps;
    // An odd number of cache lines between channels spreads the channels' streams over
    // all L1 sets; a multiple of 4 KiB would put them all in one.
    chan_stride = round_up(phase_vol * s * s * s, kAlign);
    if (chan_stride / kAlign % 2 == 0) chan_stride += kAlign;
  }
};

struct Grid {
  int q[3] = {1, 1, 1};
  int64_t rows_per_chunk = 1;
};

Grid make_grid(const int q[3], const Source& src) {
  Grid g;
  for (int a = 0; a < 3; ++a) g.q[a] = q[a];
  g.rows_per_chunk = std::clamp<int64_t>(kChunk / src.rs, 1, q[1]);
  return g;
}

// Elements a chunk of positions spans, rounded to whole tiles.
template <class T>
int64_t chunk_span(const Grid& g, const Source& src) {
  return round_up(g.rows_per_chunk * src.rs, kTile<T>);
}

// Source buffer size: every channel, plus a zeroed tail that the last tiles may read.
template <class T>
int64_t source_size(const Source& src, const Grid& g, int64_t max_off) {
  const int64_t read_end =
      int64_t(g.q[0] - 1) * src.ps + int64_t(g.q[1]) * src.rs + kTile<T> + max_off;
  return round_up(int64_t(src.channels - 1) * src.chan_stride + std::max(src.chan_stride, read_end),
                  kAlign);
}

// Copies one sample's channels (channels, dims) into the source layout.
template <class T>
void build_source(const Source& src, const T* in, const int dims[3], T* buf, int64_t size,
                  int threads) {
  const int s = src.s, phases = s * s * s;
  const int64_t in_vol = int64_t(dims[0]) * dims[1] * dims[2];
  // One item is one (channel, x phase, x index) plane of every (y, z) phase, so each input
  // row is read once and split into its z phases while it is in L1.
  const int64_t items = int64_t(src.channels) * s * src.len[0];
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t item = 0; item < items; ++item) {
    const int ux = int(item % src.len[0]);
    const int rx = int(item / src.len[0] % s), c = int(item / src.len[0] / s);
    const int ix = s * ux + rx - src.lo[0];
    for (int ry = 0; ry < s; ++ry)
      for (int uy = 0; uy < src.len[1]; ++uy) {
        const int iy = s * uy + ry - src.lo[1];
        const bool inside = ix >= 0 && ix < dims[0] && iy >= 0 && iy < dims[1];
        const T* in_row =
            inside ? in + c * in_vol + (int64_t(ix) * dims[1] + iy) * dims[2] : nullptr;
        for (int rz = 0; rz < s; ++rz) {
          const int ph = (rx * s + ry) * s + rz;
          T* row = buf + c * src.chan_stride + ph * src.phase_vol + ux * src.ps + uy * src.rs;
          if (!inside) {
            std::fill(row, row + src.rs, T(0));
            continue;
          }
          // Columns uz with 0 <= s*uz + rz - lo < dims[2] copy, the rest are zero.
          const int shift = rz - src.lo[2];
          const int u0 = std::min(src.len[2], int(div_up(std::max(src.lo[2] - rz, 0), s)));
          const int u1 = std::clamp(int(div_up(dims[2] + src.lo[2] - rz, s)), u0, src.len[2]);
          std::fill(row, row + u0, T(0));
          if (s == 1) {
            std::copy(in_row + u0 + shift, in_row + u1 + shift, row + u0);
          } else {
            for (int uz = u0; uz < u1; ++uz) row[uz] = in_row[s * uz + shift];
          }
          std::fill(row + u1, row + src.len[2], T(0));
        }
      }
  }
  const int64_t used = int64_t(src.channels) * src.chan_stride;
  std::fill(buf + std::min(used, size), buf + size, T(0));
  // Gaps between channels (alignment padding) are read by dropped columns: keep them finite.
  for (int c = 0; c < src.channels; ++c)
    std::fill(buf + c * src.chan_stride + phases * src.phase_vol, buf + (c + 1) * src.chan_stride,
              T(0));
}

// ---- Forward-style pass: D[co][p] = sum_{c, t} W[co][c][t] * S[c][p + off[t]].
// Register tile: kCo output channels x kVecs vectors; weights are broadcast.
template <class T>
void pass_tile(const T* src, int64_t chan_stride, int channels, const int64_t* off, int taps,
               const T* wp, T* d, int64_t d_stride) {
  constexpr int L = kLanes<T>;
  Vec<T> acc[kCo][kVecs] = {};
  for (int c = 0; c < channels; ++c) {
    const T* sc = src + c * chan_stride;
    for (int t = 0; t < taps; ++t, wp += kCo) {
      const T* st = sc + off[t];
      Vec<T> x[kVecs];
#pragma GCC unroll 8
      for (int v = 0; v < kVecs; ++v) x[v] = load(st + v * L);
#pragma GCC unroll 8
      for (int v = 0; v < kVecs; ++v) __builtin_prefetch(st + 2 * kTile<T> + v * L);
#pragma GCC unroll 8
      for (int o = 0; o < kCo; ++o)
#pragma GCC unroll 8
        for (int v = 0; v < kVecs; ++v) acc[o][v] += wp[o] * x[v];
    }
  }
  for (int o = 0; o < kCo; ++o)
    for (int v = 0; v < kVecs; ++v) store(d + o * d_stride + v * L, acc[o][v]);
}

// Where a pass writes: channel o of dst, element (step*q + r) per axis of a (dims) box.
template <class T>
struct Dest {
  T* data;
  int dims[3];
  int step = 1, r[2] = {0, 0};  // r along z is per part
  const T* bias = nullptr;
};

// One z phase of a pass: its taps, packed weights [ceil(cout / kCo)][channels][taps][kCo]
// (zero-padded), the z phase it writes and how many z positions are real.
template <class T>
struct Part {
  const int64_t* off;
  int taps;
  const T* wp;
  int rz, qz;
};

// The z phases of a pass share its chunks, so each output row is written whole, once.
constexpr int kMaxParts = 2;

template <class T>
struct Pass {
  const T* src;
  const Source* source;
  int cout;
  Grid grid;
  Dest<T> dst;
  int parts = 1;
  Part<T> part[kMaxParts] = {};
};

template <class T>
int64_t pass_scratch(int64_t span, int cout) {
  return kMaxParts * span * div_up(cout, kCo) * kCo;
}

template <class T>
void run_pass(const Pass<T>& pp, T* dbuf, int threads) {
  const Source& sr = *pp.source;
  const Grid& g = pp.grid;
  const int64_t span = chunk_span<T>(g, sr);
  const int64_t ychunks = div_up(g.q[1], g.rows_per_chunk);
  const int64_t items = int64_t(g.q[0]) * ychunks;
  const int blocks = int(div_up(pp.cout, kCo));
  const int64_t part_size = span * blocks * kCo;
  const Dest<T>& ds = pp.dst;
  const int64_t dvol = int64_t(ds.dims[0]) * ds.dims[1] * ds.dims[2];
#pragma omp parallel num_threads(threads)
  {
    T* d = dbuf + omp_get_thread_num() * pass_scratch<T>(span, pp.cout);
#pragma omp for schedule(dynamic)
    for (int64_t item = 0; item < items; ++item) {
      const int qx = int(item / ychunks);
      const int y0 = int(item % ychunks * g.rows_per_chunk);
      const int rows = int(std::min<int64_t>(g.rows_per_chunk, g.q[1] - y0));
      const int64_t p0 = qx * sr.ps + y0 * sr.rs;
      const int64_t len = round_up(rows * sr.rs, kTile<T>);
      for (int k = 0; k < pp.parts; ++k) {
        const Part<T>& pt = pp.part[k];
        const int64_t wblock = int64_t(sr.channels) * pt.taps * kCo;
        for (int b = 0; b < blocks; ++b)
          for (int64_t p = 0; p < len; p += kTile<T>)
            pass_tile(pp.src + p0 + p, sr.chan_stride, sr.channels, pt.off, pt.taps,
                      pt.wp + b * wblock, d + k * part_size + b * kCo * span + p, span);
      }
      const int ox = ds.step * qx + ds.r[0];
      for (int o = 0; o < pp.cout; ++o) {
        const T bias = ds.bias ? ds.bias[o] : T(0);
        for (int j = 0; j < rows; ++j) {
          const int oy = ds.step * (y0 + j) + ds.r[1];
          T* out = ds.data + o * dvol + (int64_t(ox) * ds.dims[1] + oy) * ds.dims[2];
          for (int k = 0; k < pp.parts; ++k) {
            const T* in = d + k * part_size + o * span + j * sr.rs;
            const Part<T>& pt = pp.part[k];
            if (ds.step == 1) {
              for (int z = 0; z < pt.qz; ++z) out[z] = in[z] + bias;
            } else {
              for (int z = 0; z < pt.qz; ++z) out[z * ds.step + pt.rz] = in[z] + bias;
            }
          }
        }
      }
    }
  }
}

// ---- The forward geometry: padded, phase-split input; tap (kx,ky,kz) reads phase
// (kx%s, ky%s, kz%s) at shift (kx/s, ky/s, kz/s).
struct ForwardPlan {
  Source src;
  Grid grid;
  std::vector<int64_t> off;  // PyTorch tap order (kx, ky, kz)
  int64_t max_off = 0;
};

ForwardPlan forward_plan(const Conv3dShape& sh) {
  ForwardPlan f;
  const int s = sh.stride, k = sh.k;
  f.src.s = s;
  f.src.channels = sh.cin;
  for (int a = 0; a < 3; ++a) {
    f.src.lo[a] = sh.pad;
    f.src.len[a] = int(div_up(sh.in[a] + 2 * sh.pad, s));
  }
  f.src.finish();
  const int q[3] = {sh.out(0), sh.out(1), sh.out(2)};
  f.grid = make_grid(q, f.src);
  for (int kx = 0; kx < k; ++kx)
    for (int ky = 0; ky < k; ++ky)
      for (int kz = 0; kz < k; ++kz) {
        const int ph = ((kx % s) * s + ky % s) * s + kz % s;
        const int64_t o = ph * f.src.phase_vol + (kx / s) * f.src.ps + (ky / s) * f.src.rs + kz / s;
        f.off.push_back(o);
        f.max_off = std::max(f.max_off, o);
      }
  return f;
}

// ---- The data-gradient geometry. Along an axis, input i = s*q + r receives gy[q + d] w[kk]
// for every tap with (r + pad - kk) divisible by s, d = (r + pad - kk) / s. gy is padded by
// `lo` below and up to `len` above so that every d is a constant offset.
struct DataAxis {
  int lo = 0, len = 0;
  std::vector<int> q;                       // per phase r: outputs i = s*q + r below n
  std::vector<std::vector<int>> kk, shift;  // per phase r: taps and their offsets d + lo
};

DataAxis data_axis(const Conv3dShape& sh, int a) {
  DataAxis ax;
  const int s = sh.stride, m = sh.out(a);
  int dmin = 0, dmax = 0;
  for (int r = 0; r < s; ++r)
    for (int kk = 0; kk < sh.k; ++kk)
      if ((r + sh.pad - kk) % s == 0) {
        const int d = (r + sh.pad - kk) / s;
        dmin = std::min(dmin, d);
        dmax = std::max(dmax, d);
      }
  ax.lo = -dmin;
  ax.len = ax.lo + m;
  ax.q.resize(s);
  ax.kk.resize(s);
  ax.shift.resize(s);
  for (int r = 0; r < s; ++r) {
    ax.q[r] = int(div_up(std::max(sh.in[a] - r, 0), s));
    ax.len = std::max(ax.len, ax.q[r] + ax.lo + dmax);
    for (int kk = 0; kk < sh.k; ++kk)
      if ((r + sh.pad - kk) % s == 0) {
        ax.kk[r].push_back(kk);
        ax.shift[r].push_back((r + sh.pad - kk) / s + ax.lo);
      }
  }
  return ax;
}

struct DataPart {
  int rz, qz;
  std::vector<int64_t> off;
  std::vector<int> tap;  // PyTorch tap index of each offset
  int64_t wp_at = 0;     // start of this part's packed weights
};

// The inputs with x phase rx and y phase ry; one part per z phase.
struct DataGroup {
  int rx, ry;
  Grid grid;
  std::vector<DataPart> parts;
};

struct DataPlan {
  Source src;
  std::vector<DataGroup> groups;
  int64_t source_size = 0, span = 0, wp_size = 0;
};

template <class T>
DataPlan data_plan(const Conv3dShape& sh) {
  DataPlan dp;
  DataAxis ax[3] = {data_axis(sh, 0), data_axis(sh, 1), data_axis(sh, 2)};
  dp.src.channels = sh.cout;
  for (int a = 0; a < 3; ++a) {
    dp.src.lo[a] = ax[a].lo;
    dp.src.len[a] = ax[a].len;
  }
  dp.src.finish();
  const int s = sh.stride;
  for (int rx = 0; rx < s; ++rx)
    for (int ry = 0; ry < s; ++ry) {
      DataGroup gr{rx, ry, {}, {}};
      const int q[3] = {ax[0].q[rx], ax[1].q[ry], ax[2].q[0]};
      if (q[0] == 0 || q[1] == 0) continue;
      gr.grid = make_grid(q, dp.src);
      dp.span = std::max(dp.span, chunk_span<T>(gr.grid, dp.src));
      for (int rz = 0; rz < s; ++rz) {
        DataPart pt{rz, ax[2].q[rz], {}, {}, dp.wp_size};
        if (pt.qz == 0) continue;
        int64_t max_off = 0;
        for (size_t i = 0; i < ax[0].kk[rx].size(); ++i)
          for (size_t j = 0; j < ax[1].kk[ry].size(); ++j)
            for (size_t l = 0; l < ax[2].kk[rz].size(); ++l) {
              const int64_t o = ax[0].shift[rx][i] * dp.src.ps + ax[1].shift[ry][j] * dp.src.rs +
                                ax[2].shift[rz][l];
              pt.off.push_back(o);
              pt.tap.push_back((ax[0].kk[rx][i] * sh.k + ax[1].kk[ry][j]) * sh.k + ax[2].kk[rz][l]);
              max_off = std::max(max_off, o);
            }
        dp.wp_size += div_up(sh.cin, kCo) * kCo * int64_t(sh.cout) * int64_t(pt.off.size());
        dp.source_size = std::max(dp.source_size, source_size<T>(dp.src, gr.grid, max_off));
        gr.parts.push_back(std::move(pt));
      }
      dp.groups.push_back(std::move(gr));
    }
  dp.wp_size = round_up(dp.wp_size, kAlign);
  return dp;
}

// Packs weights for a pass: wp[b][c][t][o] = weight(out channel b*kCo+o, source channel c, tap t).
template <class T, class W>
void pack(T* wp, int cout, int channels, int taps, W weight) {
  const int blocks = int(div_up(cout, kCo));
  for (int b = 0; b < blocks; ++b)
    for (int c = 0; c < channels; ++c)
      for (int t = 0; t < taps; ++t)
        for (int o = 0; o < kCo; ++o, ++wp) {
          const int co = b * kCo + o;
          *wp = co < cout ? weight(co, c, t) : T(0);
        }
}

// ---- Weight gradient tile: acc[o][t] += G[o][p] * S[p + off[t]] over a chunk, then reduced
// across lanes and added to the thread's partial sums.
template <class T, int BT>
void wgrad_tile(const T* g, int64_t g_stride, const T* src, const int64_t* off, int64_t len,
                T* part, int64_t part_stride) {
  constexpr int L = kLanes<T>;
  Vec<T> acc[kWgCo][BT] = {};
  for (int64_t p = 0; p < len; p += L) {
    Vec<T> gv[kWgCo];
#pragma GCC unroll 8
    for (int o = 0; o < kWgCo; ++o) gv[o] = load(g + o * g_stride + p);
#pragma GCC unroll 8
    for (int t = 0; t < BT; ++t) {
      const Vec<T> x = load(src + p + off[t]);
#pragma GCC unroll 8
      for (int o = 0; o < kWgCo; ++o) acc[o][t] += gv[o] * x;
    }
  }
  for (int o = 0; o < kWgCo; ++o)
    for (int t = 0; t < BT; ++t) {
      T sum = 0;
      for (int l = 0; l < L; ++l) sum += acc[o][t][l];
      part[o * part_stride + t] += sum;
    }
}

struct WeightLayout {
  ForwardPlan f;
  int64_t source = 0, span = 0, cout4 = 0, part = 0, g = 0;
};

template <class T>
WeightLayout weight_layout(const Conv3dShape& sh) {
  WeightLayout wl{forward_plan(sh)};
  wl.source = source_size<T>(wl.f.src, wl.f.grid, wl.f.max_off);
  wl.span = chunk_span<T>(wl.f.grid, wl.f.src);
  wl.cout4 = round_up(sh.cout, kWgCo);
  wl.part = round_up(wl.cout4 * sh.cin * sh.taps(), kAlign);
  wl.g = wl.cout4 * wl.span;
  return wl;
}

}  // namespace

// ---------------------------------------------------------------------------------------
template <class T>
int64_t conv3d_forward_scratch(const Conv3dShape& sh, int threads) {
  const ForwardPlan f = forward_plan(sh);
  const int64_t wp = round_up(div_up(sh.cout, kCo) * kCo * int64_t(sh.cin) * sh.taps(), kAlign);
  return wp + source_size<T>(f.src, f.grid, f.max_off) +
         threads * pass_scratch<T>(chunk_span<T>(f.grid, f.src), sh.cout);
}

template <class T>
void conv3d_forward(const Conv3dShape& sh, const T* x, const T* w, const T* bias, T* y, T* scratch,
                    int threads) {
  const ForwardPlan f = forward_plan(sh);
  const int taps = sh.taps();
  T* wp = scratch;
  T* src = wp + round_up(div_up(sh.cout, kCo) * kCo * int64_t(sh.cin) * taps, kAlign);
  const int64_t src_size = source_size<T>(f.src, f.grid, f.max_off);
  T* dbuf = src + src_size;
  pack(wp, sh.cout, sh.cin, taps,
       [&](int co, int ci, int t) { return w[(int64_t(co) * sh.cin + ci) * taps + t]; });
  Pass<T> pp{
      src, &f.src, sh.cout, f.grid, {nullptr, {sh.out(0), sh.out(1), sh.out(2)}, 1, {0, 0}, bias}};
  pp.part[0] = {f.off.data(), taps, wp, 0, f.grid.q[2]};
  for (int n = 0; n < sh.n; ++n) {
    build_source(f.src, x + n * int64_t(sh.cin) * sh.in_volume(), sh.in, src, src_size, threads);
    pp.dst.data = y + n * int64_t(sh.cout) * sh.out_volume();
    run_pass(pp, dbuf, threads);
  }
}

template <class T>
int64_t conv3d_backward_data_scratch(const Conv3dShape& sh, int threads) {
  const DataPlan dp = data_plan<T>(sh);
  return dp.wp_size + dp.source_size + threads * pass_scratch<T>(dp.span, sh.cin);
}

template <class T>
void conv3d_backward_data(const Conv3dShape& sh, const T* gy, const T* w, T* gx, T* scratch,
                          int threads) {
  const DataPlan dp = data_plan<T>(sh);
  T* wp = scratch;
  T* src = wp + dp.wp_size;
  T* dbuf = src + dp.source_size;
  const int taps = sh.taps();
  for (const DataGroup& gr : dp.groups)
    for (const DataPart& pt : gr.parts)
      pack(wp + pt.wp_at, sh.cin, sh.cout, int(pt.off.size()), [&](int ci, int co, int t) {
        return w[(int64_t(co) * sh.cin + ci) * taps + pt.tap[size_t(t)]];
      });
  const int out_dims[3] = {sh.out(0), sh.out(1), sh.out(2)};
  // Phases without taps still run: they write the zeros those inputs' gradients are.
  for (int n = 0; n < sh.n; ++n) {
    build_source(dp.src, gy + n * int64_t(sh.cout) * sh.out_volume(), out_dims, src, dp.source_size,
                 threads);
    for (const DataGroup& gr : dp.groups) {
      Pass<T> pp{src,
                 &dp.src,
                 sh.cin,
                 gr.grid,
                 {gx + n * int64_t(sh.cin) * sh.in_volume(),
                  {sh.in[0], sh.in[1], sh.in[2]},
                  sh.stride,
                  {gr.rx, gr.ry},
                  nullptr}};
      pp.parts = int(gr.parts.size());
      for (int k = 0; k < pp.parts; ++k) {
        const DataPart& pt = gr.parts[size_t(k)];
        pp.part[k] = {pt.off.data(), int(pt.off.size()), wp + pt.wp_at, pt.rz, pt.qz};
      }
      run_pass(pp, dbuf, threads);
    }
  }
}

template <class T>
int64_t conv3d_backward_weight_scratch(const Conv3dShape& sh, int threads) {
  const WeightLayout wl = weight_layout<T>(sh);
  return wl.source + threads * (wl.part + wl.g);
}

template <class T>
void conv3d_backward_weight(const Conv3dShape& sh, const T* x, const T* gy, T* gw, T* scratch,
                            int threads) {
  const WeightLayout wl = weight_layout<T>(sh);
  const ForwardPlan& f = wl.f;
  const Grid& g = f.grid;
  const int taps = sh.taps();
  T* src = scratch;
  T* parts = src + wl.source;
  T* gbufs = parts + threads * wl.part;
  std::fill(parts, parts + threads * wl.part, T(0));
  const int64_t ychunks = div_up(g.q[1], g.rows_per_chunk);
  const int64_t items = int64_t(g.q[0]) * ychunks;
  const int64_t ovol = sh.out_volume();
  // Tiles run over (input channel, tap) pairs, so 1x1 kernels fill them too.
  const int64_t part_co = int64_t(sh.cin) * taps;
  std::vector<int64_t> pair_off(static_cast<size_t>(part_co));
  for (int ci = 0; ci < sh.cin; ++ci)
    for (int t = 0; t < taps; ++t)
      pair_off[size_t(ci * taps + t)] = ci * f.src.chan_stride + f.off[size_t(t)];
  for (int n = 0; n < sh.n; ++n) {
    build_source(f.src, x + n * int64_t(sh.cin) * sh.in_volume(), sh.in, src, wl.source, threads);
    const T* gyn = gy + n * int64_t(sh.cout) * ovol;
#pragma omp parallel num_threads(threads)
    {
      T* part = parts + omp_get_thread_num() * wl.part;
      T* gb = gbufs + omp_get_thread_num() * wl.g;
      // Static schedule: each thread's sums run in a fixed order, so results reproduce.
#pragma omp for schedule(static)
      for (int64_t item = 0; item < items; ++item) {
        const int qx = int(item / ychunks);
        const int y0 = int(item % ychunks * g.rows_per_chunk);
        const int rows = int(std::min<int64_t>(g.rows_per_chunk, g.q[1] - y0));
        const int64_t p0 = qx * f.src.ps + y0 * f.src.rs;
        const int64_t len = round_up(rows * f.src.rs, kTile<T>);
        // gy of this chunk in the position grid, zero on the dropped columns and channels.
        std::fill(gb, gb + wl.g, T(0));
        for (int o = 0; o < sh.cout; ++o)
          for (int j = 0; j < rows; ++j) {
            const T* in = gyn + o * ovol + (int64_t(qx) * g.q[1] + y0 + j) * g.q[2];
            std::copy(in, in + g.q[2], gb + o * wl.span + j * f.src.rs);
          }
        // Output channels outer: a block's gy rows stay in L1 while the pairs sweep by.
        for (int64_t o = 0; o < wl.cout4; o += kWgCo)
          for (int64_t j = 0; j < part_co; j += kWgTaps) {
            T* pc = part + o * part_co + j;
            const T* go = gb + o * wl.span;
            if (j + kWgTaps <= part_co) {
              wgrad_tile<T, kWgTaps>(go, wl.span, src + p0, pair_off.data() + j, len, pc, part_co);
            } else {
              for (int64_t i = j; i < part_co; ++i)
                wgrad_tile<T, 1>(go, wl.span, src + p0, pair_off.data() + i, len, pc + (i - j),
                                 part_co);
            }
          }
      }
    }
  }
  // Fixed-order reduction of the per-thread sums.
  const int64_t count = sh.w_numel();
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    T sum = 0;
    for (int th = 0; th < threads; ++th) sum += parts[th * wl.part + i];
    gw[i] = sum;
  }
}

template <class T>
void conv3d_backward_bias(const Conv3dShape& sh, const T* gy, T* gb) {
  const int64_t vol = sh.out_volume();
#pragma omp parallel for schedule(static)
  for (int o = 0; o < sh.cout; ++o) {
    double sum = 0;
    for (int n = 0; n < sh.n; ++n) {
      const T* p = gy + (int64_t(n) * sh.cout + o) * vol;
      for (int64_t i = 0; i < vol; ++i) sum += p[i];
    }
    gb[o] = T(sum);
  }
}

#define FDL_INSTANTIATE(T)                                                                        \
  template int64_t conv3d_forward_scratch<T>(const Conv3dShape&, int);                            \
  template void conv3d_forward<T>(const Conv3dShape&, const T*, const T*, const T*, T*, T*, int); \
  template int64_t conv3d_backward_data_scratch<T>(const Conv3dShape&, int);                      \
  template void conv3d_backward_data<T>(const Conv3dShape&, const T*, const T*, T*, T*, int);     \
  template int64_t conv3d_backward_weight_scratch<T>(const Conv3dShape&, int);                    \
  template void conv3d_backward_weight<T>(const Conv3dShape&, const T*, const T*, T*, T*, int);   \
  template void conv3d_backward_bias<T>(const Conv3dShape&, const T*, T*);
FDL_INSTANTIATE(float)
FDL_INSTANTIATE(double)
#undef FDL_INSTANTIATE

}  // namespace fdl::kernels::cpu
