#include <doctest/doctest.h>

#include <omp.h>

#include <cstdio>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops/conv3d.h"
#include "kernels/cpu/conv3d.h"
#include "tests/support.h"

using namespace fdl;

namespace {

struct Config {
  int k, stride, pad;
  bool bias;
};

// The convolution by its definition, in double: y, and the three gradients for upstream gy.
struct Naive {
  std::vector<double> y, gx, gw, gb;
};

Naive naive_conv3d(const kernels::Conv3dShape& s, const std::vector<double>& x,
                   const std::vector<double>& w, const std::vector<double>& b,
                   const std::vector<double>& gy) {
  Naive r;
  r.y.assign(size_t(s.y_numel()), 0.0);
  r.gx.assign(size_t(s.x_numel()), 0.0);
  r.gw.assign(size_t(s.w_numel()), 0.0);
  r.gb.assign(size_t(s.cout), 0.0);
  const int O0 = s.out(0), O1 = s.out(1), O2 = s.out(2);
  for (int n = 0; n < s.n; ++n)
    for (int co = 0; co < s.cout; ++co)
      for (int o0 = 0; o0 < O0; ++o0)
        for (int o1 = 0; o1 < O1; ++o1)
          for (int o2 = 0; o2 < O2; ++o2) {
            const size_t yi = size_t(((int64_t(n) * s.cout + co) * O0 + o0) * O1 + o1) * O2 + o2;
            double acc = b.empty() ? 0.0 : b[size_t(co)];
            r.gb[size_t(co)] += gy[yi];
            for (int ci = 0; ci < s.cin; ++ci)
              for (int a = 0; a < s.k; ++a)
                for (int bb = 0; bb < s.k; ++bb)
                  for (int c = 0; c < s.k; ++c) {
                    const int i0 = o0 * s.stride - s.pad + a, i1 = o1 * s.stride - s.pad + bb,
                              i2 = o2 * s.stride - s.pad + c;
                    if (i0 < 0 || i0 >= s.in[0] || i1 < 0 || i1 >= s.in[1] || i2 < 0 ||
                        i2 >= s.in[2])
                      continue;
                    const size_t xi =
                        size_t(((int64_t(n) * s.cin + ci) * s.in[0] + i0) * s.in[1] + i1) *
                            s.in[2] +
                        i2;
                    const size_t wi = size_t(s.w_index(co, ci, a, bb, c));
                    acc += w[wi] * x[xi];
                    r.gx[xi] += w[wi] * gy[yi];
                    r.gw[wi] += x[xi] * gy[yi];
                  }
            r.y[yi] = acc;
          }
  return r;
}

Tensor as_tensor(const std::vector<double>& v, const Shape& s, DType t) {
  return Tensor::from_vector(v, s).to(t);
}

std::string name(const Config& c) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "k%ds%dp%d%s", c.k, c.stride, c.pad, c.bias ? " bias" : "");
  return buf;
}

}  // namespace

TEST_CASE("conv3d: parity with torch fixtures (forward and all gradients)") {
  for (const char* f : {"conv3d_k3s1p1", "conv3d_k3s2p1", "conv3d_k1s1p0", "conv3d_k3s1p0"}) {
    CAPTURE(f);
    const auto m = test::fixture(f);
    const std::string n(f);
    const int k = n[8] - '0', stride = n[10] - '0', pad = n[12] - '0';
    Tensor x = test::at(m, "x").clone().set_requires_grad(true);
    Tensor w = test::at(m, "w").clone().set_requires_grad(true);
    Tensor b = test::at(m, "b").clone().set_requires_grad(true);
    REQUIRE(w.size(2) == k);
    Tensor y = conv3d(x, w, b, stride, pad);
    test::check_close(y, test::at(m, "y"), 1e-5, 1e-5, n + " y");
    y.backward(test::at(m, "gy"));
    test::check_close(x.grad(), test::at(m, "gx"), 1e-5, 1e-5, n + " gx");
    test::check_close(w.grad(), test::at(m, "gw"), 1e-5, 1e-4, n + " gw");
    test::check_close(b.grad(), test::at(m, "gb"), 1e-5, 1e-4, n + " gb");
  }
}

