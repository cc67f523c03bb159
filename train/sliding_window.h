#pragma once
// Sliding-window inference (docs/method.md §6.4): the network runs on patches that tile the
// volume with overlap, and each voxel's logits are the mean of the patches that cover it,
// weighted by a Gaussian importance map that trusts a patch's centre more than its border.
// Memory on the device is bounded by the patch, not the volume. The input streams
// (SegModel::input_streams) are computed once from the whole volume on the host.
#include <array>
#include <cstdint>
#include <vector>

#include "engine/data/patch.h"
#include "models/seg_model.h"

namespace fdl::train {

struct SlidingWindow {
  Index3 patch{128, 128, 128};
  double overlap = 0.5;  // the fraction of a patch its neighbour shares, in [0, 1)
  bool mirror = false;   // test-time augmentation: the mean over the 8 mirrorings
};

// The starts of the windows along one axis of n voxels: as few windows as keep the step at
// most patch * (1 - overlap), spread evenly from 0 to n - patch (both ends included). One
// window at 0 when n <= patch (the crop pads it).
std::vector<int64_t> window_starts(int64_t n, int64_t patch, double overlap);

// float32 (X, Y, Z): exp(-d^2 / (2 sigma^2)) with sigma = patch / 8 per axis, d the distance
// to the patch's centre, scaled to a maximum of 1; no weight is below 1e-3 of it (nnU-Net's
// choice: a border voxel covered by one patch only still gets a finite mean).
Tensor gaussian_importance(Index3 patch);

// image: float32 (C, X, Y, Z) on the host, preprocessed. The model runs in eval mode, without
// a tape, on the device its weights are on (and is left in eval mode). Returns float32 logits (K,
// X, Y, Z) on the host. The patch must be divisible by 4 on every axis (the networks' two
// poolings).
Tensor sliding_window_logits(SegModel& model, const Tensor& image, const SlidingWindow& w);

}  // namespace fdl::train
