#include "kernels/cpu/warp.h"

#include <algorithm>
#include <cmath>

namespace fdl::kernels::cpu {

namespace {

// Below this many output voxels, a parallel region costs more than it saves.
constexpr int64_t kParallelMin = 1 << 14;

// The eight corners around a source coordinate, corner k = 4 bx + 2 by + bz at offset
// (bx, by, bz): flat input offsets, trilinear weights ((wx wy) wz), and whether each lies
// inside the input. Corners outside get offset 0 and, for the image, weight 0.
struct Corners {
  int64_t off[8];
  float w[8], w_image[8];
  bool in[8];
};

// False when q is outside (-1, n) on some axis (or NaN): then no corner is inside.
bool corners(const double q[3], const int64_t n[3], Corners& c) {
  int64_t i[3];
  float t[3];
  for (int a = 0; a < 3; ++a) {
    if (!(q[a] > -1.0 && q[a] < double(n[a]))) return false;
    const double f = std::floor(q[a]);
    i[a] = int64_t(f);
    t[a] = float(q[a] - f);
  }
  const float wx[2] = {1.0f - t[0], t[0]}, wy[2] = {1.0f - t[1], t[1]}, wz[2] = {1.0f - t[2], t[2]};
  const bool vx[2] = {i[0] >= 0, i[0] + 1 < n[0]}, vy[2] = {i[1] >= 0, i[1] + 1 < n[1]},
             vz[2] = {i[2] >= 0, i[2] + 1 < n[2]};
  const int64_t ox[2] = {i[0] * n[1] * n[2], (i[0] + 1) * n[1] * n[2]},
                oy[2] = {i[1] * n[2], (i[1] + 1) * n[2]}, oz[2] = {i[2], i[2] + 1};
  for (int k = 0; k < 8; ++k) {
    const int bx = k >> 2, by = (k >> 1) & 1, bz = k & 1;
    const bool in = vx[bx] && vy[by] && vz[bz];
    c.in[k] = in;
    c.w[k] = wx[bx] * wy[by] * wz[bz];
    c.w_image[k] = in ? c.w[k] : 0.0f;
    c.off[k] = in ? ox[bx] + oy[by] + oz[bz] : 0;
  }
  return true;
}

// The class with the largest summed weight among the corners' classes, ties to the lower.
int32_t vote(const int32_t cls[8], const float w[8]) {
  bool same = true;
  for (int k = 1; k < 8; ++k) same = same && cls[k] == cls[0];
  if (same) return cls[0];
  int32_t best = cls[0];
  float best_w = -1;
  for (int k = 0; k < 8; ++k) {
    bool seen = false;
    for (int j = 0; j < k; ++j) seen = seen || cls[j] == cls[k];
    if (seen) continue;
    float sum = 0;
    for (int j = k; j < 8; ++j) sum += cls[j] == cls[k] ? w[j] : 0.0f;
    if (sum > best_w || (sum == best_w && cls[k] < best)) best = cls[k], best_w = sum;
  }
  return best;
}

// True when the map only mirrors axes about the centre of the grid. Every output voxel then
// reads one input voxel with weight 1, so copying it gives the same value, faster, and keeps
// even the sign of a zero (so mirroring twice is the identity, bit for bit).
bool pure_mirror(const WarpMap& m, const int64_t n[3]) {
  if (m.displacement) return false;
  for (int a = 0; a < 3; ++a) {
    if (m.centre[a] != double(n[a] - 1) / 2) return false;
    for (int b = 0; b < 3; ++b)
      if (a == b ? std::abs(m.a[a][b]) != 1 : m.a[a][b] != 0) return false;
  }
  return true;
}

template <class T>
void copy_row(const T* src, T* dst, int64_t Z, bool reversed) {
  if (reversed)
    std::reverse_copy(src, src + Z, dst);
  else
    std::copy_n(src, Z, dst);
}

void mirror(const float* image, int64_t nc, const int32_t* label, float* out_image,
            int32_t* out_label, const int64_t n[3], const WarpMap& m) {
  const int64_t X = n[0], Y = n[1], Z = n[2], vol = X * Y * Z;
  const bool fz = m.a[2][2] < 0;
#pragma omp parallel for collapse(2) schedule(static) if (vol * (nc + 1) > kParallelMin)
  for (int64_t x = 0; x < X; ++x) {
    for (int64_t y = 0; y < Y; ++y) {
      const int64_t sx = m.a[0][0] < 0 ? X - 1 - x : x, sy = m.a[1][1] < 0 ? Y - 1 - y : y;
      const int64_t dst = (x * Y + y) * Z, src = (sx * Y + sy) * Z;
      for (int64_t ch = 0; ch < nc; ++ch)
        copy_row(image + ch * vol + src, out_image + ch * vol + dst, Z, fz);
      copy_row(label + src, out_label + dst, Z, fz);
    }
  }
}

}  // namespace

void warp(const float* image, int64_t nc, const int32_t* label, float* out_image,
          int32_t* out_label, int64_t X, int64_t Y, int64_t Z, const WarpMap& m) {
  const int64_t n[3] = {X, Y, Z}, vol = X * Y * Z;
  if (pure_mirror(m, n)) return mirror(image, nc, label, out_image, out_label, n, m);
  const float* d = m.displacement;
  // Rows (x, y) are the unit of work, so which thread takes a row never changes its bits.
#pragma omp parallel for collapse(2) schedule(static) if (vol * (nc + 1) > kParallelMin)
  for (int64_t x = 0; x < X; ++x) {
    for (int64_t y = 0; y < Y; ++y) {
      const int64_t row = (x * Y + y) * Z;
      for (int64_t z = 0; z < Z; ++z) {
        const int64_t o = row + z;
        double p[3] = {double(x) - m.centre[0], double(y) - m.centre[1], double(z) - m.centre[2]};
        if (d)
          for (int a = 0; a < 3; ++a) p[a] += double(d[a * vol + o]);
        double q[3];
        for (int a = 0; a < 3; ++a)
          q[a] = m.centre[a] + m.a[a][0] * p[0] + m.a[a][1] * p[1] + m.a[a][2] * p[2];
        Corners c;
        if (!corners(q, n, c)) {
          for (int64_t ch = 0; ch < nc; ++ch) out_image[ch * vol + o] = 0;
          out_label[o] = 0;
          continue;
        }
        for (int64_t ch = 0; ch < nc; ++ch) {
          const float* v = image + ch * vol;
          float t[8];
          for (int k = 0; k < 8; ++k) t[k] = c.w_image[k] * v[c.off[k]];
          // A tree, not a chain of eight dependent adds: the loads overlap.
          out_image[ch * vol + o] =
              ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
        }
        int32_t cls[8];
        for (int k = 0; k < 8; ++k) cls[k] = c.in[k] ? label[c.off[k]] : 0;
        out_label[o] = vote(cls, c.w);
      }
    }
  }
}

}  // namespace fdl::kernels::cpu
