// Spectral split and fusion (docs/method.md §2-3): the block index map against numpy's
// fftshift/slice/ifftshift recipe, the ops against a direct O(n^2) DFT in double and against
// numpy.fft fixtures (tools/fixtures/spectral.py), the fusion's adjoint, and the errors.
#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <set>
#include <utility>

#include "engine/autograd.h"
#include "engine/ops/spectral.h"
#include "kernels/common/spectral_block.h"
#include "tests/support.h"

using namespace fdl;
using cd = std::complex<double>;

namespace {

// (small raw index, full raw index) pairs of the block on one axis, built the way numpy
// would: shifted = fftshift, slice at n//2 - m//2, ifftshift; unshifted = the raw slice.
std::vector<std::pair<int64_t, int64_t>> numpy_pairs(int64_t n, int64_t m, bool shifted) {
  std::vector<std::pair<int64_t, int64_t>> p;
  if (!shifted) {
    const int64_t start = int64_t(double(n) / 2 - double(m) / 2);
    for (int64_t i = 0; i < m; ++i) p.push_back({i, start + i});
    return p;
  }
  const int64_t start = n / 2 - m / 2;
  for (int64_t c = 0; c < m; ++c) {
    const int64_t u = start + c;                          // index in the fftshifted full array
    const int64_t raw_full = ((u - n / 2) % n + n) % n;   // ifftshift of the full array
    const int64_t raw_small = ((c - m / 2) % m + m) % m;  // ifftshift of the crop
    p.push_back({raw_small, raw_full});
  }
  return p;
}

// The exact float32 input that tools/fixtures/spectral.py makes.
Tensor hash_input(const Shape& s, uint64_t seed, DType t = DType::F32) {
  std::vector<double> v(size_t(s.numel()));
  for (size_t i = 0; i < v.size(); ++i) {
    const uint64_t h = (uint64_t(i) * 2654435761ull + seed * 40503ull) & 0xffffffffull;
    v[i] = double(h >> 8) / 16777216.0 - 0.5;
  }
  return Tensor::from_vector(v, s).to(t);
}

Tensor gather(const Tensor& t, const Tensor& idx) {
  const std::vector<double> v = t.to_vector(), i = idx.to_vector();
  std::vector<double> out;
  for (double k : i) out.push_back(v[size_t(k)]);
  return Tensor::from_vector(out, {int64_t(out.size())});
}

double dot(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to_vector(), y = b.to_vector();
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += x[i] * y[i];
  return s;
}

// ---- The direct reference: O(n^2) DFTs in double of one (X, Y, Z) volume.
using Grid = std::array<int64_t, 3>;
using Spectrum = std::vector<cd>;

Spectrum dft(const std::vector<double>& x, const Grid& d) {
  Spectrum s(x.size());
  for (int64_t k0 = 0; k0 < d[0]; ++k0)
    for (int64_t k1 = 0; k1 < d[1]; ++k1)
      for (int64_t k2 = 0; k2 < d[2]; ++k2) {
        cd acc = 0;
        for (int64_t a = 0; a < d[0]; ++a)
          for (int64_t b = 0; b < d[1]; ++b)
            for (int64_t c = 0; c < d[2]; ++c) {
              const double ph =
                  -2 * M_PI *
                  (double(k0 * a) / d[0] + double(k1 * b) / d[1] + double(k2 * c) / d[2]);
              acc += x[size_t((a * d[1] + b) * d[2] + c)] * cd(std::cos(ph), std::sin(ph));
            }
        s[size_t((k0 * d[1] + k1) * d[2] + k2)] = acc;
      }
  return s;
}

std::vector<double> real_idft(const Spectrum& s, const Grid& d) {  // Re(IFFT), 1/n
  std::vector<double> x(s.size());
  const double n = double(s.size());
  for (int64_t a = 0; a < d[0]; ++a)
    for (int64_t b = 0; b < d[1]; ++b)
      for (int64_t c = 0; c < d[2]; ++c) {
        cd acc = 0;
        for (int64_t k0 = 0; k0 < d[0]; ++k0)
          for (int64_t k1 = 0; k1 < d[1]; ++k1)
            for (int64_t k2 = 0; k2 < d[2]; ++k2) {
              const double ph =
                  2 * M_PI *
                  (double(k0 * a) / d[0] + double(k1 * b) / d[1] + double(k2 * c) / d[2]);
              acc += s[size_t((k0 * d[1] + k1) * d[2] + k2)] * cd(std::cos(ph), std::sin(ph));
            }
        x[size_t((a * d[1] + b) * d[2] + c)] = acc.real() / n;
      }
  return x;
}

// For every small-grid flat index, the full-grid flat index it pairs with (numpy_pairs).
std::vector<size_t> block_map(const Grid& full, const Grid& small, bool shifted) {
  std::array<std::vector<std::pair<int64_t, int64_t>>, 3> p;
  for (int a = 0; a < 3; ++a) p[a] = numpy_pairs(full[a], small[a], shifted);
  std::vector<size_t> map(size_t(small[0] * small[1] * small[2]));
  for (auto& [i0, r0] : p[0])
    for (auto& [i1, r1] : p[1])
      for (auto& [i2, r2] : p[2])
        map[size_t((i0 * small[1] + i1) * small[2] + i2)] =
            size_t((r0 * full[1] + r1) * full[2] + r2);
  return map;
}

// Slices volume v (of `per` elements) out of a flat vector.
std::vector<double> volume(const std::vector<double>& all, int64_t v, int64_t per) {
  return {all.begin() + v * per, all.begin() + (v + 1) * per};
}

}  // namespace

