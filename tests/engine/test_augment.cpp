// Data augmentation (engine/data/augment.h): probabilities and ranges of the draws,
// determinism from (seed, epoch, case) for any thread count, the spatial pass against the
// analytic geometry (mirror exactly invertible, 90-degree turns as index permutations,
// rotation and scaling and their inverse within a derived interpolation bound), labels that
// keep their class set and their structures and stay registered with the image, the
// defining property of each intensity transform, and the option and sample checks.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numbers>
#include <random>
#include <set>

#include "engine/data/augment.h"
#include "kernels/cpu/gaussian_blur.h"
#include "tests/support.h"

using namespace fdl;

namespace {

using Grid = std::array<int64_t, 3>;

AugmentOptions all_off() {
  AugmentOptions o;
  for (AugmentRange* r : {&o.rotation, &o.scaling, &o.elastic, &o.noise, &o.blur, &o.brightness,
                          &o.contrast, &o.low_res, &o.gamma_inverted, &o.gamma})
    r->p = 0;
  o.mirror = 0;
  return o;
}

// Every transform at probability 1, with ranges that exclude their identity.
AugmentOptions all_on() {
  AugmentOptions o;
  for (AugmentRange* r : {&o.rotation, &o.scaling, &o.elastic, &o.noise, &o.blur, &o.brightness,
                          &o.contrast, &o.low_res, &o.gamma_inverted, &o.gamma})
    r->p = 1;
  o.mirror = o.blur_per_channel = o.low_res_per_channel = 1;
  o.elastic.lo = 1;
  o.noise.lo = 0.01;
  o.low_res.hi = 0.9;
  o.scale_per_axis = true;
  return o;
}

AugmentPlan identity(int64_t channels) {
  AugmentPlan p;
  p.channels.resize(size_t(channels));
  return p;
}

int64_t flat(const Grid& n, int64_t x, int64_t y, int64_t z) { return (x * n[1] + y) * n[2] + z; }

// A sample with a normal(0, 1) image and a label of classes {0, 2, 5} drawn per voxel.
Sample noisy_sample(int64_t channels, const Grid& n, uint64_t seed) {
  Sample s{"noisy", test::randn({channels, n[0], n[1], n[2]}, seed, DType::F32),
           Tensor::empty({n[0], n[1], n[2]}, DType::I32)};
  std::mt19937 rng{uint32_t(seed)};
  const int32_t classes[3] = {0, 2, 5};
  for (int64_t i = 0; i < s.label.numel(); ++i) s.label.data<int32_t>()[i] = classes[rng() % 3];
  return s;
}

// Two Gaussian blobs of sigma 5 off the centre (so that rotations move them): amplitude 1 at
// c + (5, -3, 2) and 0.5 at c + (-4, 4, -3).
double blobs(const Grid& n, const double p[3]) {
  const double o[2][3] = {{5, -3, 2}, {-4, 4, -3}}, amp[2] = {1, 0.5}, sigma = 5;
  double v = 0;
  for (int b = 0; b < 2; ++b) {
    double r2 = 0;
    for (int a = 0; a < 3; ++a) {
      const double d = p[a] - (double(n[size_t(a)] - 1) / 2 + o[b][a]);
      r2 += d * d;
    }
    v += amp[b] * std::exp(-r2 / (2 * sigma * sigma));
  }
  return v;
}
// The spectral norm of the Hessian of a Gaussian of amplitude A and width sigma is at most
// A / sigma^2 (its largest value, at the centre), so that of `blobs` at most 1.5 / 25.
constexpr double kBlobHessian = 1.5 / 25;

Sample blob_sample(const Grid& n) {
  Sample s{"blobs", Tensor::empty({1, n[0], n[1], n[2]}),
           Tensor::zeros({n[0], n[1], n[2]}, DType::I32)};
  for (int64_t x = 0; x < n[0]; ++x)
    for (int64_t y = 0; y < n[1]; ++y)
      for (int64_t z = 0; z < n[2]; ++z) {
        const double p[3] = {double(x), double(y), double(z)};
        s.image.data<float>()[flat(n, x, y, z)] = float(blobs(n, p));
      }
  return s;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}
bool same_bits(const Sample& a, const Sample& b) {
  return same_bits(a.image, b.image) && same_bits(a.label, b.label);
}

std::set<int32_t> classes_of(const Tensor& label) {
  const int32_t* l = label.data<int32_t>();
  return std::set<int32_t>(l, l + label.numel());
}

struct Stats {
  double mean, var, min, max;
};
Stats stats(const float* v, int64_t n) {
  double s = 0, s2 = 0, lo = v[0], hi = v[0];
  for (int64_t i = 0; i < n; ++i)
    s += v[i], lo = std::min(lo, double(v[i])), hi = std::max(hi, double(v[i]));
  const double m = s / double(n);
  for (int64_t i = 0; i < n; ++i) s2 += (v[i] - m) * (v[i] - m);
  return {m, s2 / double(n), lo, hi};
}

// R_axis(angle) as augment.h defines it, for the checks of the forward map.
void rotation(int axis, double t, double r[3][3]) {
  const int i = (axis + 1) % 3, j = (axis + 2) % 3;
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) r[a][b] = a == b;
  r[i][i] = r[j][j] = std::cos(t);
  r[i][j] = -std::sin(t);
  r[j][i] = std::sin(t);
}
void matmul(const double a[3][3], const double b[3][3], double out[3][3]) {
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      out[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
}

}  // namespace

