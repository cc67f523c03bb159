#include "kernels/cuda/dice_ce.h"

#include "kernels/common/dice.h"
#include "kernels/common/dice_ce.h"
#include "kernels/cuda/launch.cuh"

namespace fdl::kernels::cuda {

namespace {

static_assert((kThreads & (kThreads - 1)) == 0, "the tree sums need a power-of-two block");

// The most blocks a launch gets; the kernels loop over the rest.
constexpr int64_t kMaxGrid = int64_t(1) << 20;

unsigned grid_for(int64_t blocks) { return unsigned(blocks < kMaxGrid ? blocks : kMaxGrid); }

__device__ __forceinline__ float dev_exp(float x) { return expf(x); }
__device__ __forceinline__ double dev_exp(double x) { return exp(x); }
__device__ __forceinline__ float dev_log(float x) { return logf(x); }
__device__ __forceinline__ double dev_log(double x) { return log(x); }

// Sums each of the kDiceCeSums per-thread values over the block in a fixed tree; every thread
// gets the totals. sh holds kDiceCeSums * kThreads doubles.
__device__ void block_sum4(double* sh, double (&v)[kDiceCeSums]) {
  const int tid = int(threadIdx.x);
  __syncthreads();  // sh may still be read from a previous call
  for (int j = 0; j < kDiceCeSums; ++j) sh[j * kThreads + tid] = v[j];
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (tid < half)
      for (int j = 0; j < kDiceCeSums; ++j) sh[j * kThreads + tid] += sh[j * kThreads + tid + half];
    __syncthreads();
  }
  for (int j = 0; j < kDiceCeSums; ++j) v[j] = sh[j * kThreads];
}

// One thread per voxel: the largest logit m, then log_z = log sum exp(x - m).
template <class T>
__global__ void __launch_bounds__(kThreads)
    stats_kernel(const T* x, int64_t k, int64_t s, int64_t voxels, T* stats) {
  const int64_t stride = int64_t(gridDim.x) * kThreads;
  for (int64_t v = int64_t(blockIdx.x) * kThreads + threadIdx.x; v < voxels; v += stride) {
    const T* xv = x + v / s * k * s + v % s;
    T m = xv[0];
    for (int64_t c = 1; c < k; ++c) m = xv[c * s] > m ? xv[c * s] : m;
    T z = 0;
    for (int64_t c = 0; c < k; ++c) z += dev_exp(xv[c * s] - m);
    stats[v] = m;
    stats[voxels + v] = dev_log(z);
  }
}

// One partial quadruple per span of one (batch, class) row: work[4t + j] (DiceCeSum order).
template <class T>
__global__ void __launch_bounds__(kThreads)
    sums_kernel(const T* x, const T* g, const T* stats, int64_t k, int64_t s, int64_t voxels,
                int64_t blocks, double* work) {
  __shared__ double sh[kDiceCeSums * kThreads];
  for (int64_t t = blockIdx.x; t < blocks; t += gridDim.x) {
    const DiceSpan sp = dice_span(t, s);
    const T* xr = x + sp.row * s;
    const T* gr = g + sp.row * s;
    const T* m = stats + sp.row / k * s;
    const T* log_z = m + voxels;
    double q[kDiceCeSums] = {0, 0, 0, 0};
    for (int64_t i = sp.lo + threadIdx.x; i < sp.hi; i += kThreads) {
      const T lp = dice_ce_log_p(xr[i], m[i], log_z[i]);
      const double p = dev_exp(lp), gi = gr[i];
      q[kSumPG] += p * gi;
      q[kSumP] += p;
      q[kSumG] += gi;
      q[kSumCE] -= gi * double(lp);
    }
    block_sum4(sh, q);
    if (threadIdx.x == 0)
      for (int j = 0; j < kDiceCeSums; ++j) work[kDiceCeSums * t + j] = q[j];
  }
}

// One block: the partials of each class in a fixed order, then the loss from the sums.
template <class T>
__global__ void __launch_bounds__(kThreads)
    finalize_kernel(const double* work, int64_t k, int64_t per_class, int64_t per_row,
                    int64_t voxels, double* sums, T* loss) {
  __shared__ double sh[kDiceCeSums * kThreads];
  for (int64_t c = 0; c < k; ++c) {
    double q[kDiceCeSums] = {0, 0, 0, 0};
    for (int64_t j = threadIdx.x; j < per_class; j += kThreads) {
      const double* w = work + kDiceCeSums * dice_partial_block(j, c, k, per_row);
      for (int i = 0; i < kDiceCeSums; ++i) q[i] += w[i];
    }
    block_sum4(sh, q);
    if (threadIdx.x == 0)
      for (int i = 0; i < kDiceCeSums; ++i) sums[kDiceCeSums * c + i] = q[i];
  }
  // Thread 0 wrote every sum itself, so it reads them back without a barrier.
  if (threadIdx.x == 0) loss[0] = T(dice_ce_loss_from_sums(sums, k, voxels));
}

// coef[2c], coef[2c + 1] = a, b of class c; coef[2k] = gout / voxels, the cross-entropy's weight.
template <class T>
__global__ void coefficients_kernel(const double* sums, const T* gout, int64_t k, int64_t voxels,
                                    double* coef) {
  const double go = double(gout[0]);
  for (int64_t c = threadIdx.x; c < k; c += blockDim.x) {
    const DiceCeCoefficients co = dice_ce_class_coefficients(sums, c, k, go);
    coef[2 * c] = co.a;
    coef[2 * c + 1] = co.b;
  }
  if (threadIdx.x == 0) coef[2 * k] = go / double(voxels);
}

// One thread per voxel: its sums over the classes, then each class's gradient.
template <class T>
__global__ void __launch_bounds__(kThreads)
    backward_kernel(const T* x, const T* g, const T* stats, const double* coef, int64_t k,
                    int64_t s, int64_t voxels, T* gx) {
  const T ce_w = T(coef[2 * k]);
  const int64_t stride = int64_t(gridDim.x) * kThreads;
  for (int64_t v = int64_t(blockIdx.x) * kThreads + threadIdx.x; v < voxels; v += stride) {
    const int64_t base = v / s * k * s + v % s;
    const T m = stats[v], log_z = stats[voxels + v];
    T r = 0, gsum = 0;
    for (int64_t c = 0; c < k; ++c) {
      const T gi = g[base + c * s];
      r += dev_exp(dice_ce_log_p(x[base + c * s], m, log_z)) *
           (T(coef[2 * c]) * gi + T(coef[2 * c + 1]));
      gsum += gi;
    }
    for (int64_t c = 0; c < k; ++c) {
      const T gi = g[base + c * s], u = T(coef[2 * c]) * gi + T(coef[2 * c + 1]);
      const T p = dev_exp(dice_ce_log_p(x[base + c * s], m, log_z));
      gx[base + c * s] = dice_ce_grad_element(p, gi, u, r, gsum, ce_w);
    }
  }
}

int64_t span_blocks(int64_t n, int64_t k, int64_t s) { return n * k * dice_spans_per_row(s); }

}  // namespace

