// The emulator's PTX: cvt.rna.tf32.f32 against an arithmetic reference, and
// mma.sync.m16n8k8 tf32 through the PTX ISA's fragment layout against a float64 product.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "kernels/common/ptx.h"
#include "tests/emu/emu_test.h"

namespace fdl::emu_test {
namespace {

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// cvt.rna.tf32.f32 by arithmetic rather than bit tricks: TF32 has FP32's exponent range and
// 10 explicit mantissa bits, so near |x| its values are spaced 2^(e-10), e being the
// exponent of |x| but at least -126 (below it both formats are subnormal with fixed
// spacing). Round |x| to that spacing, ties up (away from zero); past the largest TF32
// value, (2 - 2^-10) * 2^127, that gives 2^128, which is infinity. Finite x only.
uint32_t tf32_reference(float x) {
  const double m = std::fabs(double(x));
  if (m == 0) return bits_of(x);
  int e2 = 0;
  std::frexp(m, &e2);  // m = f * 2^e2, f in [0.5, 1): the exponent of m is e2 - 1
  const double spacing = std::ldexp(1.0, std::max(e2 - 1, -126) - 10);
  const double r = std::floor(m / spacing + 0.5) * spacing;  // exact in double
  const float f = r >= std::ldexp(1.0, 128) ? std::numeric_limits<float>::infinity() : float(r);
  return bits_of(std::copysign(f, x));
}

__global__ void convert(const float* in, uint32_t* out, int n) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) out[i] = ptx::cvt_rna_tf32(in[i]);
}

std::vector<uint32_t> convert_on_device(const std::vector<float>& x) {
  DeviceBuffer<float> in(x);
  DeviceBuffer<uint32_t> out(x.size(), 0u);
  const int n = int(x.size());
  REQUIRE(launch("convert", convert, unsigned((n + 255) / 256), 256, 0, in.get(), out.get(), n) ==
          cudaSuccess);
  return out.host();
}

TEST_CASE("emu ptx: cvt.rna.tf32 rounds to nearest with ties away from zero") {
  const float one = 1.0f, ulp10 = std::ldexp(1.0f, -10), half = std::ldexp(1.0f, -11);
  const float denorm_spacing = std::ldexp(1.0f, -136);  // TF32's smallest subnormal
  struct Case {
    float x, want;
  };
  const Case cases[] = {
      {one, one},
      {one + half, one + ulp10},                  // tie: away, not to even
      {-(one + half), -(one + ulp10)},            // tie, negative
      {one + half - std::ldexp(1.0f, -23), one},  // just below the tie
      {one + ulp10 + half, one + 2 * ulp10},      // tie from an odd mantissa
      {2.0f - half, 2.0f},                        // carries into the exponent
      {-(2.0f - half), -2.0f},
      {std::numeric_limits<float>::max(), std::numeric_limits<float>::infinity()},
      {std::ldexp(1.0f, -149), 0.0f},                 // smallest subnormal: down
      {denorm_spacing / 2, denorm_spacing},           // subnormal tie: up
      {-denorm_spacing * 1.5f, -denorm_spacing * 2},  // subnormal tie, negative
      {std::ldexp(1.0f, -126) - denorm_spacing / 2, std::ldexp(1.0f, -126)},  // into the normals
      {-0.0f, -0.0f},
      {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity()},
      {-std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()},
  };
  std::vector<float> x;
  for (const Case& c : cases) x.push_back(c.x);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  x.push_back(nan);
  x.push_back(-nan);
  const std::vector<uint32_t> got = convert_on_device(x);
  for (size_t i = 0; i < std::size(cases); ++i) {
    INFO("x = ", cases[i].x, " (bits ", bits_of(cases[i].x), ")");
    CHECK(got[i] == bits_of(cases[i].want));
    if (std::isfinite(cases[i].x)) CHECK(tf32_reference(cases[i].x) == bits_of(cases[i].want));
  }
  // A NaN stays a NaN, also once the mma has dropped its 13 low bits.
  for (size_t i = std::size(cases); i < x.size(); ++i) {
    CHECK(std::isnan(float_of(got[i])));
    CHECK(std::isnan(float_of(got[i] & 0xffffe000u)));
  }
}

TEST_CASE("emu ptx: cvt.rna.tf32 of random bit patterns matches the arithmetic reference") {
  std::mt19937 gen(20240607);
  std::vector<float> x;
  while (x.size() < (1u << 16)) {
    const float f = float_of(uint32_t(gen()));
    if (std::isfinite(f)) x.push_back(f);
  }
  const std::vector<uint32_t> got = convert_on_device(x);
  int wrong = 0, low_bits = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    wrong += got[i] != tf32_reference(x[i]);
    low_bits += (got[i] & 0x1fffu) != 0;
  }
  CHECK(wrong == 0);
  CHECK(low_bits == 0);
}

