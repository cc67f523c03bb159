#include "engine/data/phantoms.h"

#include <nifti2_io.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "engine/io/atomic_file.h"
#include "engine/io/nifti.h"
#include "engine/io/output_dir.h"
#include "engine/memory_limit.h"
#include "kernels/common/philox.h"

namespace fdl {

namespace {

namespace fs = std::filesystem;

// The field of view in mm (x: right, y: anterior, z: superior), whatever the grid: a larger
// grid samples the same head more finely.
constexpr double kFov[3] = {64, 64, 48};

// Each case draws its parameters and its noise from its own Philox counter range, so a case
// does not depend on how many cases are made or in what order.
constexpr uint64_t kCaseStride = uint64_t(1) << 40;
constexpr uint64_t kNoiseOffset = uint64_t(1) << 36;

struct Draw {
  uint64_t seed, base, i = 0;
  double operator()(double lo, double hi) {
    return lo + (hi - lo) * double(kernels::philox_uniform(seed, base, i++));
  }
};

using Vec3 = std::array<double, 3>;

double sigmoid(double t) { return 1.0 / (1.0 + std::exp(-t)); }

// A soft ellipsoid: centre, semi-axes (mm) and a rotation about z. occupancy() is ~1 inside
// and ~0 outside, with an edge a fraction of a millimetre wide (partial volume).
struct Ellipsoid {
  Vec3 c{}, a{};
  double yaw = 0;
  // Normalised radius: 1 on the surface. `dir` gets the unit direction in the scaled frame.
  double radius(const Vec3& p, Vec3* dir = nullptr) const {
    const double dx = p[0] - c[0], dy = p[1] - c[1], dz = p[2] - c[2];
    const double cs = std::cos(yaw), sn = std::sin(yaw);
    const double u = (cs * dx + sn * dy) / a[0], v = (-sn * dx + cs * dy) / a[1], w = dz / a[2];
    const double r = std::sqrt(u * u + v * v + w * w);
    if (dir) *dir = r > 0 ? Vec3{u / r, v / r, w / r} : Vec3{0, 0, 0};
    return r;
  }
  double mean_axis() const { return (a[0] + a[1] + a[2]) / 3; }
  double occupancy(const Vec3& p) const {
    const double r = radius(p);
    return r > 2 ? 0.0 : sigmoid(-(r - 1) * mean_axis() / kEdge);
  }
  static constexpr double kEdge = 0.3;  // mm
};

// A dentate-like nucleus: a thick ellipsoidal shell (the folded grey-matter ribbon) open
// towards its hilum, which faces medially and anteriorly.
struct Dentate {
  Ellipsoid outer;
  double inner = 0.5;  // inner radius of the shell, as a fraction of the outer
  Vec3 hilum{};        // unit direction of the opening, in the scaled frame
  double occupancy(const Vec3& p) const {
    Vec3 d;
    const double r = outer.radius(p, &d);
    if (r > 2) return 0.0;
    const double s = outer.mean_axis() / Ellipsoid::kEdge;
    const double open = d[0] * hilum[0] + d[1] * hilum[1] + d[2] * hilum[2];
    return sigmoid(-(r - 1) * s) * sigmoid((r - inner) * s) * sigmoid((0.55 - open) * 8);
  }
};

struct Anatomy {
  Ellipsoid brain, stem;
  Ellipsoid cerebellum[2], red[2], nigra[2];
  Dentate dentate[2];
  double stem_chi, cerebellum_chi, red_chi[2], nigra_chi[2], dentate_chi[2];
  Vec3 wave_k[4];
  double wave_phase[4], wave_amp;
  double bias[6], noise;
  double scale, yaw, pitch;
  Vec3 shift;
};

Anatomy draw_anatomy(Draw& u) {
  Anatomy A;
  A.scale = u(0.92, 1.08);
  A.yaw = u(-0.08, 0.08);
  A.pitch = u(-0.06, 0.06);
  A.shift = {u(-2, 2), u(-2, 2), u(-1.5, 1.5)};

  A.brain = {{0, 0, 0}, {30, 30, 23}, 0};
  A.stem = {{0, u(-1, 1), u(-2, 2)}, {u(10, 12), u(9, 11), 28}, 0};
  A.stem_chi = u(-0.02, -0.005);  // white matter tracts are mildly diamagnetic
  A.cerebellum_chi = u(0.0, 0.008);
  A.wave_amp = u(0.001, 0.004);
  for (int w = 0; w < 4; ++w) {
    const double len = u(8, 24), th = u(0, 2 * M_PI), ph = u(-0.6, 0.6);
    A.wave_k[w] = {2 * M_PI / len * std::cos(th) * std::cos(ph),
                   2 * M_PI / len * std::sin(th) * std::cos(ph), 2 * M_PI / len * std::sin(ph)};
    A.wave_phase[w] = u(0, 2 * M_PI);
  }

  // Paired structures: side 0 is the subject's right (+x), side 1 the left (-x).
  const double red_size = u(0.88, 1.12), dent_size = u(0.88, 1.12);
  const Vec3 red_c{u(4.8, 6), u(3.5, 6.5), u(6, 9)};
  const Vec3 dent_c{u(12.5, 15), u(-16, -12), u(-12, -8)};
  const double red_chi = u(0.08, 0.15), dent_chi = u(0.07, 0.13), nigra_chi = u(0.04, 0.08);
  for (int s = 0; s < 2; ++s) {
    const double side = s == 0 ? 1 : -1;
    A.cerebellum[s] = {{side * 16, -17, -11}, {15, 13, 11}, 0};
    A.red[s] = {
        {side * (red_c[0] + u(-0.5, 0.5)), red_c[1] + u(-0.7, 0.7), red_c[2] + u(-0.7, 0.7)},
        {3.6 * red_size * u(0.92, 1.08), 4.0 * red_size * u(0.92, 1.08),
         3.8 * red_size * u(0.92, 1.08)},
        side * u(-0.2, 0.2)};
    A.red_chi[s] = red_chi * u(0.9, 1.1);
    A.nigra[s] = {{side * u(8, 10), u(6, 9), u(1, 3)},
                  {u(1.6, 2.2), u(5, 7), u(1.8, 2.4)},
                  side * u(0.5, 0.8)};
    A.nigra_chi[s] = nigra_chi * u(0.9, 1.1);
    A.dentate[s].outer = {
        {side * (dent_c[0] + u(-0.7, 0.7)), dent_c[1] + u(-1, 1), dent_c[2] + u(-1, 1)},
        {6.5 * dent_size * u(0.92, 1.08), 5 * dent_size * u(0.92, 1.08),
         4.5 * dent_size * u(0.92, 1.08)},
        side * u(0.3, 0.6)};
    A.dentate[s].inner = u(0.4, 0.55);
    const Vec3 h{-side * 0.8, 0.5, 0.3};
    const double hn = std::sqrt(h[0] * h[0] + h[1] * h[1] + h[2] * h[2]);
    A.dentate[s].hilum = {h[0] / hn, h[1] / hn, h[2] / hn};
    A.dentate_chi[s] = dent_chi * u(0.9, 1.1);
  }
  for (double& b : A.bias) b = u(-1, 1);
  A.noise = u(0.008, 0.014);
  return A;
}

}  // namespace

PhantomCase make_phantom(const PhantomOptions& opt, int index) {
  // Not a structured binding: clang before 16 cannot name one inside the OpenMP loop below.
  const int64_t X = opt.shape[0], Y = opt.shape[1], Z = opt.shape[2];
  FDL_CHECK(X >= 4 && Y >= 4 && Z >= 4, "phantoms: shape must be at least 4 per axis, got ", X, " ",
            Y, " ", Z);
  FDL_CHECK(index >= 0, "phantoms: negative case index ", index);
  PhantomCase pc;
  pc.spacing = {kFov[0] / double(X), kFov[1] / double(Y), kFov[2] / double(Z)};
  const uint64_t base = uint64_t(index) * kCaseStride;
  Draw u{opt.seed, base};
  const Anatomy A = draw_anatomy(u);
  const uint64_t noise_at = base + kNoiseOffset;

  pc.image = Tensor::empty({X, Y, Z});
  pc.label = Tensor::empty({X, Y, Z}, DType::I32);
  float* img = pc.image.data<float>();
  int32_t* lab = pc.label.data<int32_t>();
  const double cy = std::cos(A.yaw), sy = std::sin(A.yaw), cp = std::cos(A.pitch),
               sp = std::sin(A.pitch);

#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t i = 0; i < X; ++i) {
    for (int64_t j = 0; j < Y; ++j) {
      for (int64_t k = 0; k < Z; ++k) {
        const int64_t v = (i * Y + j) * Z + k;
        // World position (mm, centred), then the subject's own frame: undo shift, yaw
        // (about z), pitch (about x) and head size.
        const Vec3 w{(double(i) + 0.5) * pc.spacing[0] - kFov[0] / 2,
                     (double(j) + 0.5) * pc.spacing[1] - kFov[1] / 2,
                     (double(k) + 0.5) * pc.spacing[2] - kFov[2] / 2};
        const double x0 = w[0] - A.shift[0], y0 = w[1] - A.shift[1], z0 = w[2] - A.shift[2];
        const double x1 = cy * x0 + sy * y0, y1 = -sy * x0 + cy * y0;
        const double y2 = cp * y1 + sp * z0, z2 = -sp * y1 + cp * z0;
        const Vec3 p{x1 / A.scale, y2 / A.scale, z2 / A.scale};

        const double brain = A.brain.occupancy(p);
        if (brain < 1e-4) {  // QSM is masked to the brain: zero outside
          img[v] = 0;
          lab[v] = 0;
          continue;
        }
        double chi = A.stem_chi * A.stem.occupancy(p);
        for (int w4 = 0; w4 < 4; ++w4)
          chi += A.wave_amp * std::cos(A.wave_k[w4][0] * p[0] + A.wave_k[w4][1] * p[1] +
                                       A.wave_k[w4][2] * p[2] + A.wave_phase[w4]);
        double red = 0, dent = 0;
        for (int s = 0; s < 2; ++s) {
          chi += A.cerebellum_chi * A.cerebellum[s].occupancy(p);
          chi += A.nigra_chi[s] * A.nigra[s].occupancy(p);
          const double r = A.red[s].occupancy(p), d = A.dentate[s].occupancy(p);
          chi += A.red_chi[s] * r + A.dentate_chi[s] * d;
          red = std::max(red, r);
          dent = std::max(dent, d);
        }
        // A smooth multiplicative field (receive-coil-like), about +-15% over the head.
        const double xn = w[0] / kFov[0], yn = w[1] / kFov[1], zn = w[2] / kFov[2];
        const double field =
            std::exp(0.15 * (A.bias[0] * xn + A.bias[1] * yn + A.bias[2] * zn) +
                     0.3 * (A.bias[3] * xn * xn + A.bias[4] * yn * zn + A.bias[5] * zn * zn));
        // Box-Muller on words 2(v%2), 2(v%2)+1 of block v/2 of the case's noise stream.
        const kernels::Philox4 r4 = kernels::philox(opt.seed, noise_at + uint64_t(v) / 2);
        const int o = int(v % 2) * 2;
        const double u1 = 1.0 - double(kernels::uniform01(r4.v[o])),
                     u2 = double(kernels::uniform01(r4.v[o + 1]));
        const double n = std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * M_PI * u2);
        img[v] = float(brain * (chi * field + A.noise * n));
        lab[v] = red >= 0.5 ? 1 : dent >= 0.5 ? 2 : 0;
      }
    }
  }
  return pc;
}

