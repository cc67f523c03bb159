#pragma once
// The centre block B of a spectrum, one axis at a time: the single index map that the CPU
// and CUDA spectral kernels share (docs/method.md §2.3). It pairs index i of the small
// grid (m points) with a raw, unshifted index of the full grid (n points), so no shifted
// copy of a spectrum is ever made.
//   Shifted (the paper): B is the m frequencies nearest DC, -floor(m/2) .. ceil(m/2)-1.
//     Small raw index i has frequency i (i < ceil(m/2)) or i - m, and pairs with the full
//     raw index of the same frequency.
//   Unshifted (the release): B is the raw range [floor((n-m)/2), +m) of the unshifted
//     array (numpy's int(n/2 - m/2)); full raw index start + i pairs with small raw index i.
#include <cstdint>

#include "kernels/common/elementwise.h"  // FDL_HD

namespace fdl::kernels {

struct BlockAxis {
  int64_t n = 1;  // full size
  int64_t m = 1;  // small size, 1 <= m <= n
  bool shifted = true;

  FDL_HD int64_t start() const { return (n - m) / 2; }  // unshifted only

  // Small raw index i (0 <= i < m) -> full raw index.
  FDL_HD int64_t to_full(int64_t i) const {
    if (!shifted) return start() + i;
    const int64_t f = i < (m + 1) / 2 ? i : i - m;  // frequency of i on the small grid
    return f >= 0 ? f : f + n;
  }

  // Full raw index r (0 <= r < n) -> small raw index, or -1 when r is outside B.
  FDL_HD int64_t to_small(int64_t r) const {
    if (!shifted) {
      const int64_t i = r - start();
      return i >= 0 && i < m ? i : -1;
    }
    const int64_t f = r < (n + 1) / 2 ? r : r - n;  // frequency of r on the full grid
    if (f < -(m / 2) || f > (m + 1) / 2 - 1) return -1;
    return f >= 0 ? f : f + m;
  }
};

// (-i) mod n: the index of the conjugate-symmetric partner of i on an axis of size n.
FDL_HD int64_t mirror_index(int64_t i, int64_t n) { return i == 0 ? 0 : n - i; }

// The block on all three axes of a (X, Y, Z) grid.
struct Block3 {
  BlockAxis a[3];
  FDL_HD int64_t full_numel() const { return a[0].n * a[1].n * a[2].n; }
  FDL_HD int64_t small_numel() const { return a[0].m * a[1].m * a[2].m; }
  FDL_HD bool contains(int64_t r0, int64_t r1, int64_t r2) const {
    return a[0].to_small(r0) >= 0 && a[1].to_small(r1) >= 0 && a[2].to_small(r2) >= 0;
  }
};

// ---- Per-element bodies of the spectral kernels, shared by the CPU and CUDA loops.
// Spectra are half spectra of real volumes, as R2C transforms give them: (d0, d1, d2/2+1)
// complex values stored as interleaved (re, im) pairs, last axis fastest. An element
// outside the stored half is read through Hermitian symmetry, S[k] = conj(S[-k]).
// Every output is the half spectrum of Hermitian part (Y[k] + conj(Y[-k])) / 2 of the
// spectrum Y we mean, because for any Y, Re(IFFT(Y)) = IFFT(that Hermitian part), and a
// C2R transform of it gives Re(IFFT(Y)) exactly (docs/method.md §2.4: imaginary parts dropped).

template <class T>
struct Cx {
  T re, im;
};

template <class T>
FDL_HD Cx<T> load_hermitian(const T* half, int64_t d0, int64_t d1, int64_t d2, int64_t r0,
                            int64_t r1, int64_t r2) {
  const int64_t h2 = d2 / 2 + 1;
  if (r2 < h2) {
    const T* p = half + 2 * ((r0 * d1 + r1) * h2 + r2);
    return {p[0], p[1]};
  }
  const T* p = half + 2 * ((mirror_index(r0, d0) * d1 + mirror_index(r1, d1)) * h2 + (d2 - r2));
  return {p[0], -p[1]};
}

// Crop: small-grid half-spectrum element (i0, i1, i2) of scale * Herm(S[B]).
template <class T>
FDL_HD Cx<T> crop_element(const T* full, const Block3& b, int64_t i0, int64_t i1, int64_t i2,
                          T scale) {
  const BlockAxis& x = b.a[0];
  const BlockAxis& y = b.a[1];
  const BlockAxis& z = b.a[2];
  const Cx<T> p = load_hermitian(full, x.n, y.n, z.n, x.to_full(i0), y.to_full(i1), z.to_full(i2));
  const Cx<T> q =
      load_hermitian(full, x.n, y.n, z.n, x.to_full(mirror_index(i0, x.m)),
                     y.to_full(mirror_index(i1, y.m)), z.to_full(mirror_index(i2, z.m)));
  const T h = T(0.5) * scale;
  return {h * (p.re + q.re), h * (p.im - q.im)};
}

// Mask: the weight of full-grid element r in scale * Herm(S with B zeroed).
template <class T>
FDL_HD T mask_weight(const Block3& b, int64_t r0, int64_t r1, int64_t r2, T scale) {
  const int in = b.contains(r0, r1, r2) ? 1 : 0;
  const int in_mirror =
      b.contains(mirror_index(r0, b.a[0].n), mirror_index(r1, b.a[1].n), mirror_index(r2, b.a[2].n))
          ? 1
          : 0;
  return scale * (T(1) - T(0.5) * T(in + in_mirror));
}

// Embed: full-grid element r of scale * Herm(H with H[B] <- L), where h = H[r] and L is
// the small grid's half spectrum.
template <class T>
FDL_HD Cx<T> embed_element(Cx<T> h, const T* small, const Block3& b, int64_t r0, int64_t r1,
                           int64_t r2, T scale) {
  const BlockAxis& x = b.a[0];
  const BlockAxis& y = b.a[1];
  const BlockAxis& z = b.a[2];
  Cx<T> p = h;  // Y[r]
  if (b.contains(r0, r1, r2))
    p = load_hermitian(small, x.m, y.m, z.m, x.to_small(r0), y.to_small(r1), z.to_small(r2));
  const int64_t s0 = mirror_index(r0, x.n), s1 = mirror_index(r1, y.n), s2 = mirror_index(r2, z.n);
  Cx<T> q = {h.re, -h.im};  // Y[-r], which is conj(H[r]) outside B
  if (b.contains(s0, s1, s2))
    q = load_hermitian(small, x.m, y.m, z.m, x.to_small(s0), y.to_small(s1), z.to_small(s2));
  const T hs = T(0.5) * scale;
  return {hs * (p.re + q.re), hs * (p.im - q.im)};
}

}  // namespace fdl::kernels
