#pragma once
// Timing of the op table's timing cases (engine/ops/op_cases.h), for `fdl bench ops`.
#include "engine/ops/op_cases.h"

namespace fdl::bench {

struct OpTimes {
  double forward = 0;           // seconds, median: the op alone, recording nothing
  double forward_backward = 0;  // the op and its backward from a random output gradient
  bool has_backward = false;    // whether any input wants a gradient
};

// Float32 inputs drawn once and placed on d; one warm-up, then the median of `repeat` runs.
// On the GPU each run waits for the queue, so it counts the kernels, not their launch.
OpTimes time_op_case(const OpCase& c, Device d, int repeat);

}  // namespace fdl::bench
