#pragma once
// Timing of whole training steps (forward, loss, backward, Adam) for `fdl bench train`.
#include <array>
#include <cstddef>
#include <string>

#include "engine/dtype.h"

namespace fdl::bench {

struct TrainStepTimes {
  double seconds = 0;     // median step time
  size_t peak_bytes = 0;  // the device allocator's peak over the timed steps (tensors only)
  double loss = 0;        // the last step's loss, to show the step did real work
};

// Float32 on `device`, dropout on, synthetic input (noise with a spherical label). On the GPU
// the clock stops after the step's queued work has finished; the GPU conv kernels are those
// set_cuda_conv_algo chose.
TrainStepTimes time_train_step(const std::string& model, std::array<int64_t, 3> shape, int batch,
                               int repeat, Device device = Device::CPU);

}  // namespace fdl::bench
