#include "engine/data/patch.h"

#include <algorithm>
#include <cstring>

#include "kernels/common/error.h"
#include "kernels/common/philox.h"

namespace fdl {

namespace {

// The leading dims as one count, and the spatial dims, of a (..., X, Y, Z) host tensor.
struct Layout {
  int64_t lead = 1;
  Index3 n{};
};

Layout layout(const Tensor& x, const char* op) {
  FDL_CHECK(x.ndim() >= 3, op, ": needs (..., X, Y, Z), got ", x.shape().str());
  FDL_CHECK(x.device() == Device::CPU, op, ": the tensor must be on the CPU");
  FDL_CHECK(x.dtype() == DType::F32 || x.dtype() == DType::I32, op, ": float32 or int32 only, got ",
            dtype_name(x.dtype()));
  Layout l;
  for (int d = 0; d < x.ndim() - 3; ++d) l.lead *= x.size(d);
  for (int a = 0; a < 3; ++a) l.n[size_t(a)] = x.size(x.ndim() - 3 + a);
  return l;
}

Shape with_spatial(const Tensor& x, Index3 n) {
  std::vector<int64_t> d;
  for (int i = 0; i < x.ndim() - 3; ++i) d.push_back(x.size(i));
  d.insert(d.end(), n.begin(), n.end());
  return Shape(d);
}

}  // namespace

Tensor crop_pad(const Tensor& x, Index3 start, Index3 size) {
  const Layout l = layout(x, "crop_pad");
  for (int64_t s : size) FDL_CHECK(s > 0, "crop_pad: the patch size must be positive");
  Tensor y = Tensor::zeros(with_spatial(x, size), x.dtype());
  const size_t e = dtype_size(x.dtype());
  // The part of the block inside x, per axis: [lo, hi) in x's coordinates.
  Index3 lo{}, hi{};
  for (size_t a = 0; a < 3; ++a) {
    lo[a] = std::clamp<int64_t>(start[a], 0, l.n[a]);
    hi[a] = std::clamp<int64_t>(start[a] + size[a], 0, l.n[a]);
    if (hi[a] <= lo[a]) return y;
  }
  const char* src = static_cast<const char*>(x.raw());
  char* dst = static_cast<char*>(y.raw());
  const size_t row = size_t(hi[2] - lo[2]) * e;
  for (int64_t c = 0; c < l.lead; ++c)
    for (int64_t i = lo[0]; i < hi[0]; ++i)
      for (int64_t j = lo[1]; j < hi[1]; ++j) {
        const int64_t from = ((c * l.n[0] + i) * l.n[1] + j) * l.n[2] + lo[2];
        const int64_t to = ((c * size[0] + (i - start[0])) * size[1] + (j - start[1])) * size[2] +
                           (lo[2] - start[2]);
        std::memcpy(dst + size_t(to) * e, src + size_t(from) * e, row);
      }
  return y;
}

Tensor channel_volume(const Tensor& x, int64_t c) {
  const Layout l = layout(x, "channel_volume");
  const int64_t channels = x.ndim() >= 4 ? x.size(x.ndim() - 4) : 0;
  FDL_CHECK((x.ndim() == 4 || (x.ndim() == 5 && x.size(0) == 1)) && c >= 0 && c < channels,
            "channel_volume: needs (C, X, Y, Z) or (1, C, X, Y, Z) and a channel in [0, C), got ",
            x.shape().str(), " and ", c);
  const int64_t v = l.n[0] * l.n[1] * l.n[2];
  Tensor y = Tensor::empty({l.n[0], l.n[1], l.n[2]}, x.dtype());
  std::memcpy(y.raw(), static_cast<const char*>(x.raw()) + size_t(c * v) * dtype_size(x.dtype()),
              size_t(v) * dtype_size(x.dtype()));
  return y;
}

Tensor mirror(const Tensor& x, std::array<bool, 3> axes) {
  const Layout l = layout(x, "mirror");
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  const size_t e = dtype_size(x.dtype());
  const char* src = static_cast<const char*>(x.raw());
  char* dst = static_cast<char*>(y.raw());
  const auto [X, Y, Z] = l.n;
  for (int64_t c = 0; c < l.lead; ++c)
    for (int64_t i = 0; i < X; ++i)
      for (int64_t j = 0; j < Y; ++j) {
        const int64_t si = axes[0] ? X - 1 - i : i, sj = axes[1] ? Y - 1 - j : j;
        const char* from = src + size_t(((c * X + si) * Y + sj) * Z) * e;
        char* to = dst + size_t(((c * X + i) * Y + j) * Z) * e;
        if (!axes[2]) {
          std::memcpy(to, from, size_t(Z) * e);
          continue;
        }
        for (int64_t k = 0; k < Z; ++k)
          std::memcpy(to + size_t(k) * e, from + size_t(Z - 1 - k) * e, e);
      }
  return y;
}

ForegroundIndex index_foreground(const Tensor& label, int classes, size_t max_per_class) {
  FDL_CHECK(label.ndim() == 3 && label.dtype() == DType::I32 && label.device() == Device::CPU,
            "index_foreground: the label must be int32 (X, Y, Z) on the CPU, got ",
            label.shape().str());
  FDL_CHECK(classes >= 2 && max_per_class > 0,
            "index_foreground: needs 2 or more classes and a positive cap");
  ForegroundIndex fg;
  fg.shape = {label.size(0), label.size(1), label.size(2)};
  const int32_t* v = label.data<int32_t>();
  const int64_t n = label.numel();
  std::vector<int64_t> count(size_t(classes), 0);
  for (int64_t i = 0; i < n; ++i) {
    FDL_CHECK(v[i] >= 0 && v[i] < classes, "index_foreground: label value ", v[i],
              " is outside [0, ", classes, ")");
    ++count[size_t(v[i])];
  }
  // Keep every stride-th voxel of a class, stride = ceil(count / max): at most max of them.
  fg.voxels.resize(size_t(classes - 1));
  std::vector<int64_t> seen(size_t(classes), 0);
  for (int64_t i = 0; i < n; ++i) {
    const int k = v[i];
    if (k == 0) continue;
    const int64_t stride = (count[size_t(k)] + int64_t(max_per_class) - 1) / int64_t(max_per_class);
    if (seen[size_t(k)]++ % stride == 0) fg.voxels[size_t(k - 1)].push_back(i);
  }
  return fg;
}

PatchDraw draw_patch(const ForegroundIndex& fg, Index3 patch, double foreground_fraction,
                     uint64_t key) {
  // Draws 0..4 of the stream: the foreground coin, the class, the voxel, then 3 uniform starts.
  auto u = [key](uint64_t i) { return double(kernels::philox_uniform(key, 0, i)); };
  auto pick = [](double r, size_t n) { return std::min(n - 1, size_t(r * double(n))); };
  std::vector<size_t> present;
  for (size_t k = 0; k < fg.voxels.size(); ++k)
    if (!fg.voxels[k].empty()) present.push_back(k);
  PatchDraw d;
  d.foreground = !present.empty() && u(0) < foreground_fraction;
  for (size_t a = 0; a < 3; ++a) {
    const int64_t room = fg.shape[a] - patch[a];  // the starts that keep the patch inside
    if (room < 0) {
      d.start[a] = room / 2;  // centred: the crop pads both sides
    } else {
      const int64_t n_starts = room + 1;
      d.start[a] = std::min<int64_t>(room, int64_t(u(3 + a) * double(n_starts)));
    }
  }
  if (!d.foreground) return d;
  const std::vector<int64_t>& vox = fg.voxels[present[pick(u(1), present.size())]];
  const int64_t at = vox[pick(u(2), vox.size())];
  const int64_t Y = fg.shape[1], Z = fg.shape[2];
  const Index3 centre{at / (Y * Z), (at / Z) % Y, at % Z};
  for (size_t a = 0; a < 3; ++a) {
    const int64_t room = fg.shape[a] - patch[a];
    const int64_t s = centre[a] - patch[a] / 2;
    d.start[a] = room < 0 ? s : std::clamp<int64_t>(s, 0, room);
  }
  return d;
}

}  // namespace fdl
