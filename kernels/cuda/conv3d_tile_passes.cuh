#pragma once
// The three passes of a shared-memory-tiled conv3d version (tiled FFMA or TF32 mma), written
// once. A version is a struct with
//   template <class F> static void pick(int64_t n, F&& f);  // f(Cfg{}) for N = n
//   template <class Cfg, class View>
//   static void run(const char* what, dim3 grid, const View& v, const float* bias, float* out,
//                   bool atomic);  // launches the version's kernel
//   static constexpr const char* kName;
// Included by the version's .cu file only (it launches kernels).
#include <string>

#include "kernels/common/conv3d_tile.h"
#include "kernels/cuda/launch.cuh"

namespace fdl::kernels::cuda::detail {

// Every part of view v, with the tile configuration the version picks for v's N.
template <class Version, class View>
void launch_tiles(const View& v, const float* bias, float* out, bool atomic, const char* pass) {
  const std::string what = std::string("conv3d (cuda): ") + Version::kName + " " + pass;
  Version::pick(v.part(0).N, [&](auto cfg) {
    using Cfg = decltype(cfg);
    static_assert(Cfg::BM == kConvTileBM && Cfg::kThreads == 256, "tile configuration");
    const TileGrid g = tile_grid(v.max_rows(), v.part(0).N, v.parts(), Cfg::BM, Cfg::BN);
    if (!tile_grid_ok(g)) throw Error(what + ": the problem is too large for one grid");
    Version::template run<Cfg>(what.c_str(), dim3(unsigned(g.x), unsigned(g.y), unsigned(g.z)), v,
                               bias, out, atomic);
  });
}

template <class Version>
void tile_forward(const Conv3dShape& s, const float* x, const float* w, const float* bias,
                  float* y) {
  if (s.k == 1)
    launch_tiles<Version>(ConvFwdGemm<float, 1>::make(s, x, w), bias, y, false, "forward");
  else
    launch_tiles<Version>(ConvFwdGemm<float, 3>::make(s, x, w), bias, y, false, "forward");
}

template <class Version>
void tile_backward_data(const Conv3dShape& s, const float* gy, const float* w, float* gx) {
  if (s.k == 1)
    launch_tiles<Version>(ConvDataView<float, 1>{s, gy, w}, nullptr, gx, false, "backward_data");
  else
    launch_tiles<Version>(ConvDataView<float, 3>{s, gy, w}, nullptr, gx, false, "backward_data");
}

template <class Version>
void tile_backward_weight(const Conv3dShape& s, const float* x, const float* gy, float* out,
                          SplitK split, bool atomic) {
  if (s.k == 1)
    launch_tiles<Version>(ConvWeightView<float, 1>::make(s, x, gy, split, !atomic), nullptr, out,
                          atomic, "backward_weight");
  else
    launch_tiles<Version>(ConvWeightView<float, 3>::make(s, x, gy, split, !atomic), nullptr, out,
                          atomic, "backward_weight");
}

}  // namespace fdl::kernels::cuda::detail
