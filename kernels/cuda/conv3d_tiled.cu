// conv3d, tiled version: shared-memory tiles of A and B, a register tile of FFMAs per
// thread (the steps are in kernels/common/conv3d_tile.h, tested on the host).
#include <string>

#include "kernels/common/conv3d_tile.h"
#include "kernels/cuda/conv3d_launch.h"
#include "kernels/cuda/runtime.h"

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

template <class Cfg, class View>
void launch_cfg(const View& v, const float* bias, float* out, bool atomic, const char* what) {
  static_assert(Cfg::BM == kConvTileBM && Cfg::kThreads == 256, "tile configuration");
  const TileGrid g = tile_grid(v.max_rows(), v.part(0).N, v.parts(), Cfg::BM, Cfg::BN);
  if (!tile_grid_ok(g)) throw Error(std::string(what) + ": the problem is too large for one grid");
  const dim3 grid(unsigned(g.x), unsigned(g.y), unsigned(g.z));
  tiled_kernel<Cfg><<<grid, Cfg::kThreads, 0, stream()>>>(v, bias, out, atomic);
  check_launch(what);
}

template <class View>
void launch(const View& v, const float* bias, float* out, bool atomic, const char* what) {
  with_ffma_tile(v.part(0).N,
                 [&](auto cfg) { launch_cfg<decltype(cfg)>(v, bias, out, atomic, what); });
}

}  // namespace

void tiled_forward(const Conv3dShape& s, const float* x, const float* w, const float* bias,
                   float* y) {
  const char* what = "conv3d (cuda): tiled forward";
  if (s.k == 1)
    launch(ConvFwdGemm<float, 1>::make(s, x, w), bias, y, false, what);
  else
    launch(ConvFwdGemm<float, 3>::make(s, x, w), bias, y, false, what);
}

void tiled_backward_data(const Conv3dShape& s, const float* gy, const float* w, float* gx) {
  const char* what = "conv3d (cuda): tiled backward_data";
  if (s.k == 1)
    launch(ConvDataView<float, 1>{s, gy, w}, nullptr, gx, false, what);
  else
    launch(ConvDataView<float, 3>{s, gy, w}, nullptr, gx, false, what);
}

void tiled_backward_weight(const Conv3dShape& s, const float* x, const float* gy, float* out,
                           SplitK split, bool atomic) {
  const char* what = "conv3d (cuda): tiled backward_weight";
  if (s.k == 1)
    launch(ConvWeightView<float, 1>::make(s, x, gy, split, !atomic), nullptr, out, atomic, what);
  else
    launch(ConvWeightView<float, 3>::make(s, x, gy, split, !atomic), nullptr, out, atomic, what);
}

}  // namespace fdl::kernels::cuda::detail
