#include "train/montage.h"

#include <algorithm>
#include <cstdint>

#include "engine/io/png.h"
#include "kernels/common/error.h"

namespace fdl::train {

namespace {

constexpr int kPanel = 160, kGap = 4;
constexpr uint8_t kBackground = 40;

struct Slice {
  const float* image;
  const int32_t* label;
  const int32_t* pred;
  int64_t nx, ny, nz, z;
  int32_t at(const int32_t* m, int64_t x, int64_t y) const { return m[(x * ny + y) * nz + z]; }
};

// Whether pixel (lx, ly) inside voxel (x, y) of zoom `zoom` lies on an edge of the region of
// m's class there, on the inside of a foreground voxel.
bool on_outline(const Slice& s, const int32_t* m, int64_t x, int64_t y, int64_t lx, int64_t ly,
                int64_t zoom) {
  const int32_t c = s.at(m, x, y);
  if (c == 0) return false;
  return (lx == 0 && (x == 0 || s.at(m, x - 1, y) != c)) ||
         (lx == zoom - 1 && (x == s.nx - 1 || s.at(m, x + 1, y) != c)) ||
         (ly == 0 && (y == 0 || s.at(m, x, y - 1) != c)) ||
         (ly == zoom - 1 && (y == s.ny - 1 || s.at(m, x, y + 1) != c));
}

void draw(const Slice& s, int64_t zoom, std::vector<uint8_t>& rgb, int64_t width, int64_t left,
          int64_t top) {
  std::vector<float> v;
  v.reserve(size_t(s.nx * s.ny));
  for (int64_t x = 0; x < s.nx; ++x)
    for (int64_t y = 0; y < s.ny; ++y) v.push_back(s.image[(x * s.ny + y) * s.nz + s.z]);
  std::sort(v.begin(), v.end());
  const float lo = v[v.size() / 100], hi = v[v.size() - 1 - v.size() / 100];
  const float range = hi > lo ? hi - lo : 1.0f;
  const int64_t h = s.ny * zoom;
  for (int64_t py = 0; py < h; ++py)
    for (int64_t px = 0; px < s.nx * zoom; ++px) {
      const int64_t x = px / zoom, yb = h - 1 - py, y = yb / zoom, lx = px % zoom, ly = yb % zoom;
      const float g = std::clamp((s.image[(x * s.ny + y) * s.nz + s.z] - lo) / range, 0.0f, 1.0f);
      uint8_t r = uint8_t(g * 255.0f + 0.5f), gr = r, b = r;
      const bool truth = on_outline(s, s.label, x, y, lx, ly, zoom);
      const bool pred = on_outline(s, s.pred, x, y, lx, ly, zoom);
      if (truth || pred) r = pred ? 255 : 0, gr = truth ? 255 : 0, b = 0;
      uint8_t* p = &rgb[size_t(((top + py) * width + left + px) * 3)];
      p[0] = r, p[1] = gr, p[2] = b;
    }
}

}  // namespace

std::vector<int64_t> montage_slices(const Tensor& label, int count) {
  FDL_CHECK(label.ndim() == 3 && label.dtype() == DType::I32,
            "montage: label must be int32 (X, Y, Z), got ", label.shape().str(), " ",
            dtype_name(label.dtype()));
  const int64_t nx = label.size(0), ny = label.size(1), nz = label.size(2);
  std::vector<int64_t> area(size_t(nz), 0);
  const int32_t* l = label.data<int32_t>();
  for (int64_t i = 0; i < nx * ny; ++i)
    for (int64_t z = 0; z < nz; ++z) area[size_t(z)] += l[i * nz + z] != 0;
  // The slices that show a structure (every slice when none does): structures at different
  // heights leave empty slices between them, which would show only noise.
  std::vector<int64_t> shown;
  for (int64_t z = 0; z < nz; ++z)
    if (area[size_t(z)] > 0) shown.push_back(z);
  const bool any = !shown.empty();
  if (!any)
    for (int64_t z = 0; z < nz; ++z) shown.push_back(z);
  std::vector<int64_t> out;
  auto add = [&](int64_t z) {
    if (int(out.size()) < count && std::find(out.begin(), out.end(), z) == out.end())
      out.push_back(z);
  };
  if (any) add(int64_t(std::max_element(area.begin(), area.end()) - area.begin()));
  const int64_t n = int64_t(shown.size());
  for (int q = 1; q <= count + 1; ++q) add(shown[size_t((n - 1) * q / (count + 1))]);
  // Fewer such slices than asked for: the rest spread over their extent.
  for (int q = 1; q <= count + 1; ++q)
    add(shown.front() + (shown.back() - shown.front()) * q / (count + 1));
  out.resize(std::min(out.size(), size_t(count)));
  std::sort(out.begin(), out.end());
  return out;
}

void write_montage_png(const std::string& path, const std::vector<MontageCase>& cases, int slices) {
  FDL_CHECK(!cases.empty(), "montage ", path, ": no cases");
  FDL_CHECK(slices >= 1, "montage ", path, ": slices must be at least 1, got ", slices);
  std::vector<int64_t> zoom;
  int64_t width = 0, height = kGap;
  for (const MontageCase& c : cases) {
    FDL_CHECK(c.image.ndim() == 3 && c.image.dtype() == DType::F32, "montage ", path,
              ": image must be float32 (X, Y, Z), got ", c.image.shape().str());
    FDL_CHECK(c.label.shape() == c.image.shape() && c.pred.shape() == c.image.shape() &&
                  c.label.dtype() == DType::I32 && c.pred.dtype() == DType::I32,
              "montage ", path, ": label and prediction must be int32 of the image's shape ",
              c.image.shape().str());
    zoom.push_back(std::max<int64_t>(1, kPanel / std::max(c.image.size(0), c.image.size(1))));
    width = std::max(width, kGap + slices * (c.image.size(0) * zoom.back() + kGap));
    height += c.image.size(1) * zoom.back() + kGap;
  }
  std::vector<uint8_t> rgb(size_t(width * height * 3), kBackground);
  int64_t top = kGap;
  for (size_t i = 0; i < cases.size(); ++i) {
    const MontageCase& c = cases[i];
    const Tensor image = c.image.to(Device::CPU), label = c.label.to(Device::CPU),
                 pred = c.pred.to(Device::CPU);
    int64_t left = kGap;
    for (int64_t z : montage_slices(label, slices)) {
      const Slice s{image.data<float>(),
                    label.data<int32_t>(),
                    pred.data<int32_t>(),
                    image.size(0),
                    image.size(1),
                    image.size(2),
                    z};
      draw(s, zoom[i], rgb, width, left, top);
      left += image.size(0) * zoom[i] + kGap;
    }
    top += image.size(1) * zoom[i] + kGap;
  }
  write_rgb_png(path, rgb, int(width), int(height));
}

}  // namespace fdl::train
