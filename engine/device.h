#pragma once
// The few runtime calls the engine makes outside kernels: device presence, copies, fills
// and the wait for queued GPU work. All GPU work goes to one stream per device
// (kernels/cuda/runtime.h), so a copy to the host waits for the work before it; a copy
// between host and device returns when it has finished, device to device stays queued.
#include <cstddef>
#include <cstdint>

#include "engine/dtype.h"

namespace fdl {

bool cuda_available();  // true when built with CUDA and a device is present
void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes);
// Sets n elements of type t at p (on device d) to v.
void fill_elements(void* p, Device d, DType t, int64_t n, double v);
// Waits until the GPU has finished all queued work (no-op without CUDA). For timing.
void device_synchronize();

}  // namespace fdl
