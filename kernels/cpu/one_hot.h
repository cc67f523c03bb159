#pragma once
// CPU one-hot encoding of an int32 label map (instantiated for float).
#include <cstdint>

namespace fdl::kernels::cpu {

// labels (n, s) with values in [0, k) -> out (n, k, s) of 0/1. Returns the flat index of the
// first label outside [0, k), or -1 when all are valid (out is then fully written).
template <class T>
int64_t one_hot(const int32_t* labels, T* out, int64_t n, int64_t k, int64_t s);

}  // namespace fdl::kernels::cpu
