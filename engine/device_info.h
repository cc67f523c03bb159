#pragma once
// A one-line description of the CUDA device, for `fdl info` and benchmark reports.
#include <string>

namespace fdl {

// "NVIDIA H100 80GB HBM3, sm_90, 132 SMs, 79.1 GiB, driver 13.0, runtime 13.0", or why
// there is none ("no CUDA device", "this build has no CUDA backend").
std::string cuda_device_summary();

}  // namespace fdl
