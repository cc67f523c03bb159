#include "engine/data/augment.h"

#include <cmath>
#include <numbers>
#include <vector>

#include "engine/random.h"
#include "kernels/common/philox.h"
#include "kernels/cpu/bspline.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gaussian_blur.h"
#include "kernels/cpu/intensity.h"
#include "kernels/cpu/resample.h"
#include "kernels/cpu/warp.h"

namespace fdl {

namespace {

// A sample's Philox counters: the top byte names the stream. Parameter draws use counter
// (transform << 48) | slot, slot 0 for the sample and 1 + i for channel or axis i, each
// block giving up to four uniforms; noise uses (channel << 40) | block in its stream, the
// elastic control points block in theirs.
constexpr uint64_t kDrawStream = 0, kNoiseStream = 1ull << 56, kElasticStream = 2ull << 56;
enum class Draw : uint64_t {
  Rotation,
  Scaling,
  Elastic,
  Mirror,
  Noise,
  Blur,
  Brightness,
  Contrast,
  LowRes,
  GammaInverted,
  Gamma
};

struct Draws {
  uint64_t key;
  double u(Draw t, uint64_t slot, int word) const {
    return kernels::uniform01(kernels::philox(key, kDrawStream | uint64_t(t) << 48 | slot).v[word]);
  }
  bool chance(Draw t, double p) const { return u(t, 0, 0) < p; }
};

double uniform(const AugmentRange& r, double u) { return r.lo + (r.hi - r.lo) * u; }

// batchgenerators' draw for factors: when the range spans 1, half the draws fall below 1 and
// half above, each uniform on its side.
double split(const AugmentRange& r, double branch, double u) {
  if (r.lo < 1 && r.hi > 1) return branch < 0.5 ? r.lo + (1 - r.lo) * u : 1 + (r.hi - 1) * u;
  return uniform(r, u);
}

void check_p(double p, const char* name) {
  FDL_CHECK(p >= 0 && p <= 1, "augment: ", name, ": probability ", p, " is not in [0, 1]");
}

// lo <= hi, both finite and within [min, max] (and above min when open).
void check_range(const AugmentRange& r, const char* name, double min, double max, bool open_min) {
  check_p(r.p, name);
  FDL_CHECK(std::isfinite(r.lo) && std::isfinite(r.hi) && r.lo <= r.hi, "augment: ", name,
            ": range [", r.lo, ", ", r.hi, "] is not an ordered pair of finite numbers");
  FDL_CHECK((open_min ? r.lo > min : r.lo >= min) && r.hi <= max, "augment: ", name, ": range [",
            r.lo, ", ", r.hi, "] is outside ", open_min ? "(" : "[", min, ", ", max, "]");
}

}  // namespace

std::array<std::array<double, 3>, 3> spatial_matrix(const AugmentPlan& p) {
  double r[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
  auto rotate = [&r](int axis, double angle) {  // r = R_axis(angle) r
    const int i = (axis + 1) % 3, j = (axis + 2) % 3;
    const double c = std::cos(angle), s = std::sin(angle);
    for (int k = 0; k < 3; ++k) {
      const double ri = r[i][k], rj = r[j][k];
      r[i][k] = c * ri - s * rj;
      r[j][k] = s * ri + c * rj;
    }
  };
  for (int a = 0; a < 3; ++a) rotate(a, p.angles[size_t(a)]);  // Rz Ry Rx
  std::array<std::array<double, 3>, 3> m{};
  for (int a = 0; a < 3; ++a)
    for (int k = 0; k < 3; ++k)
      m[size_t(a)][size_t(k)] = r[a][k] * p.scale[size_t(k)] * (p.mirror[size_t(k)] ? -1 : 1);
  return m;
}

namespace {

kernels::cpu::WarpMap spatial_map(const AugmentPlan& p, const std::array<int64_t, 3>& n) {
  const auto a = spatial_matrix(p);
  kernels::cpu::WarpMap m;
  for (int i = 0; i < 3; ++i) {
    m.centre[i] = double(n[size_t(i)] - 1) / 2;
    for (int k = 0; k < 3; ++k) m.a[i][k] = a[size_t(i)][size_t(k)];
  }
  return m;
}

// The elastic displacement (3, X, Y, Z): control points N(0, sigma^2) per axis, B-spline.
std::vector<float> elastic_field(const AugmentPlan& p, const std::array<int64_t, 3>& n) {
  int64_t points = 3;
  for (int64_t s : n) points *= kernels::cpu::bspline_points(s, p.elastic_spacing);
  std::vector<float> ctrl(static_cast<size_t>(points));
  for (int64_t b = 0; 4 * b < points; ++b) {
    const kernels::Philox4 r = kernels::philox(p.key, kElasticStream | uint64_t(b));
    for (int h = 0; h < 2; ++h) {
      const double rad = std::sqrt(-2 * std::log(1.0 - kernels::uniform01(r.v[2 * h])));
      const double ang = 2 * std::numbers::pi * kernels::uniform01(r.v[2 * h + 1]);
      const double g[2] = {rad * std::cos(ang), rad * std::sin(ang)};
      for (int k = 0; k < 2; ++k)
        if (4 * b + 2 * h + k < points)
          ctrl[size_t(4 * b + 2 * h + k)] = float(p.elastic_sigma * g[k]);
    }
  }
  std::vector<float> d(size_t(3 * n[0] * n[1] * n[2]));
  kernels::cpu::bspline_field(ctrl.data(), 3, p.elastic_spacing, d.data(), n[0], n[1], n[2]);
  return d;
}

// Nearest down to round(n * zoom) voxels per axis (at least 1), trilinear back up.
void low_res(float* v, const std::array<int64_t, 3>& n, double zoom) {
  std::array<int64_t, 3> m;
  for (size_t a = 0; a < 3; ++a) m[a] = std::max<int64_t>(1, std::llround(double(n[a]) * zoom));
  if (m == n) return;
  std::vector<float> coarse(size_t(m[0] * m[1] * m[2]));
  kernels::cpu::resize_nearest<float>(v, coarse.data(), 1, n[0], n[1], n[2], m[0], m[1], m[2]);
  kernels::cpu::resize_trilinear<float>(coarse.data(), v, 1, m[0], m[1], m[2], n[0], n[1], n[2]);
}

}  // namespace

void check_augment_options(const AugmentOptions& o) {
  const double inf = INFINITY;
  check_range(o.rotation, "rotation", -inf, inf, false);
  check_range(o.scaling, "scaling", 0, inf, true);
  check_range(o.elastic, "elastic", 0, inf, false);
  FDL_CHECK(std::isfinite(o.elastic_spacing) && o.elastic_spacing >= 1, "augment: elastic spacing ",
            o.elastic_spacing, " is not a finite number of voxels >= 1");
  check_p(o.mirror, "mirror");
  check_range(o.noise, "noise", 0, inf, false);
  check_range(o.blur, "blur", 0, inf, false);
  check_p(o.blur_per_channel, "blur per channel");
  check_range(o.brightness, "brightness", 0, inf, false);
  check_range(o.contrast, "contrast", 0, inf, false);
  check_range(o.low_res, "low resolution", 0, 1, true);
  check_p(o.low_res_per_channel, "low resolution per channel");
  check_range(o.gamma_inverted, "gamma inverted", 0, inf, true);
  check_range(o.gamma, "gamma", 0, inf, true);
}

AugmentPlan plan_augment(const AugmentOptions& o, int64_t channels, uint64_t seed, int64_t epoch,
                         int64_t case_index) {
  check_augment_options(o);
  FDL_CHECK(channels >= 1 && channels < (1 << 16), "augment: ", channels,
            " channels (1 to 65535 supported)");
  AugmentPlan p;
  p.key = item_key(seed, epoch, case_index);
  p.elastic_spacing = o.elastic_spacing;
  p.gamma_retain_stats = o.gamma_retain_stats;
  p.channels.resize(size_t(channels));
  const Draws d{p.key};
  if (d.chance(Draw::Rotation, o.rotation.p))
    for (int a = 0; a < 3; ++a)
      p.angles[size_t(a)] =
          uniform(o.rotation, d.u(Draw::Rotation, 0, 1 + a)) * std::numbers::pi / 180;
  if (d.chance(Draw::Scaling, o.scaling.p))
    for (int a = 0; a < 3; ++a) {
      const uint64_t slot = o.scale_per_axis ? uint64_t(1 + a) : 0;
      p.scale[size_t(a)] =
          split(o.scaling, d.u(Draw::Scaling, slot, 1), d.u(Draw::Scaling, slot, 2));
    }
  if (d.chance(Draw::Elastic, o.elastic.p))
    p.elastic_sigma = uniform(o.elastic, d.u(Draw::Elastic, 0, 1));
  for (int a = 0; a < 3; ++a) p.mirror[size_t(a)] = d.u(Draw::Mirror, 0, a) < o.mirror;
  if (d.chance(Draw::Noise, o.noise.p)) p.noise_std = uniform(o.noise, d.u(Draw::Noise, 0, 1));
  const bool blur = d.chance(Draw::Blur, o.blur.p),
             brightness = d.chance(Draw::Brightness, o.brightness.p),
             contrast = d.chance(Draw::Contrast, o.contrast.p),
             lowres = d.chance(Draw::LowRes, o.low_res.p),
             gamma_inv = d.chance(Draw::GammaInverted, o.gamma_inverted.p),
             gamma = d.chance(Draw::Gamma, o.gamma.p);
  for (int64_t c = 0; c < channels; ++c) {
    AugmentPlan::Channel& ch = p.channels[size_t(c)];
    const uint64_t slot = uint64_t(1 + c);
    if (blur && d.u(Draw::Blur, slot, 0) < o.blur_per_channel)
      ch.blur_sigma = uniform(o.blur, d.u(Draw::Blur, slot, 1));
    if (brightness) ch.brightness = uniform(o.brightness, d.u(Draw::Brightness, slot, 0));
    if (contrast)
      ch.contrast = split(o.contrast, d.u(Draw::Contrast, slot, 0), d.u(Draw::Contrast, slot, 1));
    if (lowres && d.u(Draw::LowRes, slot, 0) < o.low_res_per_channel)
      ch.low_res_zoom = uniform(o.low_res, d.u(Draw::LowRes, slot, 1));
    if (gamma_inv)
      ch.gamma_inverted = split(o.gamma_inverted, d.u(Draw::GammaInverted, slot, 0),
                                d.u(Draw::GammaInverted, slot, 1));
    if (gamma) ch.gamma = split(o.gamma, d.u(Draw::Gamma, slot, 0), d.u(Draw::Gamma, slot, 1));
  }
  return p;
}

Sample apply_augment(const Sample& s, const AugmentPlan& plan) {
  const Tensor &im = s.image, &lab = s.label;
  FDL_CHECK(im.defined() && im.dtype() == DType::F32 && im.ndim() == 4 &&
                im.device() == Device::CPU && im.numel() > 0,
            "augment: sample '", s.id,
            "': the image must be a non-empty float32 (C, X, Y, Z) tensor on the CPU, got ",
            im.defined() ? std::string(dtype_name(im.dtype())) + " " + im.shape().str() : "none");
  const std::array<int64_t, 3> n{im.size(1), im.size(2), im.size(3)};
  const Shape grid{n[0], n[1], n[2]};
  FDL_CHECK(
      lab.defined() && lab.dtype() == DType::I32 && lab.device() == Device::CPU &&
          lab.shape() == grid,
      "augment: sample '", s.id, "': the label must be int32 ", grid.str(),
      " on the CPU like the image, got ",
      lab.defined() ? std::string(dtype_name(lab.dtype())) + " " + lab.shape().str() : "none");
  const int64_t C = im.size(0), vol = n[0] * n[1] * n[2];
  FDL_CHECK(int64_t(plan.channels.size()) == C, "augment: sample '", s.id, "' has ", C,
            " channels but the plan was drawn for ", plan.channels.size());
  FDL_CHECK(vol / 4 < (int64_t(1) << 40), "augment: sample '", s.id, "' is too large (", vol,
            " voxels)");

  Sample out{s.id, Tensor::empty(im.shape(), DType::F32), Tensor::empty(lab.shape(), DType::I32)};
  float* img = out.image.data<float>();
  bool spatial = plan.elastic_sigma > 0;
  for (size_t a = 0; a < 3; ++a)
    spatial = spatial || plan.angles[a] != 0 || plan.scale[a] != 1 || plan.mirror[a];
  if (spatial) {
    kernels::cpu::WarpMap m = spatial_map(plan, n);
    std::vector<float> d;
    if (plan.elastic_sigma > 0) {
      d = elastic_field(plan, n);
      m.displacement = d.data();
    }
    kernels::cpu::warp(im.data<float>(), C, lab.data<int32_t>(), img, out.label.data<int32_t>(),
                       n[0], n[1], n[2], m);
  } else {
    out.image.copy_(im);
    out.label.copy_(lab);
  }

  for (int64_t c = 0; c < C; ++c) {
    const AugmentPlan::Channel& ch = plan.channels[size_t(c)];
    float* v = img + c * vol;
    if (plan.noise_std > 0)
      kernels::cpu::add_gaussian_noise(v, vol, float(plan.noise_std), plan.key,
                                       kNoiseStream | uint64_t(c) << 40);
    if (ch.blur_sigma > 0) kernels::cpu::gaussian_blur(v, 1, n[0], n[1], n[2], ch.blur_sigma);
    if (ch.brightness != 1) kernels::cpu::scale<float>(v, float(ch.brightness), v, vol);
    if (ch.contrast != 1) kernels::cpu::contrast(v, vol, ch.contrast);
    if (ch.low_res_zoom != 1) low_res(v, n, ch.low_res_zoom);
    if (ch.gamma_inverted != 1)
      kernels::cpu::gamma(v, vol, ch.gamma_inverted, true, plan.gamma_retain_stats);
    if (ch.gamma != 1) kernels::cpu::gamma(v, vol, ch.gamma, false, plan.gamma_retain_stats);
  }
  return out;
}

Sample augment(const Sample& s, const AugmentOptions& o, uint64_t seed, int64_t epoch,
               int64_t case_index) {
  FDL_CHECK(s.image.defined() && s.image.ndim() == 4, "augment: sample '", s.id,
            "': the image must be (C, X, Y, Z), got ",
            s.image.defined() ? s.image.shape().str() : "none");
  return apply_augment(s, plan_augment(o, s.image.size(0), seed, epoch, case_index));
}

}  // namespace fdl
