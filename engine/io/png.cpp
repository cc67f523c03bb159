#include "engine/io/png.h"

#include <algorithm>
#include <cmath>

#include "engine/io/atomic_file.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb_image_write.h>
#pragma GCC diagnostic pop

namespace fdl {

namespace {

// The 1st and 99th percentiles, or the range when they coincide.
std::array<double, 2> window(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  double lo = v[size_t(0.01 * double(n - 1))], hi = v[size_t(0.99 * double(n - 1))];
  if (hi <= lo) lo = v.front(), hi = v.back();
  return {lo, hi};
}

// Bilinear sample of a (A, B) image at continuous coordinates, clamped at the edges.
double sample(const std::vector<double>& v, int64_t A, int64_t B, double a, double b) {
  a = std::clamp(a, 0.0, double(A - 1));
  b = std::clamp(b, 0.0, double(B - 1));
  const int64_t a0 = int64_t(a), b0 = int64_t(b);
  const int64_t a1 = std::min(a0 + 1, A - 1), b1 = std::min(b0 + 1, B - 1);
  const double fa = a - double(a0), fb = b - double(b0);
  auto at = [&](int64_t i, int64_t j) { return v[size_t(i * B + j)]; };
  return (1 - fa) * ((1 - fb) * at(a0, b0) + fb * at(a0, b1)) +
         fa * ((1 - fb) * at(a1, b0) + fb * at(a1, b1));
}

}  // namespace

void write_panels_png(const std::string& path, const std::vector<PngPanel>& panels,
                      int panel_pixels) {
  FDL_CHECK(!panels.empty(), path, ": no panels to draw");
  int64_t A = 0, B = 0;
  for (const PngPanel& p : panels) {
    FDL_CHECK(p.image.defined() && p.image.ndim() == 2 && p.image.numel() > 0, path,
              ": a panel must be a non-empty 2-D image");
    A = std::max(A, p.image.size(0));
    B = std::max(B, p.image.size(1));
  }
  const int64_t zoom = std::max<int64_t>(1, panel_pixels / std::max(A, B));
  const int64_t pw = A * zoom, ph = B * zoom, gap = 4;
  const int64_t W = int64_t(panels.size()) * pw + (int64_t(panels.size()) - 1) * gap, H = ph;
  std::vector<uint8_t> rgb(size_t(W * H * 3), 32);
  for (size_t k = 0; k < panels.size(); ++k) {
    const PngPanel& p = panels[k];
    const int64_t a_n = p.image.size(0), b_n = p.image.size(1);
    const std::vector<double> v = p.image.to_vector();
    const auto [lo, hi] = window(v);
    const int64_t x0 = int64_t(k) * (pw + gap);
    for (int64_t row = 0; row < ph; ++row)
      for (int64_t col = 0; col < pw; ++col) {
        // Pixel centre in the common extent's voxel units, then in this image's.
        const double a = (double(col) + 0.5) / double(zoom) - 0.5;
        const double b = (double(ph - 1 - row) + 0.5) / double(zoom) - 0.5;
        const double s =
            sample(v, a_n, b_n, a * double(a_n) / double(A), b * double(b_n) / double(B));
        const double g = hi > lo ? std::clamp((s - lo) / (hi - lo), 0.0, 1.0) : 0.5;
        uint8_t* px = &rgb[size_t((row * W + x0 + col) * 3)];
        px[0] = px[1] = px[2] = uint8_t(std::lround(255 * g));
      }
    const auto [oa, ob, na, nb] = p.outline;
    if (na <= 0 || nb <= 0) continue;
    // The block's edges, in pixels of this panel (image pixel i spans [i, i+1) * zoom * A / a_n).
    const double sa = double(zoom) * double(A) / double(a_n),
                 sb = double(zoom) * double(B) / double(b_n);
    const int64_t c0 = int64_t(double(oa) * sa), c1 = int64_t(double(oa + na) * sa) - 1;
    const int64_t r1 = ph - 1 - int64_t(double(ob) * sb), r0 = ph - int64_t(double(ob + nb) * sb);
    auto red = [&](int64_t row, int64_t col) {
      if (row < 0 || row >= ph || col < 0 || col >= pw) return;
      uint8_t* px = &rgb[size_t((row * W + x0 + col) * 3)];
      px[0] = 255, px[1] = 40, px[2] = 40;
    };
    for (int64_t col = c0; col <= c1; ++col) red(r0, col), red(r1, col);
    for (int64_t row = r0; row <= r1; ++row) red(row, c0), red(row, c1);
  }
  write_rgb_png(path, rgb, int(W), int(H));
}

void write_rgb_png(const std::string& path, const std::vector<uint8_t>& rgb, int width,
                   int height) {
  FDL_CHECK(width > 0 && height > 0 && rgb.size() == size_t(width) * size_t(height) * 3, path,
            ": an RGB image of ", width, "x", height, " needs ", size_t(width) * size_t(height) * 3,
            " bytes, got ", rgb.size());
  std::string bytes;
  auto sink = [](void* ctx, void* data, int size) {
    static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), size_t(size));
  };
  FDL_CHECK(stbi_write_png_to_func(sink, &bytes, width, height, 3, rgb.data(), width * 3) != 0,
            path, ": PNG encoding failed");
  io::write_file_atomic(path, bytes);
}

}  // namespace fdl