TEST_CASE("augment: probability 0 never applies a transform, so the sample is bit-identical") {
  const Sample s = noisy_sample(2, {12, 10, 9}, 3);
  for (int64_t c = 0; c < 50; ++c) {
    const AugmentPlan p = plan_augment(all_off(), 2, 7, 1, c);
    CHECK(p.angles == std::array<double, 3>{});
    CHECK(p.scale == std::array<double, 3>{1, 1, 1});
    CHECK(p.mirror == std::array<bool, 3>{});
    CHECK(p.elastic_sigma == 0);
    CHECK(p.noise_std == 0);
    for (const AugmentPlan::Channel& ch : p.channels)
      CHECK((ch.blur_sigma == 0 && ch.brightness == 1 && ch.contrast == 1 && ch.low_res_zoom == 1 &&
             ch.gamma_inverted == 1 && ch.gamma == 1));
    const Sample a = augment(s, all_off(), 7, 1, c);
    CHECK(same_bits(a, s));
    CHECK(a.id == s.id);
  }
}

TEST_CASE("augment: probability 1 always applies every transform, with draws in their ranges") {
  const AugmentOptions o = all_on();
  for (int64_t c = 0; c < 200; ++c) {
    const AugmentPlan p = plan_augment(o, 3, 11, 2, c);
    for (size_t a = 0; a < 3; ++a) {
      CHECK((p.angles[a] != 0 && std::abs(p.angles[a]) <= 30 * std::numbers::pi / 180));
      CHECK((p.scale[a] != 1 && p.scale[a] >= 0.7 && p.scale[a] <= 1.4));
      CHECK(p.mirror[a]);
    }
    CHECK((p.elastic_sigma >= 1 && p.elastic_sigma <= 8));
    CHECK((p.noise_std >= 0.01 && p.noise_std <= 0.1));
    for (const AugmentPlan::Channel& ch : p.channels) {
      CHECK((ch.blur_sigma >= 0.5 && ch.blur_sigma <= 1));
      CHECK((ch.brightness != 1 && ch.brightness >= 0.75 && ch.brightness <= 1.25));
      CHECK((ch.contrast != 1 && ch.contrast >= 0.75 && ch.contrast <= 1.25));
      CHECK((ch.low_res_zoom >= 0.5 && ch.low_res_zoom <= 0.9));
      CHECK((ch.gamma_inverted != 1 && ch.gamma_inverted >= 0.7 && ch.gamma_inverted <= 1.5));
      CHECK((ch.gamma != 1 && ch.gamma >= 0.7 && ch.gamma <= 1.5));
    }
  }
}

TEST_CASE("augment: the defaults apply each transform at nnU-Net's rate") {
  // Over N samples a rate p is seen within 5 standard errors, 5 sqrt(p (1 - p) / N).
  const int N = 4000;
  int rot = 0, scale = 0, mirror = 0, noise = 0, blur = 0, bright = 0, contrast = 0, lowres = 0,
      ginv = 0, gamma = 0, elastic = 0, scale_below = 0;
  for (int64_t c = 0; c < N; ++c) {
    const AugmentPlan p = plan_augment(AugmentOptions{}, 1, 5, 0, c);
    rot += p.angles[0] != 0;
    scale += p.scale[0] != 1;
    scale_below += p.scale[0] < 1;
    CHECK((p.scale[0] == p.scale[1] && p.scale[1] == p.scale[2]));  // one factor for all axes
    mirror += p.mirror[0] + p.mirror[1] + p.mirror[2];
    elastic += p.elastic_sigma != 0;
    noise += p.noise_std != 0;
    const AugmentPlan::Channel& ch = p.channels[0];
    blur += ch.blur_sigma != 0;
    bright += ch.brightness != 1;
    contrast += ch.contrast != 1;
    lowres += ch.low_res_zoom != 1;
    ginv += ch.gamma_inverted != 1;
    gamma += ch.gamma != 1;
  }
  auto rate = [&](int count, double p, int n, const char* what) {
    CHECK_MESSAGE(std::abs(double(count) / n - p) <= 5 * std::sqrt(p * (1 - p) / n), what, ": ",
                  count, " of ", n);
  };
  rate(rot, 0.2, N, "rotation");
  rate(scale, 0.2, N, "scaling");
  rate(scale_below, 0.5, scale, "scaling below 1");
  rate(mirror, 0.5, 3 * N, "mirror per axis");
  rate(noise, 0.1, N, "noise");
  rate(blur, 0.2 * 0.5, N, "blur per channel");
  rate(bright, 0.15, N, "brightness");
  rate(contrast, 0.15, N, "contrast");
  rate(lowres, 0.25 * 0.5, N, "low resolution per channel");
  rate(ginv, 0.1, N, "gamma inverted");
  rate(gamma, 0.3, N, "gamma");
  CHECK(elastic == 0);
}

