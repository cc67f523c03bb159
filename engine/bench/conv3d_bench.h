#pragma once
// Timing of the conv3d kernels, one pass at a time, for `fdl bench conv3d`.
#include "kernels/common/conv3d_shape.h"

namespace fdl::bench {

struct Conv3dTimes {
  double fwd = 0, dgrad = 0, wgrad = 0;  // seconds, median of the runs
};

// Float32 on the CPU with all OpenMP threads. One warm-up run, then the median of `repeat`.
Conv3dTimes time_conv3d(const kernels::Conv3dShape& s, int repeat);

}  // namespace fdl::bench
