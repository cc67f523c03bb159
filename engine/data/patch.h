#pragma once
// Pieces of whole volumes on the host, for training on patches, sliding-window inference and
// figures: the crop (padding with zeros outside the volume), one channel, the mirror, and the
// choice of a training patch with foreground oversampling.
#include <array>
#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace fdl {

using Index3 = std::array<int64_t, 3>;

// x: float32 or int32 (..., X, Y, Z) on the CPU, any leading dims. The block [start, start +
// size) of the last three axes; voxels outside x are 0. start may be negative.
Tensor crop_pad(const Tensor& x, Index3 start, Index3 size);

// Channel c of a float32 (C, X, Y, Z) or (1, C, X, Y, Z) CPU volume, as a copy (X, Y, Z).
Tensor channel_volume(const Tensor& x, int64_t c);

// x: float32 or int32 (..., X, Y, Z) on the CPU, mirrored along the spatial axes that are set.
Tensor mirror(const Tensor& x, std::array<bool, 3> axes);

// Where the labelled voxels of a case are, per foreground class: the flat (X, Y, Z) indices
// of at most max_per_class of them, evenly spaced over the class's voxels in memory order
// (nnU-Net keeps a random 10000; an even stride needs no generator and covers the class as
// well). Built once per case.
struct ForegroundIndex {
  Index3 shape{};
  std::vector<std::vector<int64_t>> voxels;  // [k - 1] for class k = 1..K-1; empty if absent
};
ForegroundIndex index_foreground(const Tensor& label, int classes, size_t max_per_class = 10000);

// The start of a training patch of `patch` voxels in a volume of fg.shape, drawn from the
// counter-based stream `key` (so a patch depends only on the run's seed, the epoch and the
// case). With probability `foreground_fraction` (and when the case has any foreground) the
// patch is centred on a labelled voxel: a class present in the case drawn uniformly, then one
// of its indexed voxels. Otherwise the start is uniform over the positions that keep the
// patch inside the volume (or centre it, on an axis where the volume is smaller than the
// patch). A centred patch is shifted inside the volume where it fits; where it does not, the
// crop pads.
struct PatchDraw {
  Index3 start{};
  bool foreground = false;  // centred on a labelled voxel
};
PatchDraw draw_patch(const ForegroundIndex& fg, Index3 patch, double foreground_fraction,
                     uint64_t key);

}  // namespace fdl
