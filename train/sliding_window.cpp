#include "train/sliding_window.h"

#include <algorithm>
#include <cmath>

#include "engine/autograd.h"
#include "kernels/common/error.h"

namespace fdl::train {

std::vector<int64_t> window_starts(int64_t n, int64_t patch, double overlap) {
  FDL_CHECK(n > 0 && patch > 0, "sliding window: sizes must be positive");
  FDL_CHECK(overlap >= 0 && overlap < 1, "sliding window: the overlap must lie in [0, 1), got ",
            overlap);
  if (n <= patch) return {0};
  const double max_step = std::max(1.0, double(patch) * (1 - overlap));
  const int64_t windows = int64_t(std::ceil(double(n - patch) / max_step)) + 1;
  std::vector<int64_t> starts;
  for (int64_t i = 0; i < windows; ++i)
    starts.push_back(int64_t(std::llround(double(i) * double(n - patch) / double(windows - 1))));
  return starts;
}

Tensor gaussian_importance(Index3 patch) {
  Tensor g = Tensor::empty({patch[0], patch[1], patch[2]});
  std::array<std::vector<double>, 3> axis;  // the separable factors
  for (size_t a = 0; a < 3; ++a) {
    const double sigma = double(patch[a]) / 8, centre = double(patch[a] - 1) / 2;
    for (int64_t i = 0; i < patch[a]; ++i)
      axis[a].push_back(
          std::exp(-(double(i) - centre) * (double(i) - centre) / (2 * sigma * sigma)));
  }
  double peak = 0;
  for (double x : axis[0])
    for (double y : axis[1])
      for (double z : axis[2]) peak = std::max(peak, x * y * z);
  float* out = g.data<float>();
  for (int64_t i = 0; i < patch[0]; ++i)
    for (int64_t j = 0; j < patch[1]; ++j)
      for (int64_t k = 0; k < patch[2]; ++k)
        *out++ = float(
            std::max(1e-3, axis[0][size_t(i)] * axis[1][size_t(j)] * axis[2][size_t(k)] / peak));
  return g;
}

namespace {

// One pass over the windows of an unmirrored volume: the weighted sum of logits and of weights.
Tensor windows_pass(SegModel& model, const Tensor& image, const SlidingWindow& w,
                    const Tensor& importance) {
  const Index3 n{image.size(1), image.size(2), image.size(3)};
  const Device dev = model.named_parameters().front().second.device();
  std::vector<Tensor> streams =
      model.input_streams(image.reshape({1, image.size(0), n[0], n[1], n[2]}));
  for (Tensor& s : streams) s = s.to(Device::CPU).reshape({s.size(1), n[0], n[1], n[2]});
  Tensor sum, weight = Tensor::zeros({n[0], n[1], n[2]});
  const float* g = importance.data<float>();
  for (int64_t x0 : window_starts(n[0], w.patch[0], w.overlap))
    for (int64_t y0 : window_starts(n[1], w.patch[1], w.overlap))
      for (int64_t z0 : window_starts(n[2], w.patch[2], w.overlap)) {
        const Index3 at{x0, y0, z0};
        std::vector<Tensor> patch;
        for (const Tensor& s : streams) {
          const Tensor p = crop_pad(s, at, w.patch);
          patch.push_back(p.reshape({1, p.size(0), w.patch[0], w.patch[1], w.patch[2]}).to(dev));
        }
        const Tensor logits = model.forward_streams(patch).to(Device::CPU);
        const int64_t K = logits.size(1);
        if (!sum.defined()) sum = Tensor::zeros({K, n[0], n[1], n[2]});
        const float* l = logits.data<float>();
        float* acc = sum.data<float>();
        float* wt = weight.data<float>();
        // Only the part of the window inside the volume counts (a padded window hangs over).
        const Index3 hi{std::min(n[0], x0 + w.patch[0]), std::min(n[1], y0 + w.patch[1]),
                        std::min(n[2], z0 + w.patch[2])};
#pragma omp parallel for
        for (int64_t i = x0; i < hi[0]; ++i)
          for (int64_t j = y0; j < hi[1]; ++j)
            for (int64_t k = z0; k < hi[2]; ++k) {
              const int64_t pi = ((i - x0) * w.patch[1] + (j - y0)) * w.patch[2] + (k - z0);
              const int64_t vi = (i * n[1] + j) * n[2] + k;
              wt[vi] += g[pi];
              for (int64_t c = 0; c < K; ++c)
                acc[c * n[0] * n[1] * n[2] + vi] +=
                    g[pi] * l[c * w.patch[0] * w.patch[1] * w.patch[2] + pi];
            }
      }
  const int64_t v = weight.numel();
  float* acc = sum.data<float>();
  const float* wt = weight.data<float>();
#pragma omp parallel for
  for (int64_t i = 0; i < v; ++i)
    for (int64_t c = 0; c < sum.size(0); ++c) acc[c * v + i] /= wt[i];
  return sum;
}

}  // namespace

Tensor sliding_window_logits(SegModel& model, const Tensor& image, const SlidingWindow& w) {
  FDL_CHECK(image.ndim() == 4 && image.dtype() == DType::F32 && image.device() == Device::CPU,
            "sliding window: the image must be float32 (C, X, Y, Z) on the host, got ",
            image.shape().str());
  for (int64_t p : w.patch)
    FDL_CHECK(p > 0 && p % 4 == 0,
              "sliding window: every patch size must be a positive multiple of 4, got ", w.patch[0],
              "x", w.patch[1], "x", w.patch[2]);
  autograd::NoGrad no_grad;
  model.train(false);
  const Tensor importance = gaussian_importance(w.patch);
  if (!w.mirror) return windows_pass(model, image, w, importance);
  // The mean over the 8 mirrorings: each mirrored volume is predicted whole (its streams
  // computed from it, as a mirrored input would be), and its logits mirrored back.
  Tensor mean;
  for (int m = 0; m < 8; ++m) {
    const std::array<bool, 3> axes{bool(m & 1), bool(m & 2), bool(m & 4)};
    const Tensor logits = mirror(windows_pass(model, mirror(image, axes), w, importance), axes);
    if (!mean.defined()) {
      mean = logits;
      continue;
    }
    float* a = mean.data<float>();
    const float* b = logits.data<float>();
    for (int64_t i = 0; i < mean.numel(); ++i) a[i] += b[i];
  }
  float* a = mean.data<float>();
  for (int64_t i = 0; i < mean.numel(); ++i) a[i] /= 8;
  return mean;
}

}  // namespace fdl::train
