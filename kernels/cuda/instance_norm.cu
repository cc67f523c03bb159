#include "kernels/cuda/instance_norm.h"

#include "kernels/common/elementwise.h"
#include "kernels/common/instance_norm.h"
#include "kernels/common/moments.h"
#include "kernels/cuda/launch.cuh"

namespace fdl::kernels::cuda {

namespace {

constexpr int kWarps = kThreads / 32;
static_assert(kThreads % 32 == 0 && kWarps <= 32, "the block reduction needs whole warps");

struct Sums2 {
  double a = 0, b = 0;
};

__device__ Moments combine(const Moments& x, const Moments& y) { return moments_merge(x, y); }
__device__ Sums2 combine(const Sums2& x, const Sums2& y) { return {x.a + y.a, x.b + y.b}; }

__device__ Moments shfl_down(const Moments& v, int off) {
  return {__shfl_down_sync(0xffffffffu, v.n, off), __shfl_down_sync(0xffffffffu, v.mean, off),
          __shfl_down_sync(0xffffffffu, v.m2, off)};
}
__device__ Sums2 shfl_down(const Sums2& v, int off) {
  return {__shfl_down_sync(0xffffffffu, v.a, off), __shfl_down_sync(0xffffffffu, v.b, off)};
}

// A fixed tree: lane l takes lane l + off for off = 16, 8, 4, 2, 1; the result is in lane 0.
template <class V>
__device__ V warp_reduce(V v) {
  const int lane = int(threadIdx.x) & 31;
#pragma unroll
  for (int off = 16; off > 0; off /= 2) {
    const V o = shfl_down(v, off);
    if (lane + off < 32) v = combine(v, o);
  }
  return v;
}

// Whole-block reduction in a fixed order (warps, then the warps' results in warp 0); the
// result is valid in thread 0. Every thread of the block must call it.
template <class V>
__device__ V block_reduce(V v) {
  // Raw storage: a __shared__ variable cannot have a constructor.
  alignas(V) __shared__ unsigned char storage[kWarps * sizeof(V)];
  V* partial = reinterpret_cast<V*>(storage);
  const int lane = int(threadIdx.x) & 31, warp = int(threadIdx.x) / 32;
  v = warp_reduce(v);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) v = warp_reduce(lane < kWarps ? partial[lane] : V{});
  __syncthreads();  // `partial` may be reused by the block's next call
  return v;
}

// The normalised value and its gradient as the norm backward sees them: plain, or recovered
// from the fused leaky ReLU's output.
template <class T, bool kFused>
__device__ void norm_grad_inputs(T y, T g, T slope, T& yn, T& gn) {
  if constexpr (kFused) {
    yn = leaky_relu_input_from_output(y, slope);
    gn = leaky_relu_grad_from_output(y, g, slope);
  } else {
    yn = y;
    gn = g;
  }
}

// Pass 1 of the forward: the (count, mean, M2) of each (slice, part), 3 doubles each. Left
// alone, ptxas gives it 108 registers (2 blocks per SM); bounded to 4 blocks it needs 62,
// with no spills (nvcc 13, sm_90).
template <class T>
__global__ void __launch_bounds__(kThreads, 4)
    moments_kernel(const T* x, int64_t nc, int64_t s, SlicePartition q, double* partials) {
  for (int64_t b = blockIdx.x; b < nc * q.parts; b += gridDim.x) {
    const int64_t c = b / q.parts;
    int64_t lo, hi;
    q.range(s, b - c * q.parts, lo, hi);
    const Moments m = block_reduce(strided_moments(x + c * s, lo + threadIdx.x, hi, blockDim.x));
    if (threadIdx.x == 0) {
      partials[3 * b] = m.n;
      partials[3 * b + 1] = m.mean;
      partials[3 * b + 2] = m.m2;
    }
  }
}

// One thread per slice merges its parts in order; writes rstd (as T) and the mean (double).
template <class T>
__global__ void moments_finish_kernel(const double* partials, int64_t nc, int64_t s, int64_t parts,
                                      double eps, T* rstd, double* mean) {
  FDL_CUDA_LOOP(c, nc) {
    Moments m;
    for (int64_t p = 0; p < parts; ++p) {
      const double* q = partials + 3 * (c * parts + p);
      m = moments_merge(m, Moments{q[0], q[1], q[2]});
    }
    rstd[c] = T(1.0 / sqrt(m.m2 / double(s) + eps));
    mean[c] = m.mean;
  }
}

// Pass 2 of the forward. The mean is split into two T values, hi + lo, as on the CPU: x - hi
// is exact near the mean, so the centring keeps double accuracy when the mean dwarfs the
// spread.
template <class T, bool kFused>
__global__ void normalise_kernel(const T* x, T* y, const double* mean, const T* rstd, int64_t nc,
                                 int64_t s, SlicePartition q, T slope) {
  for (int64_t b = blockIdx.x; b < nc * q.parts; b += gridDim.x) {
    const int64_t c = b / q.parts;
    int64_t lo, hi;
    q.range(s, b - c * q.parts, lo, hi);
    const T mh = T(mean[c]), ml = T(mean[c] - double(mh)), r = rstd[c];
    const T* xc = x + c * s;
    T* yc = y + c * s;
    for (int64_t i = lo + threadIdx.x; i < hi; i += blockDim.x) {
      const T v = ((xc[i] - mh) - ml) * r;
      yc[i] = kFused ? leaky_relu(v, slope) : v;
    }
  }
}

// Pass 1 of the backward: sum(gy) and sum(gy * y) of each (slice, part), 2 doubles each.
template <class T, bool kFused>
__global__ void grad_sums_kernel(const T* y, const T* gy, int64_t nc, int64_t s, SlicePartition q,
                                 T slope, double* partials) {
  for (int64_t b = blockIdx.x; b < nc * q.parts; b += gridDim.x) {
    const int64_t c = b / q.parts;
    int64_t lo, hi;
    q.range(s, b - c * q.parts, lo, hi);
    const T* yc = y + c * s;
    const T* gc = gy + c * s;
    Sums2 t;
    for (int64_t i = lo + threadIdx.x; i < hi; i += blockDim.x) {
      T yn, gn;
      norm_grad_inputs<T, kFused>(yc[i], gc[i], slope, yn, gn);
      t.a += double(gn);
      t.b += double(gn) * double(yn);
    }
    t = block_reduce(t);
    if (threadIdx.x == 0) {
      partials[2 * b] = t.a;
      partials[2 * b + 1] = t.b;
    }
  }
}

// One thread per slice adds its parts in order: mean(gy) and mean(gy * y).
__global__ void grad_sums_finish_kernel(const double* partials, int64_t nc, int64_t s,
                                        int64_t parts, double* means) {
  FDL_CUDA_LOOP(c, nc) {
    double a = 0, b = 0;
    for (int64_t p = 0; p < parts; ++p) {
      a += partials[2 * (c * parts + p)];
      b += partials[2 * (c * parts + p) + 1];
    }
    means[2 * c] = a / double(s);
    means[2 * c + 1] = b / double(s);
  }
}

// Pass 2 of the backward.
template <class T, bool kFused>
__global__ void grad_apply_kernel(const T* y, const T* gy, const T* rstd, T* gx,
                                  const double* means, int64_t nc, int64_t s, SlicePartition q,
                                  T slope) {
  for (int64_t b = blockIdx.x; b < nc * q.parts; b += gridDim.x) {
    const int64_t c = b / q.parts;
    int64_t lo, hi;
    q.range(s, b - c * q.parts, lo, hi);
    const T ma = T(means[2 * c]), mb = T(means[2 * c + 1]), r = rstd[c];
    const T* yc = y + c * s;
    const T* gc = gy + c * s;
    T* out = gx + c * s;
    for (int64_t i = lo + threadIdx.x; i < hi; i += blockDim.x) {
      T yn, gn;
      norm_grad_inputs<T, kFused>(yc[i], gc[i], slope, yn, gn);
      out[i] = ((gn - ma) - yn * mb) * r;
    }
  }
}

// Scratch layout: per-part partials first (3 doubles per part in the forward, 2 in the
// backward), then the per-slice values at `slice_values`.
int64_t slice_values(int64_t nc, const SlicePartition& q) { return 3 * nc * q.parts; }

template <class T, bool kFused>
void forward(const T* x, T* y, T* rstd, int64_t nc, int64_t s, double eps, T slope, double* scratch,
             const char* what) {
  if (nc <= 0) return;
  const SlicePartition q = slice_partition(nc, s);
  const unsigned blocks = grid_blocks(nc * q.parts, 1);
  double* mean = scratch + slice_values(nc, q);
  launch(what, moments_kernel<T>, blocks, kThreads, 0, x, nc, s, q, scratch);
  launch(what, moments_finish_kernel<T>, blocks_for(nc), kThreads, 0, scratch, nc, s, q.parts, eps,
         rstd, mean);
  if (s <= 0) return;
  launch(what, normalise_kernel<T, kFused>, blocks, kThreads, 0, x, y, mean, rstd, nc, s, q, slope);
}

template <class T, bool kFused>
void backward(const T* y, const T* gy, const T* rstd, T* gx, int64_t nc, int64_t s, T slope,
              double* scratch, const char* what) {
  if (nc <= 0 || s <= 0) return;
  const SlicePartition q = slice_partition(nc, s);
  const unsigned blocks = grid_blocks(nc * q.parts, 1);
  double* means = scratch + slice_values(nc, q);
  launch(what, grad_sums_kernel<T, kFused>, blocks, kThreads, 0, y, gy, nc, s, q, slope, scratch);
  launch(what, grad_sums_finish_kernel, blocks_for(nc), kThreads, 0, scratch, nc, s, q.parts,
         means);
  launch(what, grad_apply_kernel<T, kFused>, blocks, kThreads, 0, y, gy, rstd, gx, means, nc, s, q,
         slope);
}

}  // namespace

