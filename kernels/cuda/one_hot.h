#pragma once
// CUDA twin of kernels/cpu/one_hot.h: labels (n, s) int32 -> out (n, k, s) of 0/1, on device
// memory. A kernel cannot throw, so bad labels go to a report (kernels/common/one_hot.h).
#include <cstdint>

namespace fdl::kernels::cuda {

// Writes out (a bad label's voxel is 0 in every class, as on the CPU) and, in `report`
// (kOneHotReportWords int32 of device memory), the smallest flat index of a label outside
// [0, k) and its value. Nothing is waited for: copy the report to the host and read it with
// kernels::read_one_hot_report.
template <class T>
void one_hot(const int32_t* labels, T* out, int64_t n, int64_t k, int64_t s, int32_t* report);

}  // namespace fdl::kernels::cuda
