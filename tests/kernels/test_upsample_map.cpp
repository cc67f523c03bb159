// kernels/common/upsample.h, the CUDA upsample's index map: its kernels emulated on the host
// reproduce the CPU kernels bit for bit.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "kernels/common/upsample.h"
#include "kernels/cpu/upsample.h"
#include "tests/support.h"

using namespace fdl;

TEST_CASE("upsample map: forward and backward as the CUDA kernels compute them equal the CPU") {
  for (const Shape& sh :
       {Shape{2, 3, 5, 7, 9}, Shape{1, 1, 1, 1, 1}, Shape{1, 2, 1, 4, 1}, Shape{3, 1, 2, 1, 6}}) {
    CAPTURE(sh.str());
    const int64_t nc = sh[0] * sh[1], X = sh[2], Y = sh[3], Z = sh[4], n = nc * X * Y * Z;
    const kernels::Upsample2x u{Y, Z};
    const std::vector<double> xd = test::randn(sh, 71).to_vector();
    const std::vector<double> gd = test::randn({8 * n}, 72).to_vector();
    std::vector<float> x(xd.begin(), xd.end()), g(gd.begin(), gd.end());

    std::vector<float> want(size_t(8 * n)), got(size_t(8 * n), NAN);
    kernels::cpu::upsample_nearest2x_forward(x.data(), want.data(), nc, X, Y, Z);
    for (int64_t i = 0; i < n; ++i)
      for (int q = 0; q < 8; ++q) got[size_t(u.block_base(i) + u.offset(q))] = x[size_t(i)];
    CHECK(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0);

    std::vector<float> gwant(static_cast<size_t>(n)), ggot(static_cast<size_t>(n));
    kernels::cpu::upsample_nearest2x_backward(g.data(), gwant.data(), nc, X, Y, Z);
    for (int64_t i = 0; i < n; ++i) ggot[size_t(i)] = u.block_sum(g.data(), u.block_base(i));
    CHECK(std::memcmp(ggot.data(), gwant.data(), ggot.size() * sizeof(float)) == 0);
  }
}

TEST_CASE("upsample map: the 8 offsets of a block are its 2x2x2 neighbours") {
  const kernels::Upsample2x u{3, 4};  // output rows of 8, planes of 6 x 8
  const int64_t want[8] = {0, 1, 8, 9, 48, 49, 56, 57};
  for (int q = 0; q < 8; ++q) CHECK(u.offset(q) == want[q]);
  // Input (x=1, y=2, z=3) of volume 0 -> output (2, 4, 6).
  CHECK(u.block_base((1 * 3 + 2) * 4 + 3) == (2 * 6 + 4) * 8 + 6);
}
