// conv3d, direct version: one thread per element of C (of each part), summing over k in
// order with FMAs. Float and double.
#include "kernels/common/conv3d_tile.h"
#include "kernels/cuda/conv3d_launch.h"
#include "kernels/cuda/launch.cuh"

namespace fdl::kernels::cuda::detail {

namespace {

template <class T, class View>
__global__ void direct_kernel(View v, const T* bias, T* out, bool atomic) {
  const auto p = v.part(int(blockIdx.z));
  FDL_CUDA_LOOP(e, p.M * p.N) direct_element(p, e, bias, out, atomic);
}

template <class T, class View>
void run_direct(const View& v, const T* bias, T* out, bool atomic, const char* what) {
  const int64_t cols = v.part(0).N;
  if (v.parts() > 65535) throw Error(std::string(what) + ": too many parts");
  const dim3 grid(blocks_for(v.max_rows() * cols), 1, unsigned(v.parts()));
  launch(what, direct_kernel<T, View>, grid, kThreads, 0, v, bias, out, atomic);
}

}  // namespace

template <class T>
void direct_forward(const Conv3dShape& s, const T* x, const T* w, const T* bias, T* y) {
  const char* what = "conv3d (cuda): direct forward";
  if (s.k == 1)
    run_direct(ConvFwdGemm<T, 1>::make(s, x, w), bias, y, false, what);
  else
    run_direct(ConvFwdGemm<T, 3>::make(s, x, w), bias, y, false, what);
}

template <class T>
void direct_backward_data(const Conv3dShape& s, const T* gy, const T* w, T* gx) {
  const char* what = "conv3d (cuda): direct backward_data";
  if (s.k == 1)
    run_direct(ConvDataView<T, 1>{s, gy, w}, static_cast<const T*>(nullptr), gx, false, what);
  else
    run_direct(ConvDataView<T, 3>{s, gy, w}, static_cast<const T*>(nullptr), gx, false, what);
}

template <class T>
void direct_backward_weight(const Conv3dShape& s, const T* x, const T* gy, T* out, SplitK split,
                            bool atomic) {
  const char* what = "conv3d (cuda): direct backward_weight";
  const T* none = nullptr;
  if (s.k == 1)
    run_direct(ConvWeightView<T, 1>::make(s, x, gy, split, !atomic), none, out, atomic, what);
  else
    run_direct(ConvWeightView<T, 3>::make(s, x, gy, split, !atomic), none, out, atomic, what);
}

#define FDL_INSTANTIATE(T)                                                               \
  template void direct_forward<T>(const Conv3dShape&, const T*, const T*, const T*, T*); \
  template void direct_backward_data<T>(const Conv3dShape&, const T*, const T*, T*);     \
  template void direct_backward_weight<T>(const Conv3dShape&, const T*, const T*, T*, SplitK, bool);
FDL_INSTANTIATE(float)
FDL_INSTANTIATE(double)
#undef FDL_INSTANTIATE

}  // namespace fdl::kernels::cuda::detail