TEST_CASE("spectral block: the index map matches numpy's fftshift, slice, ifftshift") {
  for (bool shifted : {true, false})
    for (int64_t n = 1; n <= 13; ++n)
      for (int64_t m = 1; m <= n; ++m) {
        const kernels::BlockAxis ax{n, m, shifted};
        std::set<int64_t> fulls;
        for (auto [i, r] : numpy_pairs(n, m, shifted)) {
          CHECK_MESSAGE(ax.to_full(i) == r, "n ", n, " m ", m, " shifted ", shifted, " i ", i);
          CHECK(ax.to_small(r) == i);
          fulls.insert(r);
        }
        CHECK(int64_t(fulls.size()) == m);
        for (int64_t r = 0; r < n; ++r) CHECK((ax.to_small(r) >= 0) == (fulls.count(r) == 1));
      }
  // Shifted: the block holds frequencies -floor(m/2) .. ceil(m/2)-1 (n = 10, m = 4: -2..1).
  const kernels::BlockAxis ax{10, 4, true};
  CHECK(ax.to_full(0) == 0);
  CHECK(ax.to_full(1) == 1);
  CHECK(ax.to_full(2) == 8);
  CHECK(ax.to_full(3) == 9);
  CHECK(ax.to_small(2) == -1);
  CHECK(ax.to_small(7) == -1);
  // Unshifted: the raw range [int(n/2 - m/2), +m) (n = 15, m = 4: 5..8).
  const kernels::BlockAxis un{15, 4, false};
  CHECK(un.to_full(0) == 5);
  CHECK(un.to_small(8) == 3);
  CHECK(un.to_small(9) == -1);
}

