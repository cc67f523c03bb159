#pragma once
// Channel dropout decision, shared by the CPU and CUDA kernels so both drop the same
// channels for the same generator state.
#include <cstdint>

#include "kernels/common/philox.h"

namespace fdl::kernels {

// Whether channel i (of the n*c channels flattened) survives: its uniform from stream
// (seed, offset) is >= p. p is compared in double so both sides agree for any p.
FDL_HD bool dropout_keep(uint64_t seed, uint64_t offset, uint64_t i, double p) {
  return double(philox_uniform(seed, offset, i)) >= p;
}

}  // namespace fdl::kernels
