#include "engine/ops/spectral.h"

#include <cmath>

#include "engine/autograd.h"
#include "engine/ops/checks.h"
#include "kernels/cpu/fft.h"
#include "kernels/cpu/spectral.h"
#ifdef FDL_HAVE_CUDA
#include "kernels/cuda/cufft_plan.h"
#include "kernels/cuda/spectral.h"
#endif

namespace fdl {

namespace kc = kernels::cpu;

namespace {

constexpr const char* kAxis[3] = {"X", "Y", "Z"};

kernels::Block3 kernel_block(const SpectralBlock& b) {
  kernels::Block3 k;
  for (int a = 0; a < 3; ++a) k.a[a] = {b.full[a], b.small[a], b.centre == KspaceCentre::Shifted};
  return k;
}

std::array<int64_t, 3> spatial(const Tensor& t) {
  const int d = t.ndim();
  return {t.size(d - 3), t.size(d - 2), t.size(d - 1)};
}

int64_t half_numel(const std::array<int64_t, 3>& d) { return d[0] * d[1] * (d[2] / 2 + 1); }

// The checks of rfft3; the spectrum to fill, with its grid and batch.
HalfSpectrum fft_shape(const Tensor& x) {
  ops::check_float(x, "rfft3", "x");
  FDL_CHECK(x.ndim() >= 3, "rfft3: 'x' needs at least 3 dimensions, got shape ", x.shape().str());
  const std::array<int64_t, 3> d = spatial(x);
  FDL_CHECK(d[0] * d[1] * d[2] > 0, "rfft3: 'x' has an empty grid ", x.shape().str());
  HalfSpectrum s{Tensor(), d, x.numel() / (d[0] * d[1] * d[2])};
  FDL_CHECK(s.batch > 0, "rfft3: 'x' is empty ", x.shape().str());
  return s;
}

// The checks of spectral_split; its block.
SpectralBlock split_block(const Tensor& x, std::array<double, 3> beta, KspaceCentre c) {
  ops::check_float(x, "spectral_split", "x");
  FDL_CHECK(x.ndim() == 5, "spectral_split: 'x' must be (N, C, X, Y, Z), got shape ",
            x.shape().str());
  FDL_CHECK(x.numel() > 0, "spectral_split: 'x' is empty ", x.shape().str());
  return SpectralBlock::make(spatial(x), beta, c);
}

// The checks of spectral_fuse; the block whose small grid is low's.
SpectralBlock fuse_block(const Tensor& high, const Tensor& low, KspaceCentre c) {
  ops::check_float(high, "spectral_fuse", "high");
  ops::check_float(low, "spectral_fuse", "low");
  FDL_CHECK(high.ndim() == 5 && low.ndim() == 5,
            "spectral_fuse: 'high' and 'low' must be (N, C, X, Y, Z), got shapes ",
            high.shape().str(), " and ", low.shape().str());
  FDL_CHECK(high.dtype() == low.dtype(), "spectral_fuse: 'high' is ", dtype_name(high.dtype()),
            " but 'low' is ", dtype_name(low.dtype()));
  FDL_CHECK(high.device() == low.device(), "spectral_fuse: 'high' is on ",
            device_name(high.device()), " but 'low' is on ", device_name(low.device()));
  FDL_CHECK(high.size(0) == low.size(0) && high.size(1) == low.size(1),
            "spectral_fuse: batch and channels differ: 'high' ", high.shape().str(), ", 'low' ",
            low.shape().str());
  FDL_CHECK(high.numel() > 0, "spectral_fuse: 'high' is empty ", high.shape().str());
  const std::array<int64_t, 3> full = spatial(high), small = spatial(low);
  for (int a = 0; a < 3; ++a)
    FDL_CHECK(small[a] >= 1 && small[a] <= full[a], "spectral_fuse: 'low' ", low.shape().str(),
              " must be no larger than 'high' ", high.shape().str(), " and non-empty; axis ",
              kAxis[a], " has ", small[a], " vs ", full[a]);
  return SpectralBlock::of_sizes(full, small, c);
}

// The device twins work on half spectra: the FFT pair, the fusion's forward (l embedded in
// h's block, h scaled) and its backward, the adjoint, which is also the split's forward (the
// block cropped out of s into l, and zeroed in s; each part scaled).
void rfft_cpu(const Tensor& x, HalfSpectrum& s) {
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kc::rfft3(x.data<T>(), s.data.data<T>(), s.dims, s.batch);
  });
}

void irfft_cpu(HalfSpectrum& s, Tensor& out) {
  dispatch_float(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kc::irfft3(s.data.data<T>(), out.data<T>(), s.dims, s.batch);
  });
}

void forward_cpu(const kernels::Block3& b, HalfSpectrum& h, const HalfSpectrum& l, double scale) {
  dispatch_float(h.data.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kc::spectral_embed(h.data.data<T>(), l.data.data<T>(), b, h.batch, T(scale));
  });
}