void write_phantoms(const std::string& dir, const PhantomOptions& opt) {
  FDL_CHECK(opt.cases >= 1, "phantoms: --cases must be at least 1, got ", opt.cases);
  FDL_CHECK(opt.cases <= 1000, "phantoms: --cases must be at most 1000, got ", opt.cases);
  std::optional<uint64_t> bytes = 2 * sizeof(float);  // a case's image and label
  for (int64_t n : opt.shape)
    if (bytes) bytes = n >= 0 ? checked_mul(*bytes, uint64_t(n)) : std::nullopt;
  check_memory(bytes, detail::concat("phantoms: --shape ", opt.shape[0], " ", opt.shape[1], " ",
                                     opt.shape[2]));
  const fs::path root(dir);
  const io::OutputDir out(dir, {{}, {"imagesTr", "labelsTr"}, opt.overwrite});

  nlohmann::json training = nlohmann::json::array();
  for (int c = 0; c < opt.cases; ++c) {
    const PhantomCase pc = make_phantom(opt, c);
    // 1 mm-ish voxels in RAS with the grid centred on the origin, as a scanner would store it.
    Volume h;
    h.spacing = pc.spacing;
    h.affine = Affine{};
    for (size_t a = 0; a < 3; ++a) {
      h.affine[a][a] = pc.spacing[a];
      h.affine[a][3] = -kFov[a] / 2 + pc.spacing[a] / 2;
    }
    h.affine[3][3] = 1;
    h.qform = h.sform = h.affine;
    h.qform_code = h.sform_code = NIFTI_XFORM_SCANNER_ANAT;
    h.xyz_units = NIFTI_UNITS_MM;
    char name[32];
    std::snprintf(name, sizeof name, "case_%03d.nii.gz", c);
    write_nifti((root / "imagesTr" / name).string(), pc.image, h, NiftiOutType::Float32);
    write_nifti((root / "labelsTr" / name).string(), pc.label.to(DType::F32), h,
                NiftiOutType::UInt8);
    training.push_back({{"image", std::string("./imagesTr/") + name},
                        {"label", std::string("./labelsTr/") + name}});
  }
  const nlohmann::json j = {
      {"name", "fdl-phantoms"},
      {"description",
       "Synthetic QSM-like midbrain and cerebellum: red nuclei (1) and dentate nuclei (2)"},
      {"reference", "fdl phantoms"},
      {"licence", "CC0"},
      {"tensorImageSize", "3D"},
      {"seed", opt.seed},
      {"modality", {{"0", "QSM"}}},
      {"labels", {{"0", "background"}, {"1", "red_nucleus"}, {"2", "dentate"}}},
      {"numTraining", opt.cases},
      {"numTest", 0},
      {"training", training},
      {"test", nlohmann::json::array()},
  };
  io::write_file_atomic((root / "dataset.json").string(), j.dump(2) + "\n");
}

}  // namespace fdl