template <class T>
void instance_norm_forward(const T* x, T* y, T* rstd, int64_t nc, int64_t s, double eps,
                           double* scratch) {
  forward<T, false>(x, y, rstd, nc, s, eps, T(0), scratch, "instance_norm (cuda): forward");
}

template <class T>
void instance_norm_backward(const T* y, const T* gy, const T* rstd, T* gx, int64_t nc, int64_t s,
                            double* scratch) {
  backward<T, false>(y, gy, rstd, gx, nc, s, T(0), scratch, "instance_norm (cuda): backward");
}

template <class T>
void instance_norm_leaky_relu_forward(const T* x, T* y, T* rstd, int64_t nc, int64_t s, double eps,
                                      T slope, double* scratch) {
  forward<T, true>(x, y, rstd, nc, s, eps, slope, scratch,
                   "instance_norm_leaky_relu (cuda): forward");
}

template <class T>
void instance_norm_leaky_relu_backward(const T* y, const T* gy, const T* rstd, T* gx, int64_t nc,
                                       int64_t s, T slope, double* scratch) {
  backward<T, true>(y, gy, rstd, gx, nc, s, slope, scratch,
                    "instance_norm_leaky_relu (cuda): backward");
}

#define FDL_INSTANTIATE(T)                                                                         \
  template void instance_norm_forward<T>(const T*, T*, T*, int64_t, int64_t, double, double*);     \
  template void instance_norm_backward<T>(const T*, const T*, const T*, T*, int64_t, int64_t,      \
                                          double*);                                                \
  template void instance_norm_leaky_relu_forward<T>(const T*, T*, T*, int64_t, int64_t, double, T, \
                                                    double*);                                      \
  template void instance_norm_leaky_relu_backward<T>(const T*, const T*, const T*, T*, int64_t,    \
                                                     int64_t, T, double*);
FDL_INSTANTIATE(float)
FDL_INSTANTIATE(double)
#undef FDL_INSTANTIATE

}  // namespace fdl::kernels::cuda
