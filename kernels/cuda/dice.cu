#include "kernels/cuda/dice.h"

#include "kernels/common/dice.h"
#include "kernels/cuda/launch.cuh"

namespace fdl::kernels::cuda {

namespace {

static_assert((kThreads & (kThreads - 1)) == 0, "the tree sums need a power-of-two block");

// The most blocks a launch gets; the kernels loop over the rest.
constexpr int64_t kMaxGrid = int64_t(1) << 20;

unsigned grid_for(int64_t blocks) { return unsigned(blocks < kMaxGrid ? blocks : kMaxGrid); }

// exp(-x), clamped for float as the CPU's exp_poly is ([-87, 88]), so p (1 - p) = p (e p)
// stays finite for any logit; NaN passes through.
__device__ __forceinline__ float exp_neg(float x) {
  float y = -x;
  y = y < -87.0f ? -87.0f : y;
  y = y > 88.0f ? 88.0f : y;
  return expf(y);
}
__device__ __forceinline__ double exp_neg(double x) { return exp(-x); }

// Sums each of three per-thread values over the block in a fixed tree; thread 0 gets the
// totals. sh holds 3 * kThreads doubles.
__device__ void block_sum3(double* sh, double& a, double& b, double& c) {
  const int tid = int(threadIdx.x);
  __syncthreads();  // sh may still be read from a previous call
  sh[tid] = a;
  sh[kThreads + tid] = b;
  sh[2 * kThreads + tid] = c;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (tid < half) {
      sh[tid] += sh[tid + half];
      sh[kThreads + tid] += sh[kThreads + tid + half];
      sh[2 * kThreads + tid] += sh[2 * kThreads + tid + half];
    }
    __syncthreads();
  }
  a = sh[0];
  b = sh[kThreads];
  c = sh[2 * kThreads];
}

// One partial triple per span: work[3t + 0..2] = {sum p*g, sum p*p, sum g*g} over span t.
template <class T>
__global__ void __launch_bounds__(kThreads)
    sums_kernel(const T* x, const T* g, int64_t s, int64_t blocks, double* work) {
  __shared__ double sh[3 * kThreads];
  for (int64_t t = blockIdx.x; t < blocks; t += gridDim.x) {
    const DiceSpan sp = dice_span(t, s);
    const T* xr = x + sp.row * s;
    const T* gr = g + sp.row * s;
    double pg = 0, pp = 0, gg = 0;
    for (int64_t i = sp.lo + threadIdx.x; i < sp.hi; i += kThreads) {
      const double p = T(1) / (T(1) + exp_neg(xr[i])), gi = gr[i];
      pg += p * gi;
      pp += p * p;
      gg += gi * gi;
    }
    block_sum3(sh, pg, pp, gg);
    if (threadIdx.x == 0) {
      work[3 * t] = pg;
      work[3 * t + 1] = pp;
      work[3 * t + 2] = gg;
    }
  }
}

// One block: the partials of each class in a fixed order, then the loss from the sums.
template <class T>
__global__ void __launch_bounds__(kThreads)
    finalize_kernel(const double* work, int64_t k, int64_t per_class, int64_t per_row, double* sums,
                    T* loss) {
  __shared__ double sh[3 * kThreads];
  for (int64_t c = 0; c < k; ++c) {
    double pg = 0, pp = 0, gg = 0;
    for (int64_t j = threadIdx.x; j < per_class; j += kThreads) {
      const double* w = work + 3 * dice_partial_block(j, c, k, per_row);
      pg += w[0];
      pp += w[1];
      gg += w[2];
    }
    block_sum3(sh, pg, pp, gg);
    if (threadIdx.x == 0) {
      sums[3 * c] = pg;
      sums[3 * c + 1] = pp;
      sums[3 * c + 2] = gg;
    }
  }
  // Thread 0 wrote every sum itself, so it reads them back without a barrier.
  if (loss != nullptr && threadIdx.x == 0) loss[0] = T(dice_loss_from_sums(sums, k));
}

template <class T>
__global__ void __launch_bounds__(kThreads)
    backward_kernel(const T* x, const T* g, const double* sums, const T* gout, int64_t k, int64_t s,
                    int64_t blocks, T* gx) {
  const double w = dice_weight(double(gout[0]), k);
  for (int64_t t = blockIdx.x; t < blocks; t += gridDim.x) {
    const DiceSpan sp = dice_span(t, s);
    const DiceCoefficients co = dice_class_coefficients(sums, sp.row % k, w);
    const T a = T(co.a), b = T(co.b);
    const T* xr = x + sp.row * s;
    const T* gr = g + sp.row * s;
    T* out = gx + sp.row * s;
    if (a == T(0) && b == T(0)) {  // the ignored background (uniform over the block)
      for (int64_t i = sp.lo + threadIdx.x; i < sp.hi; i += kThreads) out[i] = T(0);
      continue;
    }
    for (int64_t i = sp.lo + threadIdx.x; i < sp.hi; i += kThreads)
      out[i] = dice_grad_element(exp_neg(xr[i]), gr[i], a, b);
  }
}

int64_t span_blocks(int64_t n, int64_t k, int64_t s) {
  return s > 0 ? n * k * dice_spans_per_row(s) : 0;
}

}  // namespace

int64_t dice_workspace(int64_t n, int64_t k, int64_t s) { return 3 * span_blocks(n, k, s); }

template <class T>
void dice_sums(const T* x, const T* g, int64_t n, int64_t k, int64_t s, double* work, double* sums,
               T* loss) {
  const int64_t blocks = span_blocks(n, k, s), per_row = s > 0 ? dice_spans_per_row(s) : 0;
  if (blocks > 0) {
    launch("dice (cuda): class sums", sums_kernel<T>, grid_for(blocks), kThreads, 0, x, g, s,
           blocks, work);
  }
  launch("dice (cuda): finalize", finalize_kernel<T>, 1, kThreads, 0, work, k, n * per_row, per_row,
         sums, loss);
}

template <class T>
void dice_backward(const T* x, const T* g, const double* sums, const T* gout, int64_t n, int64_t k,
                   int64_t s, T* gx) {
  const int64_t blocks = span_blocks(n, k, s);
  if (blocks == 0) return;
  launch("soft_dice_loss (cuda): backward", backward_kernel<T>, grid_for(blocks), kThreads, 0, x, g,
         sums, gout, k, s, blocks, gx);
}

#define FDL_INSTANTIATE(T)                                                                         \
  template void dice_sums<T>(const T*, const T*, int64_t, int64_t, int64_t, double*, double*, T*); \
  template void dice_backward<T>(const T*, const T*, const double*, const T*, int64_t, int64_t,    \
                                 int64_t, T*);
FDL_INSTANTIATE(float)
FDL_INSTANTIATE(double)
#undef FDL_INSTANTIATE

}  // namespace fdl::kernels::cuda
