#pragma once
// Data augmentation of a training sample on the CPU: nnU-Net's default recipe for 3-D
// patches. The spatial transforms (rotation, scaling, elastic deformation, mirroring) are
// composed into one resampling pass that the image and the label share; then the intensity
// transforms run on the image, per channel, in nnU-Net's order: Gaussian noise, Gaussian blur,
// brightness, contrast, low-resolution simulation, gamma of the inverted image, gamma.
//
// Every random number comes from Philox keyed by (seed, epoch, case index), so the result is
// a pure function of the sample and those three numbers: the same in every run, with any
// number of threads and in any order. Resume stays bit-exact, and worker threads may prepare
// samples in any order.
//
// Geometry. Output voxel p (the output has the input's shape) reads the input at
//   q = c + R S M (p - c + d(p)),
// c the centre of the grid ((n - 1) / 2 per axis), R = Rz Ry Rx the rotation, S the scaling,
// M the mirroring (-1 on a mirrored axis) and d the elastic displacement. A scale below 1
// reads a smaller region, so the anatomy appears larger (nnU-Net's convention). Angles and
// scales act on voxel indices, as nnU-Net's do on its resampled grid. The image is trilinear
// with 0 outside the input: the value that CropPad padding has in fdl's normalised units,
// and nnU-Net's. The label is the argmax of its trilinearly resampled one-hot channels, ties
// to the lower class, with class 0 outside (kernels/cpu/warp.h): a voxel only takes a class
// present at one of its eight source corners (or 0 outside), so no class is invented, and
// label boundaries move exactly as the image's 0.5 level set of that class does.
//
// Defaults, and the draws that follow them, are nnU-Net v2's (nnUNetTrainer's training
// transforms and its 3-D rotation setting, with the batchgenerators transforms they call):
// rotation p 0.2 with all three angles in [-30, 30] degrees; scaling p 0.2 in [0.7, 1.4], one
// factor for all axes; no elastic deformation; mirroring p 0.5 per axis; Gaussian noise p 0.1
// with a standard deviation in [0, 0.1] (batchgenerators calls this range a variance but
// draws the noise with it as the standard deviation, as here); Gaussian blur p 0.2, then per
// channel p 0.5 with its own sigma in [0.5, 1] voxels; brightness p 0.15, a multiplier in
// [0.75, 1.25] per channel; contrast p 0.15, a factor in [0.75, 1.25] per channel, clipped to
// the channel's range; low resolution p 0.25, then per channel p 0.5 with its own zoom in
// [0.5, 1] (nearest down, then back up; nnU-Net uses cubic for the way up, fdl trilinear);
// gamma of the inverted image p 0.1 and gamma p 0.3, in [0.7, 1.5] per channel, both keeping
// the channel's mean and standard deviation. Scaling, contrast and gamma draw half of their
// values below 1 and half above (uniform on each side), as batchgenerators does, so that
// shrinking and enlarging are equally likely. Elastic deformation, which nnU-Net v2 turns
// off, is a cubic B-spline through control points every `elastic_spacing` voxels
// (kernels/cpu/bspline.h), each moved by N(0, sigma^2) voxels per axis; the spline shrinks
// that to a displacement of about a third of sigma. The default range (sigma up to 8 voxels,
// so displacements of up to about 3 voxels, varying over about 12) is close to nnU-Net v1's
// elastic setting (alpha up to 900 and sigma 9 to 13 give 1.7 to 2.9 voxels).
#include <array>
#include <cstdint>
#include <vector>

#include "engine/data/dataset.h"

namespace fdl {

// A transform's probability per sample and the range its parameter is drawn from.
struct AugmentRange {
  double p = 0;
  double lo = 0, hi = 0;
};

struct AugmentOptions {
  AugmentRange rotation{0.2, -30, 30};  // degrees, one angle per axis
  AugmentRange scaling{0.2, 0.7, 1.4};  // sampling scale; below 1 enlarges
  bool scale_per_axis = false;          // one factor per axis instead of one for all
  AugmentRange elastic{0, 0, 8};        // control-point displacement sigma, voxels
  double elastic_spacing = 12;          // control-point spacing, voxels
  double mirror = 0.5;                  // probability per axis
  AugmentRange noise{0.1, 0, 0.1};      // standard deviation
  AugmentRange blur{0.2, 0.5, 1};       // sigma, voxels
  double blur_per_channel = 0.5;        // probability per channel once blur is drawn
  AugmentRange brightness{0.15, 0.75, 1.25};
  AugmentRange contrast{0.15, 0.75, 1.25};
  AugmentRange low_res{0.25, 0.5, 1};  // zoom of the coarse grid
  double low_res_per_channel = 0.5;
  AugmentRange gamma_inverted{0.1, 0.7, 1.5};
  AugmentRange gamma{0.3, 0.7, 1.5};
  bool gamma_retain_stats = true;  // keep the channel's mean and standard deviation
};

// fdl::Error naming the option and the problem: a probability outside [0, 1], a range with
// lo > hi, or a value outside what the transform accepts (non-finite, a scale or gamma <= 0,
// a negative factor, sigma or standard deviation, a zoom outside (0, 1], a spacing below 1).
void check_augment_options(const AugmentOptions& o);

// What one sample's augmentation drew. A transform not drawn holds its identity (angle 0,
// scale 1, sigma 0, factor 1, zoom 1) and is skipped, so all-zero probabilities leave the
// sample bit-identical.
struct AugmentPlan {
  uint64_t key = 0;                // the Philox key of (seed, epoch, case): noise and elastic draws
  std::array<double, 3> angles{};  // radians, about x, y and z
  std::array<double, 3> scale{1, 1, 1};
  double elastic_sigma = 0, elastic_spacing = 12;
  std::array<bool, 3> mirror{};
  double noise_std = 0;
  struct Channel {
    double blur_sigma = 0, brightness = 1, contrast = 1, low_res_zoom = 1;
    double gamma_inverted = 1, gamma = 1;
  };
  std::vector<Channel> channels;
  bool gamma_retain_stats = true;
};

// The draws for a sample of `channels` channels. Each draw has its own fixed Philox counter,
// so changing one option never shifts the draws of another.
AugmentPlan plan_augment(const AugmentOptions& o, int64_t channels, uint64_t seed, int64_t epoch,
                         int64_t case_index);

// A = R S M of the geometry above, row-major: output voxel offsets map to input offsets by it.
std::array<std::array<double, 3>, 3> spatial_matrix(const AugmentPlan& plan);

// Applies a plan. s: float32 image (C, X, Y, Z) and int32 label (X, Y, Z) on the CPU, C equal
// to the plan's channels; fdl::Error naming the sample otherwise. The input is not changed.
Sample apply_augment(const Sample& s, const AugmentPlan& plan);

// apply_augment(s, plan_augment(o, C, seed, epoch, case_index)).
Sample augment(const Sample& s, const AugmentOptions& o, uint64_t seed, int64_t epoch,
               int64_t case_index);

}  // namespace fdl