// PTX ISA, "Matrix Fragments for mma.m16n8k8", .tf32 multiplicands and .f32 accumulators;
// g = laneid >> 2 (groupID), q = laneid % 4 (threadID_in_group):
//   A (16 x 8, row major): a0 (g, q), a1 (g + 8, q), a2 (g, q + 4), a3 (g + 8, q + 4)
//   B (8 x 8):             b0 (q, g), b1 (q + 4, g)
//   C, D (16 x 8):         c0 (g, 2q), c1 (g, 2q + 1), c2 (g + 8, 2q), c3 (g + 8, 2q + 1)
// Written here from the ISA, apart from the emulator's and the kernels' own maps.
constexpr int kA = 16 * 8, kB = 8 * 8, kC = 16 * 8;
struct RowCol {
  int row, col;
};
RowCol a_frag(int lane, int i) {
  const int g = lane >> 2, q = lane % 4;
  const RowCol rc[4] = {{g, q}, {g + 8, q}, {g, q + 4}, {g + 8, q + 4}};
  return rc[i];
}
RowCol b_frag(int lane, int i) {
  const int g = lane >> 2, q = lane % 4;
  return i == 0 ? RowCol{q, g} : RowCol{q + 4, g};
}
RowCol c_frag(int lane, int i) {
  const int g = lane >> 2, q = lane % 4;
  const RowCol rc[4] = {{g, 2 * q}, {g, 2 * q + 1}, {g + 8, 2 * q}, {g + 8, 2 * q + 1}};
  return rc[i];
}

// Each warp multiplies its own matrices (A row major 16 x 8, B row major 8 x 8, C 16 x 8),
// so a product that mixed warps would be wrong.
__global__ void mma(const float* A, const float* B, const float* C, float* D) {
  const int lane = int(threadIdx.x % 32), w = int(threadIdx.x / 32);
  A += w * kA, B += w * kB, C += w * kC, D += w * kC;
  uint32_t a[4], b[2];
  float d[4];
  for (int i = 0; i < 4; ++i) {
    const RowCol p = a_frag(lane, i);
    a[i] = ptx::cvt_rna_tf32(A[p.row * 8 + p.col]);
  }
  for (int i = 0; i < 2; ++i) {
    const RowCol p = b_frag(lane, i);
    b[i] = ptx::cvt_rna_tf32(B[p.row * 8 + p.col]);
  }
  for (int i = 0; i < 4; ++i) {
    const RowCol p = c_frag(lane, i);
    d[i] = C[p.row * 8 + p.col];
  }
  ptx::mma_m16n8k8_tf32(d, a, b);
  for (int i = 0; i < 4; ++i) {
    const RowCol p = c_frag(lane, i);
    D[p.row * 8 + p.col] = d[i];
  }
}

TEST_CASE("emu ptx: mma.m16n8k8 tf32 through the ISA's fragment layout is A times B plus C") {
  constexpr int kWarps = 2;
  std::mt19937 gen(99);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  std::vector<float> A(kWarps * kA), B(kWarps * kB), C(kWarps * kC);
  for (float& v : A) v = u(gen);
  for (float& v : B) v = u(gen);
  for (float& v : C) v = u(gen);
  DeviceBuffer<float> dA(A), dB(B), dC(C), dD(kWarps * kC, 0.0f);
  REQUIRE(launch("mma", mma, 1, 32 * kWarps, 0, dA.get(), dB.get(), dC.get(), dD.get()) ==
          cudaSuccess);
  const std::vector<float> D = dD.host();
  // The operands are rounded to TF32 (11 significant bits), so each product is exact in
  // FP32 (22 bits); only the sum of C and the 8 products rounds, at most once per addition,
  // in whatever order the hardware adds (the ISA leaves it open). 8 additions of partial sums
  // bounded by S = |c| + sum |a b|, each off by under 2^-23 of its value (that covers
  // truncation as well as rounding), leave |D - exact| <= 8 * 2^-23 * S.
  int wrong = 0;
  double worst = 0;
  for (int w = 0; w < kWarps; ++w)
    for (int r = 0; r < 16; ++r)
      for (int c = 0; c < 8; ++c) {
        double exact = C[size_t(w * kC + r * 8 + c)], S = std::fabs(exact);
        for (int k = 0; k < 8; ++k) {
          const double p = double(float_of(tf32_reference(A[size_t(w * kA + r * 8 + k)]))) *
                           double(float_of(tf32_reference(B[size_t(w * kB + k * 8 + c)])));
          exact += p;
          S += std::fabs(p);
        }
        const double err = std::fabs(double(D[size_t(w * kC + r * 8 + c)]) - exact);
        worst = std::max(worst, err / S);
        wrong += err > 8 * std::ldexp(1.0, -23) * S;
      }
  INFO("worst error relative to the sum of magnitudes: ", worst);
  CHECK(wrong == 0);
}

__global__ void mma_half_warp(float* D) {
  float d[4] = {0, 0, 0, 0};
  const uint32_t a[4] = {0, 0, 0, 0}, b[2] = {0, 0};
  ptx::mma_m16n8k8_tf32(d, a, b);
  D[threadIdx.x] = d[0];
}

TEST_CASE("emu ptx: an mma in a warp without 32 lanes is a fault") {
  DeviceBuffer<float> D(16, 0.0f);
  check_fault(launch("mma_half_warp", mma_half_warp, 1, 16, 0, D.get()),
              {"kernel 'mma_half_warp'", "mma.sync", "names lanes the warp does not have"});
}

}  // namespace
}  // namespace fdl::emu_test
