// conv3d, tiled version: shared-memory tiles of A and B, a register tile of FFMAs per
// thread (the steps are in kernels/common/conv3d_tile.h, tested on the host).
#include "kernels/cuda/conv3d_launch.h"
#include "kernels/cuda/conv3d_tile_passes.cuh"

namespace fdl::kernels::cuda::detail {

namespace {

template <class Cfg, class View>
__global__ void __launch_bounds__(Cfg::kThreads)
    tiled_kernel(View v, const float* bias, float* out, bool atomic) {
  using Part = decltype(v.part(0));
  __shared__ TileSmem<Cfg, float> s;
  const Part p = v.part(int(blockIdx.z));
  const int64_t m0 = int64_t(blockIdx.x) * Cfg::BM, n0 = int64_t(blockIdx.y) * Cfg::BN;
  if (m0 >= p.M) return;  // the whole block: a phase class smaller than the grid
  const int t = int(threadIdx.x);
  float acc[Cfg::TM][Cfg::TN] = {};
  float ra[Cfg::kALoads] = {}, rb[Cfg::kBLoads] = {};
  slab_loop<Cfg::BK>(
      p, [&](int64_t k0) { stage_tiles<Cfg>(p, t, m0, n0, k0, ra, rb); },
      [&] { store_tiles<Cfg, Part::kRowsFastest>(t, ra, rb, s); },
      [&] { ffma_compute<Cfg>(t, s, acc); }, [] { __syncthreads(); });
  ffma_epilogue<Cfg>(p, t, m0, n0, acc, bias, out, atomic);
}

struct Tiled {
  static constexpr const char* kName = "tiled";
  template <class F>
  static void pick(int64_t n, F&& f) {
    with_ffma_tile(n, f);
  }
  template <class Cfg, class View>
  static void run(const char* what, dim3 grid, const View& v, const float* bias, float* out,
                  bool atomic) {
    launch(what, tiled_kernel<Cfg, View>, grid, Cfg::kThreads, 0, v, bias, out, atomic);
  }
};

}  // namespace

void tiled_forward(const Conv3dShape& s, const float* x, const float* w, const float* bias,
                   float* y) {
  tile_forward<Tiled>(s, x, w, bias, y);
}

void tiled_backward_data(const Conv3dShape& s, const float* gy, const float* w, float* gx) {
  tile_backward_data<Tiled>(s, gy, w, gx);
}

void tiled_backward_weight(const Conv3dShape& s, const float* x, const float* gy, float* out,
                           SplitK split, bool atomic) {
  tile_backward_weight<Tiled>(s, x, gy, out, split, atomic);
}

}  // namespace fdl::kernels::cuda::detail