TEST_CASE("augment: a pure function of (seed, epoch, case), the same bits for any thread count") {
  // 40 * 36 * 34 voxels: above every kernel's threshold for running in parallel.
  const Sample s = noisy_sample(2, {40, 36, 34}, 9);
  const AugmentOptions o = all_on();
  const Sample a = augment(s, o, 42, 3, 17);
  CHECK(same_bits(a, augment(s, o, 42, 3, 17)));
  CHECK_FALSE(same_bits(a.image, augment(s, o, 42, 4, 17).image));
  CHECK_FALSE(same_bits(a.image, augment(s, o, 42, 3, 18).image));
  CHECK_FALSE(same_bits(a.image, augment(s, o, 43, 3, 17).image));
  const int prev = omp_get_max_threads();
  for (int threads : {1, 3}) {
    omp_set_num_threads(threads);
    const Sample b = augment(s, o, 42, 3, 17);
    omp_set_num_threads(prev);
    CHECK_MESSAGE(same_bits(a, b), threads, " threads");
  }
  // The input is left as it was.
  CHECK(same_bits(s, noisy_sample(2, {40, 36, 34}, 9)));
}

TEST_CASE("augment: changing one option leaves the other transforms' draws alone") {
  AugmentOptions o = all_on(), other = all_on();
  other.gamma = {1, 2, 3};
  other.rotation.p = 0;
  const AugmentPlan a = plan_augment(o, 2, 1, 1, 1), b = plan_augment(other, 2, 1, 1, 1);
  CHECK(a.scale == b.scale);
  CHECK(a.noise_std == b.noise_std);
  CHECK(a.channels[1].contrast == b.channels[1].contrast);
  CHECK(b.angles == std::array<double, 3>{});
  CHECK(b.channels[0].gamma >= 2);
}

TEST_CASE("augment: mirroring flips indices exactly and twice is the identity, bitwise") {
  const Grid n{7, 6, 5};
  const Sample s = noisy_sample(2, n, 21);
  for (int mask = 1; mask < 8; ++mask) {
    AugmentPlan p = identity(2);
    for (int a = 0; a < 3; ++a) p.mirror[size_t(a)] = mask >> a & 1;
    const Sample once = apply_augment(s, p);
    bool flipped = true;
    for (int64_t x = 0; x < n[0]; ++x)
      for (int64_t y = 0; y < n[1]; ++y)
        for (int64_t z = 0; z < n[2]; ++z) {
          const int64_t sx = mask & 1 ? n[0] - 1 - x : x, sy = mask & 2 ? n[1] - 1 - y : y,
                        sz = mask & 4 ? n[2] - 1 - z : z;
          flipped = flipped && once.label.data<int32_t>()[flat(n, x, y, z)] ==
                                   s.label.data<int32_t>()[flat(n, sx, sy, sz)];
          for (int64_t c = 0; c < 2; ++c)
            flipped = flipped && once.image.data<float>()[c * 210 + flat(n, x, y, z)] ==
                                     s.image.data<float>()[c * 210 + flat(n, sx, sy, sz)];
        }
    CHECK_MESSAGE(flipped, "mirror mask ", mask);
    CHECK_MESSAGE(same_bits(apply_augment(once, p), s), "mirror mask ", mask);
  }
}

