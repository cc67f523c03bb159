#pragma once
// Resampling an image and its label map at mapped coordinates, both in one pass over the
// output grid (the same shape as the input): output voxel p reads the input at
//   q = c + A (p - c + d(p)),
// c the centre of the grid, A a 3x3 matrix and d an optional displacement field (voxels).
// The image is trilinear; corners outside the input read 0. The label takes, among the
// classes at the eight corners of q, the one whose trilinear weights sum highest (ties to the
// lower class); corners outside read class 0. That is the argmax of the trilinearly resampled
// one-hot channels, computed without them: a voxel only ever takes a class found at one of
// its corners, so no class is invented, and boundaries move as the image's do.
#include <cstdint>

namespace fdl::kernels::cpu {

struct WarpMap {
  double a[3][3];                       // A, row-major
  double centre[3];                     // c, in voxels
  const float* displacement = nullptr;  // d as (3, X, Y, Z), or nullptr for none
};

// image, out_image: nc contiguous float (X, Y, Z) volumes; label, out_label: int32 (X, Y, Z).
void warp(const float* image, int64_t nc, const int32_t* label, float* out_image,
          int32_t* out_label, int64_t X, int64_t Y, int64_t Z, const WarpMap& m);

}  // namespace fdl::kernels::cpu
