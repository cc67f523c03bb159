// conv3d on the GPU: picks the version, sizes the weight gradient's split, reduces the
// parts in a fixed order, and the bias gradient.
#include <string>
#include <type_traits>

#include "kernels/cuda/conv3d.h"
#include "kernels/cuda/conv3d_launch.h"
#include "kernels/cuda/fill.h"
#include "kernels/cuda/launch.cuh"

namespace fdl::kernels::cuda {

namespace {

// out[i] = sum over z = 0, 1, ... of planes[z * n + i], always in that order.
template <class T>
__global__ void sum_planes_kernel(const T* planes, T* out, int64_t n, int count) {
  FDL_CUDA_LOOP(i, n) {
    T acc = planes[i];
    for (int z = 1; z < count; ++z) acc += planes[int64_t(z) * n + i];
    out[i] = acc;
  }
}

template <class T>
void sum_planes(const T* planes, T* out, int64_t n, int count, const char* what) {
  launch(what, sum_planes_kernel<T>, blocks_for(n), kThreads, 0, planes, out, n, count);
}

// Block (z, co) sums chunk z of channel co's n*outvol values of gy into out[z * cout + co],
// with a fixed tree over the block's threads.
template <class T>
__global__ void __launch_bounds__(kThreads)
    bias_partial_kernel(const T* gy, T* out, int64_t per_channel, int64_t outvol, int cout) {
  __shared__ T red[kThreads];
  const int z = int(blockIdx.x), co = int(blockIdx.y);
  const IndexRange r = bias_chunk(per_channel, int(gridDim.x), z);
  T acc = T(0);
  for (int64_t j = r.begin + threadIdx.x; j < r.end; j += kThreads)
    acc += gy[bias_gy_index(j, outvol, cout, co)];
  red[threadIdx.x] = acc;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half) red[threadIdx.x] += red[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[int64_t(z) * cout + co] = red[0];
}

}  // namespace

template <class T>
void conv3d_forward(ConvKernel kind, const Conv3dShape& s, const T* x, const T* w, const T* bias,
                    T* y) {
  if (s.y_numel() == 0) return;
  if constexpr (std::is_same_v<T, float>) {
    if (kind == ConvKernel::Tiled) return detail::tiled_forward(s, x, w, bias, y);
    if (kind == ConvKernel::Tf32) return detail::tf32_forward(s, x, w, bias, y);
  }
  detail::direct_forward<T>(s, x, w, bias, y);
}

template <class T>
void conv3d_backward_data(ConvKernel kind, const Conv3dShape& s, const T* gy, const T* w, T* gx) {
  if (s.x_numel() == 0) return;
  if constexpr (std::is_same_v<T, float>) {
    if (kind == ConvKernel::Tiled) return detail::tiled_backward_data(s, gy, w, gx);
    if (kind == ConvKernel::Tf32) return detail::tf32_backward_data(s, gy, w, gx);
  }
  detail::direct_backward_data<T>(s, gy, w, gx);
}

template <class T>
void conv3d_backward_weight(ConvKernel kind, const Conv3dShape& s, const T* x, const T* gy, T* gw,
                            T* scratch, bool deterministic) {
  const int64_t W = s.w_numel();
  if (W == 0) return;
  if (!std::is_same_v<T, float>) kind = ConvKernel::Direct;
  const ConvWeightPlan plan = conv_weight_plan(s, kind, deterministic);
  const SplitK split = plan.split;
  const bool atomic = plan.atomic, planes = plan.planes;
  if (planes && scratch == nullptr)
    throw Error("conv3d (cuda): backward_weight needs a scratch of " +
                std::to_string(conv_weight_scratch(s, kind, deterministic)) + " elements");
  if (atomic) fill(gw, T(0), W);
  T* out = planes ? scratch : gw;
  if constexpr (std::is_same_v<T, float>) {
    if (kind == ConvKernel::Tiled) detail::tiled_backward_weight(s, x, gy, out, split, atomic);
    if (kind == ConvKernel::Tf32) detail::tf32_backward_weight(s, x, gy, out, split, atomic);
  }
  if (kind == ConvKernel::Direct) detail::direct_backward_weight<T>(s, x, gy, out, split, atomic);
  if (planes) sum_planes(scratch, gw, W, split.splits, "conv3d (cuda): backward_weight reduce");
}

template <class T>
void conv3d_backward_bias(const Conv3dShape& s, const T* gy, T* gb, T* scratch) {
  if (s.cout == 0) return;
  const int64_t per_channel = int64_t(s.n) * s.out_volume();
  const int splits = bias_splits(per_channel);
  if (splits > 1 && scratch == nullptr)
    throw Error("conv3d (cuda): backward_bias needs a scratch of " +
                std::to_string(conv_bias_scratch(s)) + " elements");
  if (s.cout > 65535) throw Error("conv3d (cuda): backward_bias: too many output channels");
  T* out = splits > 1 ? scratch : gb;
  launch("conv3d (cuda): backward_bias", bias_partial_kernel<T>,
         dim3(unsigned(splits), unsigned(s.cout)), kThreads, 0, gy, out, per_channel,
         s.out_volume(), s.cout);
  if (splits > 1) sum_planes(scratch, gb, s.cout, splits, "conv3d (cuda): backward_bias reduce");
}

#define FDL_INSTANTIATE(T)                                                                        \
  template void conv3d_forward<T>(ConvKernel, const Conv3dShape&, const T*, const T*, const T*,   \
                                  T*);                                                            \
  template void conv3d_backward_data<T>(ConvKernel, const Conv3dShape&, const T*, const T*, T*);  \
  template void conv3d_backward_weight<T>(ConvKernel, const Conv3dShape&, const T*, const T*, T*, \
                                          T*, bool);                                              \
  template void conv3d_backward_bias<T>(const Conv3dShape&, const T*, T*, T*);
FDL_INSTANTIATE(float)
FDL_INSTANTIATE(double)
#undef FDL_INSTANTIATE

}  // namespace fdl::kernels::cuda