TEST_CASE("augment: a 90-degree turn about each axis is the index permutation, label and image") {
  const Grid n{9, 9, 9};
  const Sample s = noisy_sample(1, n, 4);
  // q = c + R (p - c) with R_x(90) sends output (x, y, z) to input (x, 8 - z, y); R_y(90) to
  // (z, y, 8 - x); R_z(90) to (8 - y, x, z).
  for (int axis = 0; axis < 3; ++axis) {
    AugmentPlan p = identity(1);
    p.angles[size_t(axis)] = std::numbers::pi / 2;
    const Sample r = apply_augment(s, p);
    bool label_ok = true;
    double image_err = 0;
    for (int64_t x = 0; x < 9; ++x)
      for (int64_t y = 0; y < 9; ++y)
        for (int64_t z = 0; z < 9; ++z) {
          const int64_t src = axis == 0   ? flat(n, x, 8 - z, y)
                              : axis == 1 ? flat(n, z, y, 8 - x)
                                          : flat(n, 8 - y, x, z);
          label_ok =
              label_ok && r.label.data<int32_t>()[flat(n, x, y, z)] == s.label.data<int32_t>()[src];
          image_err = std::max(image_err, double(std::abs(r.image.data<float>()[flat(n, x, y, z)] -
                                                          s.image.data<float>()[src])));
        }
    CHECK_MESSAGE(label_ok, "axis ", axis);
    CHECK_MESSAGE(image_err <= 1e-5, "axis ", axis);  // cos(pi / 2) is 6e-17, not 0
  }
}

// Trilinear interpolation of a twice differentiable f on the unit grid is off by at most
// (1/8) (|f_xx| + |f_yy| + |f_zz|) <= (3/8) max ||H|| (H the Hessian). Sampling f at
// c + A (p - c) interpolates f o A, whose Hessian A^T H A has norm <= s^2 ||H|| for A = s R.
TEST_CASE("augment: rotation and scaling sample the image where the stated geometry says") {
  const Grid n{40, 40, 40};
  const Sample s = blob_sample(n);
  const double ang[3] = {0.3, -0.45, 0.5};
  for (double sc : {0.8, 1.0, 1.25}) {
    AugmentPlan p = identity(1);
    p.angles = {ang[0], ang[1], ang[2]};
    p.scale = {sc, sc, sc};
    const Sample r = apply_augment(s, p);
    double rx[3][3], ry[3][3], rz[3][3], ryx[3][3], rot[3][3];
    rotation(0, ang[0], rx);
    rotation(1, ang[1], ry);
    rotation(2, ang[2], rz);
    matmul(ry, rx, ryx);
    matmul(rz, ryx, rot);  // R = Rz Ry Rx
    const double bound = 3.0 / 8 * sc * sc * kBlobHessian + 1e-5, c = 19.5;
    double worst = 0;
    for (int64_t x = 0; x < 40; ++x)
      for (int64_t y = 0; y < 40; ++y)
        for (int64_t z = 0; z < 40; ++z) {
          const double d[3] = {x - c, y - c, z - c};
          // All eight corners of q inside: |q - c| <= s |p - c| + sqrt(3) <= 19.5 - 1.
          if (std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]) * sc > 19.5 - 1 - std::sqrt(3.0))
            continue;
          double q[3];
          for (int a = 0; a < 3; ++a)
            q[a] = c + sc * (rot[a][0] * d[0] + rot[a][1] * d[1] + rot[a][2] * d[2]);
          worst = std::max(worst,
                           std::abs(double(r.image.data<float>()[flat(n, x, y, z)]) - blobs(n, q)));
        }
    CHECK_MESSAGE(worst <= bound, "scale ", sc, ": worst ", worst, ", bound ", bound);
    CHECK(worst > 0);  // the comparison saw interpolated values
  }
}

// Two passes, A = s R then A^-1: the second reads g = I1(f o A) at the corners u of
// A^-1 p, where g is within e = (3/8) s^2 ||H|| of f o A, and interpolating f o A itself at
// A^-1 p is within e of f(p); so the round trip is within 2e = (3/4) s^2 ||H|| on voxels whose
// corners stay inside in both passes: |p - c| + (1 + s) sqrt(3) <= (n - 1) / 2 - 1.
TEST_CASE(
    "augment: rotating and scaling by (a, s) then (-a, 1/s) returns the interior within the "
    "bound") {
  const Grid n{40, 40, 40};
  const Sample s = blob_sample(n);
  const double c = 19.5;
  for (int axis = 0; axis < 3; ++axis)
    for (double sc : {0.8, 1.25}) {
      const double a = (axis == 1 ? -0.5 : 0.45);
      AugmentPlan fwd = identity(1), back = identity(1);
      fwd.angles[size_t(axis)] = a;
      back.angles[size_t(axis)] = -a;
      fwd.scale = {sc, sc, sc};
      back.scale = {1 / sc, 1 / sc, 1 / sc};
      const Sample there = apply_augment(s, fwd), again = apply_augment(there, back);
      CHECK_FALSE(same_bits(there.image, s.image));
      const double bound = 3.0 / 4 * sc * sc * kBlobHessian + 1e-5;
      double worst = 0;
      int64_t interior = 0;
      for (int64_t x = 0; x < 40; ++x)
        for (int64_t y = 0; y < 40; ++y)
          for (int64_t z = 0; z < 40; ++z) {
            const double r = std::sqrt((x - c) * (x - c) + (y - c) * (y - c) + (z - c) * (z - c));
            if (r + (1 + sc) * std::sqrt(3.0) > c - 1) continue;
            ++interior;
            const int64_t i = flat(n, x, y, z);
            worst = std::max(
                worst, double(std::abs(again.image.data<float>()[i] - s.image.data<float>()[i])));
          }
      CHECK(interior > 10000);
      CHECK_MESSAGE(worst <= bound, "axis ", axis, ", scale ", sc, ": worst ", worst, ", bound ",
                    bound);
    }
}

