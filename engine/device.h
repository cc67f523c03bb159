#pragma once
// The few runtime calls the engine makes outside kernels: device presence and copies.
#include <cstddef>

#include "engine/dtype.h"

namespace fdl {

bool cuda_available();  // true when built with CUDA and a device is present
void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes);

}  // namespace fdl
