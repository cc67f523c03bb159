#pragma once
// Exact Euclidean distance transform on a 3-D grid with anisotropic voxel spacing.
#include <cstdint>

namespace fdl::kernels::cpu {

// feature (nx, ny, nz) row-major, nonzero = feature voxel. out[v] = the squared distance, in
// spacing units (mm^2), from voxel v to the nearest feature voxel, with voxel centres at
// (i * sx, j * sy, k * sz); +infinity everywhere when there is no feature voxel.
// Separable and exact (Saito-Toriwaki / Felzenszwalb-Huttenlocher): a 1-D lower envelope of
// parabolas along z, then y, then x; O(n) per line, OpenMP over the lines of each pass.
template <class T>
void squared_edt(const uint8_t* feature, T* out, int64_t nx, int64_t ny, int64_t nz, double sx,
                 double sy, double sz);

}  // namespace fdl::kernels::cpu
