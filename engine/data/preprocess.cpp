#include "engine/data/preprocess.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/data/resample.h"

namespace fdl {

namespace {

// The first input index of each axis's window (negative: padding before), by the centring
// rule in the header.
std::array<int64_t, 3> window_start(const std::array<int64_t, 3>& in,
                                    const std::array<int64_t, 3>& out) {
  std::array<int64_t, 3> s{};
  for (size_t a = 0; a < 3; ++a)
    s[a] = in[a] >= out[a] ? (in[a] - out[a]) / 2 : -((out[a] - in[a]) / 2);
  return s;
}

// Centred crop/pad of x ((X, Y, Z) or (C, X, Y, Z)) to `out`, zeros outside the input.
template <class T>
Tensor crop_pad(const Tensor& x, const std::array<int64_t, 3>& out) {
  const int64_t C = x.ndim() == 4 ? x.size(0) : 1;
  const std::array<int64_t, 3> in{x.size(-3), x.size(-2), x.size(-1)};
  const auto s = window_start(in, out);
  Tensor y = x.ndim() == 4 ? Tensor::zeros({C, out[0], out[1], out[2]}, x.dtype())
                           : Tensor::zeros({out[0], out[1], out[2]}, x.dtype());
  const T* xi = x.data<T>();
  T* yo = y.data<T>();
  // The z range that lands inside the input is the same for every row.
  const int64_t z0 = std::max<int64_t>(0, -s[2]), z1 = std::min(out[2], in[2] - s[2]);
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < out[0]; ++i) {
      const int64_t xi_ = i + s[0];
      if (xi_ < 0 || xi_ >= in[0] || z1 <= z0) continue;
      for (int64_t j = 0; j < out[1]; ++j) {
        const int64_t yi = j + s[1];
        if (yi < 0 || yi >= in[1]) continue;
        const T* src = xi + ((c * in[0] + xi_) * in[1] + yi) * in[2] + s[2];
        T* dst = yo + ((c * out[0] + i) * out[1] + j) * out[2];
        std::copy(src + z0, src + z1, dst + z0);
      }
    }
  return y;
}

// The q-th percentile (0..100) of v, interpolating linearly between order statistics as
// numpy.percentile does by default. Reorders v.
double percentile(std::vector<float>& v, double q) {
  const double pos = q / 100.0 * double(v.size() - 1);
  const size_t lo = size_t(std::floor(pos));
  std::nth_element(v.begin(), v.begin() + long(lo), v.end());
  const double a = v[lo];
  if (lo + 1 >= v.size()) return a;
  const double b = *std::min_element(v.begin() + long(lo) + 1, v.end());
  return a + (pos - double(lo)) * (b - a);
}

// Normalises n voxels in place by `norm`.
void normalise(float* v, int64_t n, const Preprocess& p) {
  double lo = v[0], hi = v[0];
  if (p.norm == Norm::Percentile) {
    std::vector<float> tmp(v, v + n);
    lo = percentile(tmp, p.pct_low);
    hi = percentile(tmp, p.pct_high);
  } else {
    float mn = v[0], mx = v[0];
#pragma omp parallel for reduction(min : mn) reduction(max : mx) schedule(static)
    for (int64_t i = 0; i < n; ++i) mn = std::min(mn, v[i]), mx = std::max(mx, v[i]);
    lo = mn, hi = mx;
  }
  double shift = lo, scale = hi > lo ? 1.0 / (hi - lo) : 0.0;
  if (p.norm == Norm::ZScore) {
    double sum = 0, sq = 0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
    for (int64_t i = 0; i < n; ++i) sum += v[i];
    shift = sum / double(n);
#pragma omp parallel for reduction(+ : sq) schedule(static)
    for (int64_t i = 0; i < n; ++i) sq += (v[i] - shift) * (v[i] - shift);
    const double sd = std::sqrt(sq / double(n));
    scale = sd > 0 ? 1.0 / sd : 0.0;
  }
  const bool clip = p.norm != Norm::ZScore;  // min-max results stay in [0, 1] despite rounding
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const double y = (double(v[i]) - shift) * scale;
    v[i] = float(clip ? std::clamp(y, 0.0, 1.0) : y);
  }
}

}  // namespace

