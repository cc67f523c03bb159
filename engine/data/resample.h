#pragma once
// Resizing volumes to a target grid, with the geometry of torch's F.interpolate on
// align_corners=False: output voxel centre d sits at input coordinate (d + 0.5) * in/out - 0.5.
#include <array>

#include "engine/tensor.h"

namespace fdl {

// x: float (X, Y, Z) or (C, X, Y, Z) on the CPU; trilinear, as F.interpolate(mode='trilinear').
Tensor resize_trilinear(const Tensor& x, std::array<int64_t, 3> shape);

// x: float or int32 (X, Y, Z) or (C, X, Y, Z) on the CPU; each output voxel takes the input
// voxel that contains its centre, as F.interpolate(mode='nearest-exact'). This keeps a label
// map registered with an image resized by resize_trilinear (torch's plain 'nearest' takes
// floor(d * in/out) and shifts the map by up to half an input voxel).
Tensor resize_nearest(const Tensor& x, std::array<int64_t, 3> shape);

}  // namespace fdl
