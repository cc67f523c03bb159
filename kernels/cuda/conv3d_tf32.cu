// conv3d, TF32 tensor-core version: the tiled version's staging with A and B rounded to
// TF32 (cvt.rna) as they enter shared memory; each warp multiplies its warp tile with
// mma.sync m16n8k8, accumulating in FP32 registers (fragment layouts: mma_tf32.h).
#include "kernels/cuda/conv3d_launch.h"
#include "kernels/cuda/conv3d_tile_passes.cuh"

namespace fdl::kernels::cuda::detail {

namespace {

template <class Cfg, class View>
__global__ void __launch_bounds__(Cfg::kThreads)
    tf32_kernel(View v, const float* bias, float* out, bool atomic) {
  using Part = decltype(v.part(0));
  __shared__ TileSmem<Cfg, uint32_t> s;
  const Part p = v.part(int(blockIdx.z));
  const int64_t m0 = int64_t(blockIdx.x) * Cfg::BM, n0 = int64_t(blockIdx.y) * Cfg::BN;
  if (m0 >= p.M) return;  // the whole block, so every warp that runs an mma is complete
  const int t = int(threadIdx.x), warp = t / 32, lane = t % 32;
  float acc[Cfg::MT][Cfg::NT][4] = {};
  float ra[Cfg::kALoads] = {}, rb[Cfg::kBLoads] = {};
  auto compute = [&] {
#pragma unroll
    for (int ks = 0; ks < Cfg::BK; ks += 8) {
      uint32_t fa[Cfg::MT][4], fb[Cfg::NT][2];
      mma_fragments<Cfg>(warp, lane, ks, s, fa, fb);
#pragma unroll
      for (int mi = 0; mi < Cfg::MT; ++mi)
#pragma unroll
        for (int ni = 0; ni < Cfg::NT; ++ni) ptx::mma_m16n8k8_tf32(acc[mi][ni], fa[mi], fb[ni]);
    }
  };
  slab_loop<Cfg::BK>(
      p, [&](int64_t k0) { stage_tiles<Cfg>(p, t, m0, n0, k0, ra, rb); },
      [&] { store_tiles<Cfg, Part::kRowsFastest>(t, ra, rb, s); }, compute,
      [] { __syncthreads(); });
  mma_epilogue<Cfg>(p, warp, lane, m0, n0, acc, bias, out, atomic);
}

struct Tf32 {
  static constexpr const char* kName = "tf32";
  template <class F>
  static void pick(int64_t n, F&& f) {
    with_mma_tile(n, f);
  }
  template <class Cfg, class View>
  static void run(const char* what, dim3 grid, const View& v, const float* bias, float* out,
                  bool atomic) {
    launch(what, tf32_kernel<Cfg, View>, grid, Cfg::kThreads, 0, v, bias, out, atomic);
  }
};

}  // namespace

void tf32_forward(const Conv3dShape& s, const float* x, const float* w, const float* bias,
                  float* y) {
  tile_forward<Tf32>(s, x, w, bias, y);
}

void tf32_backward_data(const Conv3dShape& s, const float* gy, const float* w, float* gx) {
  tile_backward_data<Tf32>(s, gy, w, gx);
}

void tf32_backward_weight(const Conv3dShape& s, const float* x, const float* gy, float* out,
                          SplitK split, bool atomic) {
  tile_backward_weight<Tf32>(s, x, gy, out, split, atomic);
}

}  // namespace fdl::kernels::cuda::detail
