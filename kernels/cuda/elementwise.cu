#include "kernels/cuda/elementwise.h"

#include "kernels/common/elementwise.h"
#include "kernels/cuda/launch.cuh"

namespace fdl::kernels::cuda {

namespace {

template <class T>
__global__ void add_kernel(const T* a, const T* b, T* out, int64_t n) {
  FDL_CUDA_LOOP(i, n) out[i] = a[i] + b[i];
}

template <class T>
__global__ void add_inplace_kernel(T* dst, const T* src, int64_t n) {
  FDL_CUDA_LOOP(i, n) dst[i] += src[i];
}

template <class T>
__global__ void scale_kernel(const T* a, T s, T* out, int64_t n) {
  FDL_CUDA_LOOP(i, n) out[i] = a[i] * s;
}

template <class T>
__global__ void sigmoid_forward_kernel(const T* x, T* y, int64_t n) {
  FDL_CUDA_LOOP(i, n) y[i] = kernels::sigmoid(x[i]);
}

template <class T>
__global__ void sigmoid_backward_kernel(const T* y, const T* gy, T* gx, int64_t n) {
  FDL_CUDA_LOOP(i, n) gx[i] = gy[i] * y[i] * (T(1) - y[i]);
}

template <class T>
__global__ void leaky_relu_forward_kernel(const T* x, T slope, T* y, int64_t n) {
  FDL_CUDA_LOOP(i, n) y[i] = kernels::leaky_relu(x[i], slope);
}

template <class T>
__global__ void leaky_relu_backward_kernel(const T* x, const T* gy, T slope, T* gx, int64_t n) {
  FDL_CUDA_LOOP(i, n) gx[i] = gy[i] * kernels::leaky_relu_grad(x[i], slope);
}

}  // namespace

template <class T>
void add(const T* a, const T* b, T* out, int64_t n) {
  if (n <= 0) return;
  launch("add (cuda)", add_kernel<T>, blocks_for(n), kThreads, 0, a, b, out, n);
}

template <class T>
void add_inplace(T* dst, const T* src, int64_t n) {
  if (n <= 0) return;
  launch("add_ (cuda)", add_inplace_kernel<T>, blocks_for(n), kThreads, 0, dst, src, n);
}

template <class T>
void scale(const T* a, T s, T* out, int64_t n) {
  if (n <= 0) return;
  launch("scale (cuda)", scale_kernel<T>, blocks_for(n), kThreads, 0, a, s, out, n);
}

template <class T>
void sigmoid_forward(const T* x, T* y, int64_t n) {
  if (n <= 0) return;
  launch("sigmoid (cuda): forward", sigmoid_forward_kernel<T>, blocks_for(n), kThreads, 0, x, y, n);
}

template <class T>
void sigmoid_backward(const T* y, const T* gy, T* gx, int64_t n) {
  if (n <= 0) return;
  launch("sigmoid (cuda): backward", sigmoid_backward_kernel<T>, blocks_for(n), kThreads, 0, y, gy,
         gx, n);
}

template <class T>
void leaky_relu_forward(const T* x, T slope, T* y, int64_t n) {
  if (n <= 0) return;
  launch("leaky_relu (cuda): forward", leaky_relu_forward_kernel<T>, blocks_for(n), kThreads, 0, x,
         slope, y, n);
}

template <class T>
void leaky_relu_backward(const T* x, const T* gy, T slope, T* gx, int64_t n) {
  if (n <= 0) return;
  launch("leaky_relu (cuda): backward", leaky_relu_backward_kernel<T>, blocks_for(n), kThreads, 0,
         x, gy, slope, gx, n);
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

}  // namespace fdl::kernels::cuda
