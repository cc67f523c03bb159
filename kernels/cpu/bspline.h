#pragma once
// Dense fields from a coarse grid of control points by uniform cubic B-splines, the smooth
// random displacements of elastic deformation. Along an axis of n voxels with control points
// every s voxels, control point j sits at voxel (j - 1) * s, and voxel p takes the four
// points around it: with t = p / s, i = floor(t), f = t - i, the value is
//   B0(f) c[i] + B1(f) c[i+1] + B2(f) c[i+2] + B3(f) c[i+3],
// so an axis needs bspline_points(n, s) = floor((n - 1) / s) + 4 of them. The weights sum to
// 1 and reproduce linear functions, and the field is twice continuously differentiable.
#include <cstdint>

namespace fdl::kernels::cpu {

int64_t bspline_points(int64_t n, double spacing);

// ctrl: nc contiguous (KX, KY, KZ) grids with K = bspline_points(n, spacing) per axis;
// out: nc contiguous (X, Y, Z) fields.
void bspline_field(const float* ctrl, int64_t nc, double spacing, float* out, int64_t X, int64_t Y,
                   int64_t Z);

}  // namespace fdl::kernels::cpu
