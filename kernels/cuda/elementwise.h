#pragma once
// CUDA twins of kernels/cpu/elementwise.h: the same contract over n contiguous elements of
// device memory, the same per-element code (kernels/common/elementwise.h). Launches go to
// stream() and are checked.
#include <cstdint>

namespace fdl::kernels::cuda {

template <class T>
void add(const T* a, const T* b, T* out, int64_t n);
template <class T>
void add_inplace(T* dst, const T* src, int64_t n);  // dst += src
template <class T>
void scale(const T* a, T s, T* out, int64_t n);
template <class T>
void sigmoid_forward(const T* x, T* y, int64_t n);
template <class T>
void sigmoid_backward(const T* y, const T* gy, T* gx, int64_t n);
template <class T>
void leaky_relu_forward(const T* x, T slope, T* y, int64_t n);
template <class T>
void leaky_relu_backward(const T* x, const T* gy, T slope, T* gx, int64_t n);

}  // namespace fdl::kernels::cuda