TEST_CASE("augment: resampled labels hold only classes of the input (and 0 outside it)") {
  for (uint64_t seed : {1, 2, 3}) {
    // Classes {0, 2, 5} per voxel at random: every voxel sits at a boundary.
    const Sample s = noisy_sample(1, {20, 18, 16}, seed);
    Sample no_zero = s;
    no_zero.label = s.label.clone();
    for (int64_t i = 0; i < s.label.numel(); ++i)
      no_zero.label.data<int32_t>()[i] += 3;  // {3, 5, 8}
    for (int64_t c = 0; c < 10; ++c) {
      for (const Sample* in : {&s, static_cast<const Sample*>(&no_zero)}) {
        std::set<int32_t> allowed = classes_of(in->label);
        allowed.insert(0);
        for (int32_t k : classes_of(augment(*in, all_on(), seed, 0, c).label))
          CHECK_MESSAGE(allowed.count(k), "class ", k, " invented");
      }
    }
  }
}

TEST_CASE("augment: structures of a few voxels survive rotation, scaling and elastic deformation") {
  // Balls of radius 4 of classes 1, 2, 3 within 9 voxels of the centre of a 40^3 grid; a
  // scale of 0.7 keeps 0.7 * 19.5 = 13.6 voxels of the input in view, enough for the elastic
  // displacement too. Each must survive with a volume near its own / (sx sy sz).
  const Grid n{40, 40, 40};
  Sample s{"balls", Tensor::zeros({1, 40, 40, 40}), Tensor::zeros({40, 40, 40}, DType::I32)};
  const double centres[3][3] = {{24.5, 19.5, 19.5}, {15.5, 23.5, 18.5}, {19.5, 16.5, 24.5}};
  int64_t volume[4] = {};
  for (int64_t x = 0; x < 40; ++x)
    for (int64_t y = 0; y < 40; ++y)
      for (int64_t z = 0; z < 40; ++z)
        for (int k = 0; k < 3; ++k) {
          const double* b = centres[k];
          if ((x - b[0]) * (x - b[0]) + (y - b[1]) * (y - b[1]) + (z - b[2]) * (z - b[2]) <= 16) {
            s.label.data<int32_t>()[flat(n, x, y, z)] = k + 1;
            ++volume[k + 1];
          }
        }
  AugmentOptions o = all_off();
  o.rotation.p = o.scaling.p = o.elastic.p = 1;
  o.elastic.lo = 1;
  o.scale_per_axis = true;
  for (int64_t c = 0; c < 20; ++c) {
    const AugmentPlan p = plan_augment(o, 1, 3, 0, c);
    const Sample r = apply_augment(s, p);
    int64_t got[4] = {};
    for (int64_t i = 0; i < r.label.numel(); ++i) ++got[r.label.data<int32_t>()[i]];
    const double shrink = p.scale[0] * p.scale[1] * p.scale[2];
    for (int k = 1; k <= 3; ++k)
      CHECK_MESSAGE((got[k] >= 0.5 * volume[k] / shrink && got[k] <= 2.0 * volume[k] / shrink),
                    "case ", c, ", class ", k, ": ", got[k], " voxels of ", volume[k], ", scales ",
                    p.scale[0], " ", p.scale[1], " ", p.scale[2]);
  }
}

TEST_CASE(
    "augment: the label gets the image's transform (class 1 where its indicator image exceeds "
    "0.5)") {
  // The image is the indicator of class 1; the label's vote for class 1 sums the same
  // trilinear weights that interpolate the image, so they agree up to rounding at 0.5.
  const Grid n{28, 26, 24};
  Sample s = noisy_sample(1, n, 8);
  for (int64_t i = 0; i < s.label.numel(); ++i) {
    const int32_t k = s.label.data<int32_t>()[i] == 5 ? 1 : 0;
    s.label.data<int32_t>()[i] = k;
    s.image.data<float>()[i] = float(k);
  }
  AugmentOptions o = all_off();
  o.rotation.p = o.scaling.p = o.elastic.p = 1;
  o.mirror = 0.5;
  o.elastic.lo = 2;
  for (int64_t c = 0; c < 5; ++c) {
    const Sample r = augment(s, o, 1, 1, c);
    int64_t disagree = 0, ones = 0;
    for (int64_t i = 0; i < r.label.numel(); ++i) {
      const float v = r.image.data<float>()[i];
      ones += r.label.data<int32_t>()[i] == 1;
      if (std::abs(v - 0.5f) > 1e-5f) disagree += (r.label.data<int32_t>()[i] == 1) != (v > 0.5f);
    }
    CHECK(disagree == 0);
    CHECK(ones > 0);
  }
}

