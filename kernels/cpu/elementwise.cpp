#include "kernels/cpu/elementwise.h"

#include "kernels/common/elementwise.h"

namespace fdl::kernels::cpu {

// Below this many elements a parallel region costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;

template <class T>
void add(const T* a, const T* b, T* out, int64_t n) {
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

template <class T>
void add_inplace(T* dst, const T* src, int64_t n) {
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

template <class T>
void scale(const T* a, T s, T* out, int64_t n) {
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] * s;
}

template <class T>
void sigmoid_forward(const T* x, T* y, int64_t n) {
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) y[i] = kernels::sigmoid(x[i]);
}

template <class T>
void sigmoid_backward(const T* y, const T* gy, T* gx, int64_t n) {
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) gx[i] = gy[i] * y[i] * (T(1) - y[i]);
}

template <class T>
void leaky_relu_forward(const T* x, T slope, T* y, int64_t n) {
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) y[i] = kernels::leaky_relu(x[i], slope);
}

template <class T>
void leaky_relu_backward(const T* x, const T* gy, T slope, T* gx, int64_t n) {
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) gx[i] = gy[i] * kernels::leaky_relu_grad(x[i], slope);
}

#define FDL_INSTANTIATE(T)                                            \
  template void add<T>(const T*, const T*, T*, int64_t);              \
  template void add_inplace<T>(T*, const T*, int64_t);                \
  template void scale<T>(const T*, T, T*, int64_t);                   \
  template void sigmoid_forward<T>(const T*, T*, int64_t);            \
  template void sigmoid_backward<T>(const T*, const T*, T*, int64_t); \
  template void leaky_relu_forward<T>(const T*, T, T*, int64_t);      \
  template void leaky_relu_backward<T>(const T*, const T*, T, T*, int64_t);
FDL_INSTANTIATE(float)
FDL_INSTANTIATE(double)
#undef FDL_INSTANTIATE

}  // namespace fdl::kernels::cpu