void backward_cpu(const kernels::Block3& b, HalfSpectrum& s, HalfSpectrum& l, double low_scale,
                  double high_scale) {
  dispatch_float(s.data.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kc::spectral_crop(s.data.data<T>(), l.data.data<T>(), b, s.batch, T(low_scale));
    kc::spectral_zero_block(s.data.data<T>(), b, s.batch, T(high_scale));
  });
}

#ifdef FDL_HAVE_CUDA
namespace kg = kernels::cuda;

// cuFFT's work area, from the caching allocator. Planning a new shape (validation's batch of
// one, say) can fail when the allocator's cache holds most of the GPU: the cache is then given
// back and the plan tried once more.
template <class T>
Tensor cufft_work(const std::array<int64_t, 3>& dims, int64_t batch, bool forward) {
  size_t bytes = 0;
  try {
    bytes = kg::fft_workspace_bytes<T>(dims, batch, forward);
  } catch (const Error&) {
    Allocator::get(Device::CUDA).empty_cache();
    bytes = kg::fft_workspace_bytes<T>(dims, batch, forward);
  }
  return Tensor::empty({int64_t(bytes / 4 + 1)}, DType::F32, Device::CUDA);
}

void rfft_cuda(const Tensor& x, HalfSpectrum& s) {
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor work = cufft_work<T>(s.dims, s.batch, true);
    kg::rfft3(x.data<T>(), s.data.data<T>(), s.dims, s.batch, work.raw());
  });
}

void irfft_cuda(HalfSpectrum& s, Tensor& out) {
  dispatch_float(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor work = cufft_work<T>(s.dims, s.batch, false);
    kg::irfft3(s.data.data<T>(), out.data<T>(), s.dims, s.batch, work.raw());
  });
}

void forward_cuda(const kernels::Block3& b, HalfSpectrum& h, const HalfSpectrum& l, double scale) {
  dispatch_float(h.data.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kg::spectral_embed(h.data.data<T>(), l.data.data<T>(), b, h.batch, T(scale));
  });
}

void backward_cuda(const kernels::Block3& b, HalfSpectrum& s, HalfSpectrum& l, double low_scale,
                   double high_scale) {
  dispatch_float(s.data.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kg::spectral_crop(s.data.data<T>(), l.data.data<T>(), b, s.batch, T(low_scale));
    kg::spectral_zero_block(s.data.data<T>(), b, s.batch, T(high_scale));
  });
}
#else
void rfft_cuda(const Tensor&, HalfSpectrum&) { ops::no_cuda("rfft3"); }
void irfft_cuda(HalfSpectrum&, Tensor&) { ops::no_cuda("irfft3"); }
void forward_cuda(const kernels::Block3&, HalfSpectrum&, const HalfSpectrum&, double) {
  ops::no_cuda("spectral_fuse");
}
void backward_cuda(const kernels::Block3&, HalfSpectrum&, HalfSpectrum&, double, double) {
  ops::no_cuda("spectral_split");
}
#endif

// The split with chosen scales on the low and high parts: the forward split uses
// (1/|B|, 1/n); the fusion's backward uses (1/n, 1/n), i.e. |B|/n times the split's low.
SplitResult split_scaled(const Tensor& x, const SpectralBlock& b, double low_scale) {
  const kernels::Block3 kb = kernel_block(b);
  HalfSpectrum s = rfft3(x);
  HalfSpectrum l{Tensor::empty({s.batch * half_numel(b.small) * 2}, x.dtype(), x.device()), b.small,
                 s.batch};
  const double high_scale = 1.0 / double(kb.full_numel());
  if (x.device() == Device::CUDA)
    backward_cuda(kb, s, l, low_scale, high_scale);
  else
    backward_cpu(kb, s, l, low_scale, high_scale);
  Shape low_shape = x.shape();
  for (int a = 0; a < 3; ++a) low_shape[x.ndim() - 3 + a] = b.small[a];
  SplitResult r;
  r.low = irfft3(l, low_shape);
  r.high = irfft3(s, x.shape());
  return r;
}

}  // namespace

KspaceCentre parse_kspace_centre(const std::string& s) {
  if (s == "shifted") return KspaceCentre::Shifted;
  if (s == "unshifted") return KspaceCentre::Unshifted;
  throw Error("kspace centre: expected 'shifted' or 'unshifted', got '" + s + "'");
}

const char* kspace_centre_name(KspaceCentre c) {
  return c == KspaceCentre::Shifted ? "shifted" : "unshifted";
}