TEST_CASE("conv3d: fast float kernels match the definition at a mid size") {
  // Channel counts and sizes off every blocking boundary (8-channel tiles, 48-position tiles,
  // chunks of rows), and a batch, in float32 against a double-precision loop.
  // A tiny volume (1, 2 and 3 voxels) checks the phases that receive no input at stride 2.
  const Config configs[] = {{3, 1, 1, true},  {3, 2, 1, false}, {1, 1, 0, true},
                            {3, 1, 0, false}, {1, 2, 0, false}, {1, 1, 1, true}};
  const int sizes[2][3] = {{20, 18, 13}, {3, 1, 2}};
  for (const Config& c : configs)
    for (const auto& sz : sizes) {
      if (c.k == 3 && c.pad == 0 && sz[1] < 3) continue;
      CAPTURE(name(c));
      CAPTURE(sz[1]);
      kernels::Conv3dShape s;
      s.n = 2, s.cin = 9, s.cout = 10, s.in[0] = sz[0], s.in[1] = sz[1], s.in[2] = sz[2];
      s.k = c.k, s.stride = c.stride, s.pad = c.pad;
      const Tensor x64 = test::randn({s.n, s.cin, sz[0], sz[1], sz[2]}, 4);
      const Tensor w64 = test::randn({s.cout, s.cin, s.k, s.k, s.k}, 5);
      const Tensor b64 = test::randn({s.cout}, 6);
      const Tensor gy64 = test::randn({s.n, s.cout, s.out(0), s.out(1), s.out(2)}, 7);
      // Round inputs to float first so both sides see the same numbers.
      const Tensor x = x64.to(DType::F32), w = w64.to(DType::F32), b = b64.to(DType::F32);
      const Tensor gy = gy64.to(DType::F32);
      const Naive ref =
          naive_conv3d(s, x.to_vector(), w.to_vector(),
                       c.bias ? b.to_vector() : std::vector<double>{}, gy.to_vector());
      Tensor xg = x.clone().set_requires_grad(true), wg = w.clone().set_requires_grad(true);
      Tensor bg = c.bias ? b.clone().set_requires_grad(true) : Tensor();
      Tensor y = conv3d(xg, wg, bg, s.stride, s.pad);
      test::check_close(y, as_tensor(ref.y, y.shape(), DType::F64), 1e-5, 1e-4, "y");
      y.backward(gy);
      test::check_close(xg.grad(), as_tensor(ref.gx, x.shape(), DType::F64), 1e-5, 1e-4, "gx");
      test::check_close(wg.grad(), as_tensor(ref.gw, w.shape(), DType::F64), 1e-5, 1e-3, "gw");
      if (c.bias)
        test::check_close(bg.grad(), as_tensor(ref.gb, b.shape(), DType::F64), 1e-5, 1e-3, "gb");
    }
}

TEST_CASE("conv3d: weight gradient reproduces bit for bit") {
  const Tensor x = test::randn({2, 8, 12, 10, 9}, 8, DType::F32);
  const Tensor gy = test::randn({2, 8, 12, 10, 9}, 9, DType::F32);
  const Tensor w = test::randn({8, 8, 3, 3, 3}, 10, DType::F32);
  std::vector<double> first;
  for (int run = 0; run < 3; ++run) {
    Tensor wg = w.clone().set_requires_grad(true);
    conv3d(x, wg, Tensor(), 1, 1).backward(gy);
    if (run == 0)
      first = wg.grad().to_vector();
    else
      CHECK(wg.grad().to_vector() == first);
  }
}

TEST_CASE("conv3d: bad arguments name themselves") {
  const Tensor x = Tensor::zeros({1, 2, 4, 4, 4});
  CHECK_THROWS_WITH_AS(conv3d(x, Tensor::zeros({3, 4, 3, 3, 3}), Tensor(), 1, 1),
                       doctest::Contains("input channels"), Error);
  CHECK_THROWS_WITH_AS(conv3d(x, Tensor::zeros({3, 2, 2, 2, 2}), Tensor(), 1, 1),
                       doctest::Contains("kernel"), Error);
  CHECK_THROWS_WITH_AS(conv3d(x, Tensor::zeros({3, 2, 3, 3, 3}), Tensor(), 3, 1),
                       doctest::Contains("stride"), Error);
  CHECK_THROWS_WITH_AS(conv3d(x, Tensor::zeros({3, 2, 3, 3, 3}), Tensor::zeros({2}), 1, 1),
                       doctest::Contains("bias"), Error);
  CHECK_THROWS_WITH_AS(
      conv3d(Tensor::zeros({2, 4, 4, 4}), Tensor::zeros({3, 2, 3, 3, 3}), Tensor(), 1, 1),
      doctest::Contains("'x'"), Error);
}