TEST_CASE("augment: brightness multiplies each voxel and so the mean by its factor") {
  const Sample s = noisy_sample(2, {16, 16, 16}, 12);
  AugmentPlan p = identity(2);
  p.channels[1].brightness = 1.2;
  const Sample r = apply_augment(s, p);
  const int64_t vol = 16 * 16 * 16;
  const float* in = s.image.data<float>() + vol;
  const float* out = r.image.data<float>() + vol;
  bool exact = true;
  for (int64_t i = 0; i < vol; ++i) exact = exact && out[i] == in[i] * 1.2f;
  CHECK(exact);
  CHECK(stats(out, vol).mean == doctest::Approx(1.2 * stats(in, vol).mean).epsilon(1e-5));
  CHECK(std::memcmp(r.image.raw(), s.image.raw(), vol * sizeof(float)) ==
        0);  // channel 0 untouched
}

TEST_CASE("augment: contrast scales deviations from the mean and clips to the original range") {
  const Sample s = noisy_sample(1, {16, 16, 16}, 13);
  const int64_t vol = s.image.numel();
  const float* in = s.image.data<float>();
  const Stats st = stats(in, vol);
  for (double f : {0.8, 1.25}) {
    AugmentPlan p = identity(1);
    p.channels[0].contrast = f;
    const float* out = apply_augment(s, p).image.data<float>();
    int64_t clipped = 0;
    double err = 0;
    for (int64_t i = 0; i < vol; ++i) {
      const double want = (in[i] - st.mean) * f + st.mean;
      CHECK((out[i] >= st.min && out[i] <= st.max));
      if (want < st.min || want > st.max) {
        ++clipped;
        CHECK(out[i] == float(want < st.min ? st.min : st.max));
      } else {
        err = std::max(err, std::abs(out[i] - want));
      }
    }
    CHECK(err <= 1e-5);
    if (f < 1) {  // nothing clipped: the mean is kept
      CHECK(clipped == 0);
      CHECK(stats(out, vol).mean == doctest::Approx(st.mean).epsilon(1e-5));
      CHECK(std::sqrt(stats(out, vol).var) == doctest::Approx(f * std::sqrt(st.var)).epsilon(1e-5));
    } else {
      CHECK(clipped > 0);
    }
  }
}

TEST_CASE(
    "augment: gamma bends the range-normalised channel, keeping min and max or mean and std") {
  const Sample s = noisy_sample(1, {16, 16, 16}, 14);
  const int64_t vol = s.image.numel();
  const float* in = s.image.data<float>();
  const Stats st = stats(in, vol);
  for (double g : {0.7, 1.5}) {
    AugmentPlan p = identity(1);
    p.channels[0].gamma = g;
    p.gamma_retain_stats = false;
    const Tensor plain = apply_augment(s, p).image;
    const float* out = plain.data<float>();
    double err = 0;
    for (int64_t i = 0; i < vol; ++i)
      err = std::max(err, std::abs(out[i] - (std::pow((in[i] - st.min) / (st.max - st.min), g) *
                                                 (st.max - st.min) +
                                             st.min)));
    const double range = st.max - st.min;
    CHECK(err <= 1e-5 * range);
    CHECK(stats(out, vol).min == doctest::Approx(st.min).epsilon(1e-6));
    CHECK(stats(out, vol).max == doctest::Approx(st.max).epsilon(1e-5));
    // Inverted: the same transform of -x, negated back.
    AugmentPlan q = identity(1);
    q.channels[0].gamma_inverted = g;
    q.gamma_retain_stats = false;
    Sample neg = s;
    neg.image = s.image.clone();
    for (int64_t i = 0; i < vol; ++i) neg.image.data<float>()[i] = -in[i];
    const Tensor inv = apply_augment(s, q).image, ref = apply_augment(neg, p).image;
    double inv_err = 0;
    for (int64_t i = 0; i < vol; ++i)
      inv_err = std::max(inv_err, double(std::abs(inv.data<float>()[i] + ref.data<float>()[i])));
    CHECK(inv_err <= 1e-6);
    // nnU-Net's retain_stats: the channel's mean and standard deviation come back.
    p.gamma_retain_stats = q.gamma_retain_stats = true;
    for (const AugmentPlan& pl : {p, q}) {
      const Stats r = stats(apply_augment(s, pl).image.data<float>(), vol);
      CHECK(r.mean == doctest::Approx(st.mean).epsilon(1e-4));
      CHECK(std::sqrt(r.var) == doctest::Approx(std::sqrt(st.var)).epsilon(1e-4));
    }
  }
}