SpectralBlock SpectralBlock::make(std::array<int64_t, 3> full, std::array<double, 3> beta,
                                  KspaceCentre c) {
  std::array<int64_t, 3> small{};
  for (int a = 0; a < 3; ++a) {
    FDL_CHECK(full[a] > 0, "spectral block: axis ", kAxis[a], " has size ", full[a]);
    FDL_CHECK(std::isfinite(beta[a]) && beta[a] > 0 && beta[a] <= 1,
              "spectral block: beta on axis ", kAxis[a], " must be in (0, 1], got ", beta[a]);
    // int(n * beta), truncated toward zero as Python's int() (docs/method.md §2.2).
    small[a] = int64_t(double(full[a]) * beta[a]);
    FDL_CHECK(small[a] >= 1, "spectral block: beta ", beta[a], " on axis ", kAxis[a], " (size ",
              full[a], ") gives an empty block: int(", full[a], " * ", beta[a],
              ") = 0; beta must be at least 1/", full[a]);
  }
  return {full, small, c};
}

SpectralBlock SpectralBlock::of_sizes(std::array<int64_t, 3> full, std::array<int64_t, 3> small,
                                      KspaceCentre c) {
  for (int a = 0; a < 3; ++a)
    FDL_CHECK(small[a] >= 1 && small[a] <= full[a], "spectral block: the small grid's size ",
              small[a], " on axis ", kAxis[a], " must be in [1, ", full[a], "]");
  return {full, small, c};
}

HalfSpectrum rfft3(const Tensor& x) {
  HalfSpectrum s = fft_shape(x);
  s.data = Tensor::empty({s.batch * half_numel(s.dims) * 2}, x.dtype(), x.device());
  if (x.device() == Device::CUDA)
    rfft_cuda(x, s);
  else
    rfft_cpu(x, s);
  return s;
}

Tensor irfft3(HalfSpectrum& s, const Shape& shape) {
  FDL_CHECK(shape.ndim() >= 3 && shape[-3] == s.dims[0] && shape[-2] == s.dims[1] &&
                shape[-1] == s.dims[2] &&
                shape.numel() == s.batch * s.dims[0] * s.dims[1] * s.dims[2],
            "irfft3: output shape ", shape.str(), " does not fit a spectrum of ", s.batch, " x ",
            s.dims[0], "x", s.dims[1], "x", s.dims[2]);
  Tensor out = Tensor::empty(shape, s.data.dtype(), s.data.device());
  if (out.device() == Device::CUDA)
    irfft_cuda(s, out);
  else
    irfft_cpu(s, out);
  return out;
}

SplitResult spectral_split(const Tensor& x, std::array<double, 3> beta, KspaceCentre c) {
  const SpectralBlock b = split_block(x, beta, c);
  return split_scaled(x, b, 1.0 / double(b.small[0] * b.small[1] * b.small[2]));
}

Tensor spectral_fuse(const Tensor& high, const Tensor& low, KspaceCentre c) {
  const SpectralBlock b = fuse_block(high, low, c);
  const kernels::Block3 kb = kernel_block(b);
  HalfSpectrum h = rfft3(high);
  const HalfSpectrum l = rfft3(low);
  const double scale = 1.0 / double(kb.full_numel());
  if (high.device() == Device::CUDA)
    forward_cuda(kb, h, l, scale);
  else
    forward_cpu(kb, h, l, scale);
  Tensor out = irfft3(h, high.shape());
  if (autograd::wants({high, low})) {
    // The adjoint is the split of grad_out with |B|/n on the low part; it saves nothing.
    autograd::record("spectral_fuse", out, {high, low}, [b, scale](const Tensor& g) {
      SplitResult r = split_scaled(g, b, scale);
      return std::vector<Tensor>{r.high, r.low};
    });
  }
  return out;
}

Tensor spectrum_display_plane(const Tensor& volume, KspaceCentre c) {
  ops::check_ndim(volume, 3, "spectrum_display_plane", "volume");
  const Tensor v = volume.to(Device::CPU).to(DType::F32);
  const HalfSpectrum s = rfft3(v);
  const int64_t X = s.dims[0], Y = s.dims[1], h2 = s.dims[2] / 2 + 1;
  Tensor out = Tensor::empty({X, Y});
  const float* spec = s.data.data<float>();
  float* o = out.data<float>();
  const bool shifted = c == KspaceCentre::Shifted;
  for (int64_t u = 0; u < X; ++u)
    for (int64_t w = 0; w < Y; ++w) {
      // fftshift puts frequency f at index f + n/2, so display u holds raw (u - n/2) mod n.
      const int64_t r0 = shifted ? (u - X / 2 + X) % X : u, r1 = shifted ? (w - Y / 2 + Y) % Y : w;
      const float* p = spec + 2 * ((r0 * Y + r1) * h2);
      o[u * Y + w] = std::log1p(std::hypot(p[0], p[1]));
    }
  return out;
}

std::array<int64_t, 4> spectrum_display_block(const SpectralBlock& b) {
  std::array<int64_t, 2> start{};
  for (int a = 0; a < 2; ++a)
    start[a] = b.centre == KspaceCentre::Shifted ? b.full[a] / 2 - b.small[a] / 2
                                                 : (b.full[a] - b.small[a]) / 2;
  return {start[0], start[1], b.small[0], b.small[1]};
}

}  // namespace fdl