int64_t dice_ce_workspace(int64_t n, int64_t k, int64_t s) {
  return kDiceCeSums * span_blocks(n, k, s);
}

template <class T>
void dice_ce_forward(const T* x, const T* g, int64_t n, int64_t k, int64_t s, T* stats,
                     double* work, double* sums, T* loss) {
  const int64_t voxels = n * s, blocks = span_blocks(n, k, s), per_row = dice_spans_per_row(s);
  launch("dice_ce_loss (cuda): softmax statistics", stats_kernel<T>, blocks_for(voxels), kThreads,
         0, x, k, s, voxels, stats);
  launch("dice_ce_loss (cuda): class sums", sums_kernel<T>, grid_for(blocks), kThreads, 0, x, g,
         stats, k, s, voxels, blocks, work);
  launch("dice_ce_loss (cuda): finalize", finalize_kernel<T>, 1, kThreads, 0, work, k, n * per_row,
         per_row, voxels, sums, loss);
}

template <class T>
void dice_ce_backward(const T* x, const T* g, const T* stats, const double* sums, const T* gout,
                      int64_t n, int64_t k, int64_t s, double* coef, T* gx) {
  const int64_t voxels = n * s;
  launch("dice_ce_loss (cuda): coefficients", coefficients_kernel<T>, 1, kThreads, 0, sums, gout, k,
         voxels, coef);
  launch("dice_ce_loss (cuda): backward", backward_kernel<T>, blocks_for(voxels), kThreads, 0, x, g,
         stats, coef, k, s, voxels, gx);
}

#define FDL_INSTANTIATE(T)                                                                     \
  template void dice_ce_forward<T>(const T*, const T*, int64_t, int64_t, int64_t, T*, double*, \
                                   double*, T*);                                               \
  template void dice_ce_backward<T>(const T*, const T*, const T*, const double*, const T*,     \
                                    int64_t, int64_t, int64_t, double*, T*);
FDL_INSTANTIATE(float)
FDL_INSTANTIATE(double)
#undef FDL_INSTANTIATE

}  // namespace fdl::kernels::cuda