Fit parse_fit(const std::string& s) {
  if (s == "resize") return Fit::Resize;
  if (s == "crop-pad") return Fit::CropPad;
  throw Error("--fit: '" + s + "' is not one of resize, crop-pad");
}

Norm parse_norm(const std::string& s) {
  if (s == "minmax") return Norm::MinMax;
  if (s == "zscore") return Norm::ZScore;
  if (s == "percentile") return Norm::Percentile;
  throw Error("--norm: '" + s + "' is not one of minmax, zscore, percentile");
}

std::string fit_name(Fit f) { return f == Fit::Resize ? "resize" : "crop-pad"; }

std::string norm_name(Norm n) {
  return n == Norm::MinMax ? "minmax" : n == Norm::ZScore ? "zscore" : "percentile";
}

Prepared prepare(const Tensor& image, const Tensor& label, const Preprocess& p) {
  FDL_CHECK(image.defined() && image.ndim() == 4, "prepare: image must be (C, X, Y, Z), got ",
            image.defined() ? image.shape().str() : "an undefined tensor");
  FDL_CHECK(image.device() == Device::CPU, "prepare: image must be on the CPU");
  FDL_CHECK(image.numel() > 0, "prepare: image ", image.shape().str(), " is empty");
  for (int64_t s : p.shape) FDL_CHECK(s >= 1, "prepare: target shape must be positive, got ", s);
  FDL_CHECK(p.pct_low >= 0 && p.pct_low < p.pct_high && p.pct_high <= 100,
            "prepare: percentiles must satisfy 0 <= low < high <= 100, got ", p.pct_low, " and ",
            p.pct_high);
  const Shape spatial{image.size(1), image.size(2), image.size(3)};
  if (label.defined()) {
    FDL_CHECK(label.dtype() == DType::I32 && label.device() == Device::CPU,
              "prepare: label must be int32 on the CPU");
    FDL_CHECK(label.shape() == spatial, "prepare: label ", label.shape().str(), " and image ",
              image.shape().str(), " differ in spatial shape");
  }

  Tensor x = image.dtype() == DType::F32 ? image.clone() : image.to(DType::F32);
  const int64_t C = x.size(0), n = spatial.numel();
  for (int64_t c = 0; c < C; ++c) normalise(x.data<float>() + c * n, n, p);

  Prepared r;
  r.original_shape = {spatial[0], spatial[1], spatial[2]};
  if (p.fit == Fit::Resize) {
    r.image = resize_trilinear(x, p.shape);
    if (label.defined()) r.label = resize_nearest(label, p.shape);
  } else {
    r.image = crop_pad<float>(x, p.shape);
    if (label.defined()) r.label = crop_pad<int32_t>(label, p.shape);
  }
  return r;
}

Tensor restore_mask(const Tensor& mask, std::array<int64_t, 3> original_shape,
                    const Preprocess& p) {
  FDL_CHECK(mask.defined() && mask.dtype() == DType::I32 && mask.device() == Device::CPU,
            "restore_mask: mask must be an int32 CPU tensor");
  FDL_CHECK(mask.shape() == Shape({p.shape[0], p.shape[1], p.shape[2]}), "restore_mask: mask ",
            mask.shape().str(), " is not at the preprocessing shape (", p.shape[0], ", ",
            p.shape[1], ", ", p.shape[2], ")");
  for (int64_t s : original_shape)
    FDL_CHECK(s >= 1, "restore_mask: original shape must be positive, got ", s);
  // Cropping a centred window back out of the target grid uses the same rule in reverse:
  // the offset from t to n is minus the offset from n to t, floor and all.
  return p.fit == Fit::Resize ? resize_nearest(mask, original_shape)
                              : crop_pad<int32_t>(mask, original_shape);
}

}  // namespace fdl