TEST_CASE("augment: Gaussian noise has the drawn standard deviation, fresh per channel") {
  const int64_t vol = 32 * 32 * 32;
  const Sample s{"zeros", Tensor::zeros({2, 32, 32, 32}), Tensor::zeros({32, 32, 32}, DType::I32)};
  AugmentPlan p = identity(2);
  p.key = 77;
  p.noise_std = 0.07;
  const Tensor r = apply_augment(s, p).image;
  const double var = 0.07 * 0.07;
  for (int c = 0; c < 2; ++c) {
    const Stats st = stats(r.data<float>() + c * vol, vol);
    // The sample variance of N normals has standard error var sqrt(2 / N); the mean std / sqrt(N).
    CHECK(std::abs(st.var - var) <= 5 * var * std::sqrt(2.0 / vol));
    CHECK(std::abs(st.mean) <= 5 * 0.07 / std::sqrt(double(vol)));
    int64_t within = 0;  // P(|z| < 1) = 0.6827 for a normal
    for (int64_t i = 0; i < vol; ++i) within += std::abs(r.data<float>()[c * vol + i]) < 0.07f;
    CHECK(std::abs(double(within) / vol - 0.6827) <= 5 * std::sqrt(0.6827 * 0.3173 / vol));
  }
  double dot = 0;  // independent channels: correlation within 5 / sqrt(N) of 0
  for (int64_t i = 0; i < vol; ++i) dot += double(r.data<float>()[i]) * r.data<float>()[vol + i];
  CHECK(std::abs(dot / vol / var) <= 5 / std::sqrt(double(vol)));
}

TEST_CASE(
    "augment: Gaussian blur keeps the sum and constants and shrinks white noise by sum(k^2)^3") {
  const double sigma = 1.0;
  const std::vector<float> k = kernels::cpu::gaussian_kernel(sigma);
  REQUIRE(k.size() == 9u);  // radius round(4 sigma)
  double ksum = 0, k2 = 0;
  for (float w : k) ksum += w, k2 += double(w) * w;
  CHECK(ksum == doctest::Approx(1).epsilon(1e-6));
  AugmentPlan p = identity(1);
  p.channels[0].blur_sigma = sigma;
  // A point far from the borders spreads into the outer product of the kernel, sum kept.
  const Grid n{32, 32, 32};
  Sample point{"point", Tensor::zeros({1, 32, 32, 32}), Tensor::zeros({32, 32, 32}, DType::I32)};
  point.image.data<float>()[flat(n, 16, 15, 14)] = 1;
  const Tensor b = apply_augment(point, p).image;
  CHECK(stats(b.data<float>(), b.numel()).mean * double(b.numel()) ==
        doctest::Approx(1).epsilon(1e-5));
  CHECK(b.data<float>()[flat(n, 17, 13, 14)] ==
        doctest::Approx(double(k[5]) * k[2] * k[4]).epsilon(1e-5));
  // Reflected borders keep a constant.
  Sample flat_s{"flat", Tensor::full({1, 9, 8, 7}, 0.25), Tensor::zeros({9, 8, 7}, DType::I32)};
  const Stats fs = stats(apply_augment(flat_s, p).image.data<float>(), 9 * 8 * 7);
  CHECK((std::abs(fs.min - 0.25) <= 1e-6 && std::abs(fs.max - 0.25) <= 1e-6));
  // White noise of variance 1 becomes variance (sum k^2)^3 away from the borders. The
  // smoothed values are correlated over about (2 sqrt(pi) sigma)^3 = 45 voxels, so the 54^3
  // interior gives ~3500 independent ones: a standard error of ~2.4%; 10% is 4 of them.
  const Grid m{64, 64, 64};
  Sample white{"white", test::randn({1, 64, 64, 64}, 5, DType::F32),
               Tensor::zeros({64, 64, 64}, DType::I32)};
  const Tensor w = apply_augment(white, p).image;
  std::vector<float> inner;
  for (int64_t x = 5; x < 59; ++x)
    for (int64_t y = 5; y < 59; ++y)
      for (int64_t z = 5; z < 59; ++z) inner.push_back(w.data<float>()[flat(m, x, y, z)]);
  const double got = stats(inner.data(), int64_t(inner.size())).var, want = k2 * k2 * k2;
  CHECK_MESSAGE(std::abs(got / want - 1) <= 0.1, "variance ", got, ", expected ", want);
}

