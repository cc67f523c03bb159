// `fdl disentangle IMAGE -o OUT_DIR [--beta BX BY BZ] [--kspace-centre shifted|unshifted]`:
// splits a NIfTI volume into its low and high frequency parts (docs/method.md §2) and writes
//   <name>_high.nii.gz  the input's grid and affine (sform and qform kept), float32;
//   <name>_low.nii.gz   the small grid (m = int(n * beta) per axis), float32;
//   <name>_split.png    middle axial slice: input, low, high, and the spectrum with B outlined.
// The low grid's voxels are n/m times larger and its origin is the input's: low voxel j is
// the band-limited image sampled at input voxel j * n/m (the crop keeps each frequency's
// phase), so keeping the origin keeps the two registered. Its m voxels of size n/m cover the
// same extent as the input's n (the field of view of a periodic grid), shifted by
// (n/m - 1)/2 input voxels against the input's voxel-edge box; moving the origin to match the
// box instead would misregister the image by that amount (4.5 voxels at beta 0.1).
// Errors (a bad file, a beta giving an empty block, a failed write) leave no output behind;
// OUT_DIR is claimed as engine/io/output_dir.h says (not around the image, fdl's unless
// --overwrite, one writer).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "apps/command.h"
#include "engine/data/patch.h"
#include "engine/io/nifti.h"
#include "engine/io/output_dir.h"
#include "engine/io/png.h"
#include "engine/ops/spectral.h"

namespace {

namespace fs = std::filesystem;
using namespace fdl;

struct Options {
  std::string image, out_dir, centre = "shifted";
  std::vector<double> beta{0.1, 0.1, 1.0};
  bool overwrite = false;
};

std::string stem_of(const std::string& path) {
  const std::string name = fs::path(path).filename().string();
  for (const std::string ext : {".nii.gz", ".nii"})
    if (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0)
      return name.substr(0, name.size() - ext.size());
  throw Error(path + ": expected a .nii or .nii.gz file");
}

// Slice z of an (X, Y, Z) tensor, as an (X, Y) image.
Tensor axial_slice(const Tensor& v, int64_t z) {
  const int64_t X = v.size(0), Y = v.size(1), Z = v.size(2);
  Tensor s = Tensor::empty({X, Y});
  const float* in = v.data<float>();
  for (int64_t i = 0; i < X * Y; ++i) s.data<float>()[i] = in[i * Z + z];
  return s;
}

void run(const Options& o) {
  const KspaceCentre centre = parse_kspace_centre(o.centre);
  const std::string name = stem_of(o.image);
  const Volume vol = read_nifti(o.image);
  const Tensor& d = vol.data;
  const int64_t C = d.ndim() == 4 ? d.size(0) : 1;
  const Tensor x = d.reshape({1, C, d.size(-3), d.size(-2), d.size(-1)});
  const std::array<int64_t, 3> full{x.size(2), x.size(3), x.size(4)};
  SpectralBlock block;
  try {
    block = SpectralBlock::make(full, {o.beta[0], o.beta[1], o.beta[2]}, centre);
  } catch (const Error& e) {
    throw Error(o.image + ": " + e.what());
  }
  const SplitResult parts = spectral_split(x, {o.beta[0], o.beta[1], o.beta[2]}, centre);

  std::array<double, 3> scale{};
  for (size_t a = 0; a < 3; ++a) scale[a] = double(full[a]) / double(block.small[a]);
  const Volume low_header = regrid_header(vol, scale, {0, 0, 0});
  const Tensor low =
      parts.low.reshape(d.ndim() == 4 ? Shape{C, block.small[0], block.small[1], block.small[2]}
                                      : Shape{block.small[0], block.small[1], block.small[2]});
  const Tensor high = parts.high.reshape(d.shape());

  // The figure: the middle axial slice, and the low slice sampled nearest to it.
  const int64_t z = full[2] / 2;
  const int64_t zl = std::min<int64_t>(block.small[2] - 1, std::lround(double(z) / scale[2]));
  const Tensor input0 = channel_volume(x, 0);
  std::vector<PngPanel> panels(4);
  panels[0].image = axial_slice(input0, z);
  panels[1].image = axial_slice(channel_volume(parts.low, 0), zl);
  panels[2].image = axial_slice(channel_volume(parts.high, 0), z);
  panels[3].image = spectrum_display_plane(input0, centre);
  panels[3].outline = spectrum_display_block(block);

  // Write; on any failure remove the outputs, so no incomplete set remains.
  const fs::path dir(o.out_dir);
  const io::OutputDir out(o.out_dir, {{o.image}, {}, o.overwrite});
  const std::vector<fs::path> outs{dir / (name + "_high.nii.gz"), dir / (name + "_low.nii.gz"),
                                   dir / (name + "_split.png")};
  try {
    write_nifti(outs[0].string(), high, vol);
    write_nifti(outs[1].string(), low, low_header);
    write_panels_png(outs[2].string(), panels);
  } catch (...) {
    std::error_code ec;
    for (const fs::path& p : outs) fs::remove(p, ec);
    throw;
  }
  std::printf("%s: %s split (beta %g %g %g) of %s\n", o.image.c_str(), kspace_centre_name(centre),
              o.beta[0], o.beta[1], o.beta[2], d.shape().str().c_str());
  std::printf("  high %s -> %s\n  low  %s -> %s\n  figure -> %s\n", high.shape().str().c_str(),
              outs[0].c_str(), low.shape().str().c_str(), outs[1].c_str(), outs[2].c_str());
}

const bool registered = fdl::app::add_command(
    "disentangle", "Split a NIfTI volume into low and high frequency parts", [](CLI::App& cmd) {
      auto o = std::make_shared<Options>();
      cmd.add_option("image", o->image, "Input volume (.nii or .nii.gz, 3-D or 4-D with channels)")
          ->required();
      cmd.add_option("-o,--out", o->out_dir, "Output directory")->required();
      cmd.add_option("--beta", o->beta, "Block fraction per axis: BX BY BZ")
          ->expected(3)
          ->check(fdl::app::in_range(0.0, 1.0, true))
          ->capture_default_str();
      cmd.add_option("--kspace-centre", o->centre,
                     "shifted (the paper: true low frequencies) or unshifted (the release)")
          ->check(CLI::IsMember({"shifted", "unshifted"}))
          ->capture_default_str();
      fdl::app::add_overwrite_option(cmd, o->overwrite);
      cmd.callback([o] { run(*o); });
    });

}  // namespace
