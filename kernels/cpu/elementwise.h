#pragma once
// CPU elementwise kernels over contiguous buffers of n elements (float and double).
#include <cstdint>

namespace fdl::kernels::cpu {

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

}  // namespace fdl::kernels::cpu
