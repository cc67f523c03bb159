#pragma once
// The intensity transforms of data augmentation, on one channel of n voxels in place, as
// batchgenerators (nnU-Net's augmentation library) defines them. Every voxel's result is
// computed alone and statistics are summed in a fixed order, so the bits do not depend on
// the number of threads.
#include <cstdint>

namespace fdl::kernels::cpu {

// x += std * N(0, 1), voxel i's normal from Philox block counter + i / 4 of stream `key`
// (Box-Muller on its words 0-1 and 2-3).
void add_gaussian_noise(float* x, int64_t n, float std, uint64_t key, uint64_t counter);

// Contrast about the mean m by `factor`, clipped to the channel's original [min, max]:
// x = clamp((x - m) * factor + m, min, max).
void contrast(float* x, int64_t n, double factor);

// Gamma on the range-normalised channel: x = ((x - min) / (max - min + 1e-7))^gamma *
// (max - min) + min, which keeps min and max. With retain_stats the result is then shifted
// and scaled back to the channel's original mean and standard deviation (nnU-Net's
// setting). With invert the whole transform runs on -x and the result is negated back, so
// the bright end is the one that gamma bends.
void gamma(float* x, int64_t n, double gamma, bool invert, bool retain_stats);

}  // namespace fdl::kernels::cpu
