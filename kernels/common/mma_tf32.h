#pragma once
// The warp-level tensor-core product mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32:
// D (16x8) = A (16x8, row) * B (8x8, col) + C, FP32 accumulation. Each of the 32 lanes
// holds pieces ("fragments") of every matrix; with g = lane / 4 and q = lane % 4
// (PTX ISA, "Matrix Fragments for mma.m16n8k8", .tf32 A/B and .f32 C/D):
//   A: a0 (g, q)   a1 (g + 8, q)   a2 (g, q + 4)   a3 (g + 8, q + 4)        (row, col)
//   B: b0 (q, g)   b1 (q + 4, g)                                           (k, n)
//   C: c0 (g, 2q)  c1 (g, 2q + 1)  c2 (g + 8, 2q)  c3 (g + 8, 2q + 1)      (row, col)
// The maps below are the only place these layouts are written down; the kernel loads
// and stores fragments through them and the host tests emulate the warp with them.
#include <cstdint>
#include <cstring>

#include "kernels/common/hd.h"
#include "kernels/common/ptx.h"

namespace fdl::kernels {

FDL_HD int mma_a_row(int lane, int r) { return (lane >> 2) + 8 * (r & 1); }
FDL_HD int mma_a_col(int lane, int r) { return (lane & 3) + 4 * (r >> 1); }
FDL_HD int mma_b_row(int lane, int r) { return (lane & 3) + 4 * r; }
FDL_HD int mma_b_col(int lane, int) { return lane >> 2; }
FDL_HD int mma_c_row(int lane, int r) { return (lane >> 2) + 8 * (r >> 1); }
FDL_HD int mma_c_col(int lane, int r) { return 2 * (lane & 3) + (r & 1); }

// f rounded to TF32 (10 mantissa bits, to nearest, ties away from zero: cvt.rna), as the
// 32-bit pattern the mma reads.
FDL_HD uint32_t tf32_bits(float f) {
#if defined(FDL_DEVICE_PASS)
  return ptx::cvt_rna_tf32(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0x1000u) & 0xffffe000u;  // finite only
  return u;
#endif
}

FDL_HD float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// The whole warp's mma on the host, from all 32 lanes' fragments (for tests).
inline void mma_m16n8k8_tf32_host(float (&d)[32][4], const uint32_t (&a)[32][4],
                                  const uint32_t (&b)[32][2]) {
  float am[16][8], bm[8][8], cm[16][8];
  for (int l = 0; l < 32; ++l) {
    for (int r = 0; r < 4; ++r) am[mma_a_row(l, r)][mma_a_col(l, r)] = bits_float(a[l][r]);
    for (int r = 0; r < 2; ++r) bm[mma_b_row(l, r)][mma_b_col(l, r)] = bits_float(b[l][r]);
    for (int r = 0; r < 4; ++r) cm[mma_c_row(l, r)][mma_c_col(l, r)] = d[l][r];
  }
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 8; ++j) {
      double s = cm[i][j];
      for (int k = 0; k < 8; ++k) s += double(am[i][k]) * bm[k][j];
      cm[i][j] = float(s);
    }
  for (int l = 0; l < 32; ++l)
    for (int r = 0; r < 4; ++r) d[l][r] = cm[mma_c_row(l, r)][mma_c_col(l, r)];
}

}  // namespace fdl::kernels
