#pragma once
// CPU resizing of nc contiguous (X, Y, Z) volumes to (OX, OY, OZ), with torch's
// F.interpolate geometry for align_corners=False (half-voxel centres).
#include <cstdint>

namespace fdl::kernels::cpu {

// Trilinear, as F.interpolate(mode='trilinear', align_corners=False): source coordinate
// max(0, (d + 0.5) * in/out - 0.5) per axis, clamped at the last voxel.
template <class T>
void resize_trilinear(const T* x, T* y, int64_t nc, int64_t X, int64_t Y, int64_t Z, int64_t OX,
                      int64_t OY, int64_t OZ);

// Nearest, as F.interpolate(mode='nearest-exact'): source index floor((d + 0.5) * in/out),
// clamped, with torch's float arithmetic so the indices match exactly.
template <class T>
void resize_nearest(const T* x, T* y, int64_t nc, int64_t X, int64_t Y, int64_t Z, int64_t OX,
                    int64_t OY, int64_t OZ);

}  // namespace fdl::kernels::cpu
