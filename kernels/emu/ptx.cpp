#include "kernels/emu/ptx.h"

#include <cmath>
#include <cstring>

#include "kernels/emu/scheduler.h"

namespace fdl::ptx {

uint32_t cvt_rna_tf32(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) == 0x7f800000u) return u;  // Inf and NaN pass unchanged
  // Round the magnitude at bit 13 (half of the last kept bit is 0x1000): a tie goes up in
  // magnitude, i.e. away from zero; a carry into the exponent is the correct rounding,
  // up to +-Inf past the largest TF32 value.
  const uint32_t sign = u & 0x80000000u;
  const uint32_t mag = ((u & 0x7fffffffu) + 0x1000u) & 0x7fffe000u;
  return sign | mag;
}

namespace {

// PTX ISA, "Matrix Fragments for mma.m16n8k8" (.tf32 A and B, .f32 C and D), with
// groupID = lane >> 2 and threadID_in_group = lane % 4:
//   A  a0 (g, t)  a1 (g+8, t)  a2 (g, t+4)  a3 (g+8, t+4)      (row, col) of 16 x 8
//   B  b0 (t, g)  b1 (t+4, g)                                  (row, col) of 8 x 8
//   C  c0 (g, 2t) c1 (g, 2t+1) c2 (g+8, 2t) c3 (g+8, 2t+1)     (row, col) of 16 x 8
struct Pos {
  int row, col;
};
Pos a_pos(int lane, int i) {
  const int g = lane >> 2, t = lane & 3;
  switch (i) {
    case 0: return {g, t};
    case 1: return {g + 8, t};
    case 2: return {g, t + 4};
    default: return {g + 8, t + 4};
  }
}
Pos b_pos(int lane, int i) {
  const int g = lane >> 2, t = lane & 3;
  return i == 0 ? Pos{t, g} : Pos{t + 4, g};
}
Pos c_pos(int lane, int i) {
  const int g = lane >> 2, t = lane & 3;
  return {i < 2 ? g : g + 8, 2 * t + (i & 1)};
}

float operand(uint32_t bits) {
  bits &= 0xffffe000u;  // only the TF32 bits are read
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Lane words: a0..a3 in w[0..3], b0..b1 in w[4..5], d0..d3 in w[6..9]; the result's d in w[0..3].
void resolve_mma(unsigned, const emu::Lane (&in)[32], emu::Lane (&out)[32]) {
  float A[16][8], B[8][8], C[16][8];
  for (int l = 0; l < 32; ++l) {
    for (int i = 0; i < 4; ++i) {
      const Pos p = a_pos(l, i);
      A[p.row][p.col] = operand(in[l].w[i]);
    }
    for (int i = 0; i < 2; ++i) {
      const Pos p = b_pos(l, i);
      B[p.row][p.col] = operand(in[l].w[4 + i]);
    }
    for (int i = 0; i < 4; ++i) {
      const Pos p = c_pos(l, i);
      std::memcpy(&C[p.row][p.col], &in[l].w[6 + i], 4);
    }
  }
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 8; ++c)
      for (int k = 0; k < 8; ++k) C[r][c] = std::fma(A[r][k], B[k][c], C[r][c]);
  for (int l = 0; l < 32; ++l)
    for (int i = 0; i < 4; ++i) {
      const Pos p = c_pos(l, i);
      std::memcpy(&out[l].w[i], &C[p.row][p.col], 4);
    }
}

}  // namespace

void mma_m16n8k8_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  emu::Lane in{};
  std::memcpy(in.w, a, 16);
  std::memcpy(in.w + 4, b, 8);
  std::memcpy(in.w + 6, d, 16);
  const emu::Lane r = emu::warp_collective(0xffffffffu, "mma.sync.m16n8k8.tf32", in, resolve_mma);
  std::memcpy(d, r.w, 16);
}

}  // namespace fdl::ptx