TEST_CASE("spectral split and fuse: against a direct DFT in double") {
  for (Grid d : {Grid{5, 4, 3}, Grid{6, 5, 4}})
    for (KspaceCentre c : {KspaceCentre::Shifted, KspaceCentre::Unshifted})
      for (std::array<double, 3> beta :
           {std::array<double, 3>{0.5, 0.5, 1.0}, std::array<double, 3>{0.8, 0.34, 0.5}}) {
        CAPTURE(d[0]);
        CAPTURE(d[1]);
        CAPTURE(beta[1]);
        const bool shifted = c == KspaceCentre::Shifted;
        const Shape xs{1, 2, d[0], d[1], d[2]};
        const Tensor x = test::randn(xs, 7);
        const SplitResult r = spectral_split(x, beta, c);
        const Grid s{int64_t(d[0] * beta[0]), int64_t(d[1] * beta[1]), int64_t(d[2] * beta[2])};
        REQUIRE(r.low.shape() == Shape{1, 2, s[0], s[1], s[2]});
        REQUIRE(r.high.shape() == xs);
        const auto map = block_map(d, s, shifted);
        const int64_t n = d[0] * d[1] * d[2], m = s[0] * s[1] * s[2];
        const Tensor hl = test::randn({1, 2, s[0], s[1], s[2]}, 9);
        const Tensor hh = test::randn(xs, 8);
        const Tensor fused = spectral_fuse(hh, hl, c);
        const std::vector<double> xv = x.to_vector(), lo = r.low.to_vector(),
                                  hi = r.high.to_vector();
        const std::vector<double> hv = hh.to_vector(), lv = hl.to_vector(), fv = fused.to_vector();
        for (int64_t v = 0; v < 2; ++v) {
          const Spectrum S = dft(volume(xv, v, n), d);
          Spectrum crop(static_cast<size_t>(m));
          Spectrum masked = S;
          for (size_t i = 0; i < map.size(); ++i) crop[i] = S[map[i]], masked[map[i]] = 0;
          const auto want_low = real_idft(crop, s), want_high = real_idft(masked, d);
          for (int64_t i = 0; i < m; ++i)
            CHECK(lo[size_t(v * m + i)] ==
                  doctest::Approx(want_low[size_t(i)]).epsilon(1e-10).scale(1));
          for (int64_t i = 0; i < n; ++i)
            CHECK(hi[size_t(v * n + i)] ==
                  doctest::Approx(want_high[size_t(i)]).epsilon(1e-10).scale(1));
          // Fusion: H[B] <- L.
          Spectrum H = dft(volume(hv, v, n), d);
          const Spectrum L = dft(volume(lv, v, m), s);
          for (size_t i = 0; i < map.size(); ++i) H[map[i]] = L[i];
          const auto want_fused = real_idft(H, d);
          for (int64_t i = 0; i < n; ++i)
            CHECK(fv[size_t(v * n + i)] ==
                  doctest::Approx(want_fused[size_t(i)]).epsilon(1e-10).scale(1));
        }
      }
}

TEST_CASE("spectral split and fuse: numpy.fft parity, forward and backward") {
  for (const char* name : {"spectral_32x32x16", "spectral_15x13x9"}) {
    const io::TensorMap f = test::fixture(name);
    const Tensor& idx = test::at(f, "sample_idx");
    const Shape xs =
        std::string(name) == "spectral_32x32x16" ? Shape{1, 1, 32, 32, 16} : Shape{1, 2, 15, 13, 9};
    const std::array<std::array<double, 3>, 2> betas{{{0.1, 0.1, 1.0}, {0.5, 0.34, 0.75}}};
    for (int j = 0; j < 2; ++j)
      for (KspaceCentre c : {KspaceCentre::Shifted, KspaceCentre::Unshifted}) {
        const std::string p = std::string(kspace_centre_name(c)) + "_b" + std::to_string(j) + "/";
        CAPTURE(name);
        CAPTURE(p);
        const SplitResult r = spectral_split(hash_input(xs, 1), betas[size_t(j)], c);
        test::check_close(r.low, test::at(f, p + "low"), 1e-4, 1e-5, p + "low");
        test::check_close(gather(r.high, idx), test::at(f, p + "high"), 1e-4, 1e-5, p + "high");

        Tensor h = hash_input(xs, 2).set_requires_grad(true);
        Tensor l = hash_input(r.low.shape(), 3).set_requires_grad(true);
        const Tensor fused = spectral_fuse(h, l, c);
        test::check_close(gather(fused, idx), test::at(f, p + "fused"), 1e-4, 1e-5, p + "fused");
        fused.backward(hash_input(xs, 4));
        test::check_close(gather(h.grad(), idx), test::at(f, p + "grad_high"), 1e-4, 1e-5,
                          p + "grad_high");
        test::check_close(l.grad(), test::at(f, p + "grad_low"), 1e-4, 1e-5, p + "grad_low");
      }
  }
}

