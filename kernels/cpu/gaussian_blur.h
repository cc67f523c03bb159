#pragma once
// Separable Gaussian smoothing of (X, Y, Z) volumes, as scipy.ndimage.gaussian_filter with its
// defaults: a kernel exp(-i^2 / (2 sigma^2)) for |i| <= round(4 sigma), normalised to sum 1,
// and mirror-reflected borders (d c b a | a b c d | d c b a).
#include <cstdint>
#include <vector>

namespace fdl::kernels::cpu {

// The normalised 1-D kernel, of 2 * round(4 sigma) + 1 taps (sigma > 0).
std::vector<float> gaussian_kernel(double sigma);

// Smooths each of nc contiguous (X, Y, Z) volumes of x in place, with the same sigma (voxels)
// along every axis.
void gaussian_blur(float* x, int64_t nc, int64_t X, int64_t Y, int64_t Z, double sigma);

}  // namespace fdl::kernels::cpu
