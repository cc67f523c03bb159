#pragma once
// Bringing a case onto the network's grid and back: fit (resize or centred crop/pad),
// per-channel intensity normalisation, and the inverse map for predicted masks.
//
// Order: each channel is normalised on its ORIGINAL grid, then fitted. The statistics then
// come from the scanned voxels only (not from padding, and the same whichever fit is used),
// a percentile clip removes outliers before interpolation can spread them, and the padding
// that CropPad adds is exactly 0 in normalised units. Trilinear weights sum to 1, so for the
// linear normalisations resizing afterwards changes nothing but the sampling.
//
// CropPad centring, per axis with n input and t target voxels: a pad puts floor((t - n) / 2)
// zeros before and the rest after; a crop drops floor((n - t) / 2) voxels before and the rest
// after. An odd difference thus leaves the extra voxel at the end (as nnU-Net pads).
#include <array>
#include <string>

#include "engine/tensor.h"

namespace fdl {

enum class Fit { Resize, CropPad };
enum class Norm { MinMax, ZScore, Percentile };

struct Preprocess {
  // Constructors, not an aggregate, so that load_case(c, {X, Y, Z}, k) is not ambiguous.
  Preprocess() = default;
  explicit Preprocess(std::array<int64_t, 3> s) : shape(s) {}
  std::array<int64_t, 3> shape{160, 160, 128};
  Fit fit = Fit::Resize;
  Norm norm = Norm::MinMax;
  double pct_low = 0.5, pct_high = 99.5;  // Percentile: clip to these, then min-max
};

Fit parse_fit(const std::string& s);    // "resize" | "crop-pad"
Norm parse_norm(const std::string& s);  // "minmax" | "zscore" | "percentile"
std::string fit_name(Fit f);
std::string norm_name(Norm n);

struct Prepared {
  Tensor image;  // float32 (C, X, Y, Z) at p.shape
  Tensor label;  // int32 (X, Y, Z) at p.shape, or undefined when no label was given
  std::array<int64_t, 3> original_shape{};
};

// image: float (C, X, Y, Z) on the CPU; label: int32 (X, Y, Z) of the same spatial shape, or
// undefined. Resize is trilinear for the image and nearest for the label (resample.h).
// Normalisation per channel: MinMax maps [min, max] to [0, 1]; ZScore gives mean 0 and
// standard deviation 1 (population) over the volume; Percentile clips to the pct_low and
// pct_high percentiles (linear interpolation between order statistics, as numpy's default)
// and then min-max. A constant channel becomes zeros.
Prepared prepare(const Tensor& image, const Tensor& label, const Preprocess& p);

// The inverse of prepare's fit for an int32 (X, Y, Z) mask at p.shape: nearest resize back
// for Resize; for CropPad the exact un-crop, with background (0) where the crop cut away.
Tensor restore_mask(const Tensor& mask, std::array<int64_t, 3> original_shape, const Preprocess& p);

}  // namespace fdl