TEST_CASE(
    "augment: low resolution is nearest down and trilinear up; a zoom that keeps the grid is the "
    "identity") {
  const Grid n{32, 32, 32};
  Sample ramp{"ramp", Tensor::empty({1, 32, 32, 32}), Tensor::zeros({32, 32, 32}, DType::I32)};
  for (int64_t x = 0; x < 32; ++x)
    for (int64_t i = 0; i < 32 * 32; ++i) ramp.image.data<float>()[x * 1024 + i] = float(x);
  AugmentPlan p = identity(1);
  p.channels[0].low_res_zoom = 0.99;  // round(32 * 0.99) = 32
  CHECK(same_bits(apply_augment(ramp, p), ramp));
  // Zoom 0.5: nearest-exact keeps input voxels 1, 3, ..., 31, and trilinear from those
  // (half-voxel centres) gives x + 0.5 between the first and last coarse centres.
  p.channels[0].low_res_zoom = 0.5;
  const Tensor r = apply_augment(ramp, p).image;
  double err = 0;
  for (int64_t x = 1; x <= 30; ++x)
    for (int64_t i = 0; i < 32 * 32; ++i)
      err = std::max(err, std::abs(r.data<float>()[x * 1024 + i] - (x + 0.5)));
  CHECK(err <= 1e-5);
  CHECK(r.data<float>()[0] == 1.0f);
  // A checkerboard (the highest frequency) at zoom 0.5 keeps one colour of each 2^3 block.
  Sample board{"board", Tensor::empty({1, 32, 32, 32}), Tensor::zeros({32, 32, 32}, DType::I32)};
  for (int64_t x = 0; x < 32; ++x)
    for (int64_t y = 0; y < 32; ++y)
      for (int64_t z = 0; z < 32; ++z)
        board.image.data<float>()[flat(n, x, y, z)] = float((x + y + z) % 2);
  const Stats bs = stats(apply_augment(board, p).image.data<float>(), 32 * 32 * 32);
  CHECK(bs.min == bs.max);
}

TEST_CASE("augment: bad options and samples are refused with the option or sample named") {
  AugmentOptions o;
  o.rotation.p = 1.5;
  CHECK_THROWS_WITH_AS(check_augment_options(o), doctest::Contains("rotation: probability 1.5"),
                       Error);
  o = AugmentOptions{};
  o.scaling.lo = 0;
  CHECK_THROWS_WITH_AS(check_augment_options(o), doctest::Contains("scaling: range [0, 1.4]"),
                       Error);
  o = AugmentOptions{};
  o.low_res.hi = 1.5;
  CHECK_THROWS_WITH_AS(plan_augment(o, 1, 1, 1, 1), doctest::Contains("low resolution"), Error);
  o = AugmentOptions{};
  o.gamma = {0.3, 1.5, 0.7};
  CHECK_THROWS_WITH_AS(check_augment_options(o), doctest::Contains("gamma: range [1.5, 0.7]"),
                       Error);
  o = AugmentOptions{};
  o.noise.hi = NAN;
  CHECK_THROWS_WITH_AS(check_augment_options(o), doctest::Contains("noise"), Error);
  o = AugmentOptions{};
  o.elastic_spacing = 0.5;
  CHECK_THROWS_WITH_AS(check_augment_options(o), doctest::Contains("elastic spacing"), Error);
  o = AugmentOptions{};
  o.mirror = -0.1;
  CHECK_THROWS_WITH_AS(check_augment_options(o), doctest::Contains("mirror"), Error);

  const Sample s = noisy_sample(2, {6, 5, 4}, 1);
  CHECK_THROWS_WITH_AS(apply_augment(s, identity(1)),
                       doctest::Contains("sample 'noisy' has 2 channels"), Error);
  Sample bad = s;
  bad.label = Tensor::zeros({6, 5, 3}, DType::I32);
  CHECK_THROWS_WITH_AS(augment(bad, AugmentOptions{}, 1, 1, 1),
                       doctest::Contains("label must be int32 (6, 5, 4)"), Error);
  bad = s;
  bad.image = s.image.to(DType::F64);
  CHECK_THROWS_WITH_AS(augment(bad, AugmentOptions{}, 1, 1, 1), doctest::Contains("float32"),
                       Error);
}

TEST_CASE("augment: time of one 128^3 sample (printed, not asserted)") {
  const Sample s = noisy_sample(1, {128, 128, 128}, 2);
  for (const auto& [name, o] :
       {std::pair{"defaults", AugmentOptions{}}, std::pair{"every transform", all_on()}}) {
    const auto t0 = std::chrono::steady_clock::now();
    const int reps = 4;
    for (int64_t c = 0; c < reps; ++c)
      CHECK(augment(s, o, 1, 0, c).image.numel() == s.image.numel());
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const std::string what = name;
    MESSAGE("augment 128^3, ", what, ": ", ms / reps, " ms per sample on ", omp_get_max_threads(),
            " threads");
  }
}
