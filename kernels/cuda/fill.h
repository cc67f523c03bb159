#pragma once
// Fills n elements of device memory with one value (float, double or int32).
#include <cstdint>

namespace fdl::kernels::cuda {

template <class T>
void fill(T* p, T value, int64_t n);

}  // namespace fdl::kernels::cuda