TEST_CASE("spectral fuse: the backward is the adjoint (dot-product test)") {
  const Shape hs{2, 3, 17, 12, 10};
  for (DType t : {DType::F32, DType::F64})
    for (KspaceCentre c : {KspaceCentre::Shifted, KspaceCentre::Unshifted})
      for (Shape ls : {Shape{2, 3, 5, 6, 10}, Shape{2, 3, 1, 12, 3}, Shape{2, 3, 17, 12, 10}}) {
        CAPTURE(ls.str());
        Tensor h = test::randn(hs, 1, t).set_requires_grad(true);
        Tensor l = test::randn(ls, 2, t).set_requires_grad(true);
        const Tensor g = test::randn(hs, 3, t);
        const Tensor out = spectral_fuse(h, l, c);
        out.backward(g);
        const double lhs = dot(out, g), rhs = dot(h, h.grad()) + dot(l, l.grad());
        CHECK(std::abs(lhs - rhs) <= 1e-5 * std::abs(lhs));
      }
}

TEST_CASE("spectral split: beta 1 puts everything in low") {
  const Tensor x = test::randn({1, 1, 7, 6, 5}, 5);
  for (KspaceCentre c : {KspaceCentre::Shifted, KspaceCentre::Unshifted}) {
    const SplitResult all = spectral_split(x, {1.0, 1.0, 1.0}, c);
    test::check_close(all.low, x, 0, 1e-12, "low at beta 1");
    test::check_close(all.high, Tensor::zeros(x.shape(), DType::F64), 0, 1e-12, "high at beta 1");
  }
}

TEST_CASE("spectral ops: errors name the argument") {
  const Tensor x = Tensor::zeros({1, 2, 32, 16, 8});
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string empty = message([&] {
    spectral_split(x, {0.01, 0.5, 1.0}, KspaceCentre::Shifted);
  });
  CHECK_MESSAGE(empty.find("empty block") != std::string::npos, empty);
  CHECK_MESSAGE(empty.find("axis X") != std::string::npos, empty);
  CHECK(message([&] {
          spectral_split(x, {0.5, 1.5, 1.0}, KspaceCentre::Shifted);
        }).find("(0, 1]") != std::string::npos);
  CHECK(message([&] {
          spectral_split(Tensor::zeros({2, 32, 16, 8}), {0.5, 0.5, 1.0}, KspaceCentre::Shifted);
        }).find("(N, C, X, Y, Z)") != std::string::npos);
  const std::string big = message([&] {
    spectral_fuse(x, Tensor::zeros({1, 2, 33, 4, 4}), KspaceCentre::Shifted);
  });
  CHECK_MESSAGE(big.find("'low'") != std::string::npos, big);
  CHECK_MESSAGE(big.find("axis X has 33 vs 32") != std::string::npos, big);
  const std::string chans = message([&] {
    spectral_fuse(x, Tensor::zeros({1, 3, 4, 4, 4}), KspaceCentre::Shifted);
  });
  CHECK_MESSAGE(chans.find("channels") != std::string::npos, chans);
  CHECK(message([&] {
          spectral_fuse(x, Tensor::zeros({1, 2, 4, 4}), KspaceCentre::Shifted);
        }).find("(N, C, X, Y, Z)") != std::string::npos);
  CHECK(message([&] {
          spectral_fuse(x, Tensor::zeros({1, 2, 4, 4, 4}, DType::F64), KspaceCentre::Shifted);
        }).find("float64") != std::string::npos);
  CHECK(message([] { parse_kspace_centre("centred"); }).find("'centred'") != std::string::npos);
  CHECK(parse_kspace_centre("unshifted") == KspaceCentre::Unshifted);
}
