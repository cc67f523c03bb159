#include "train/plot.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdlib>

namespace fdl::train {
namespace {

// A 3x5 pixel font: each glyph is five rows of three bits, the high bit on the left.
const std::array<uint8_t, 5>& glyph(char c) {
  static const std::string chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.-_:";
  static const std::array<uint8_t, 5> rows[] = {
      {7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7}, {5, 5, 7, 1, 1},
      {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7},
      {2, 5, 7, 5, 5}, {6, 5, 6, 5, 6}, {3, 4, 4, 4, 3}, {6, 5, 5, 5, 6}, {7, 4, 6, 4, 7},
      {7, 4, 6, 4, 4}, {3, 4, 5, 5, 3}, {5, 5, 7, 5, 5}, {7, 2, 2, 2, 7}, {1, 1, 1, 5, 2},
      {5, 5, 6, 5, 5}, {4, 4, 4, 4, 7}, {5, 7, 7, 5, 5}, {6, 5, 5, 5, 5}, {2, 5, 5, 5, 2},
      {6, 5, 6, 4, 4}, {2, 5, 5, 6, 3}, {6, 5, 6, 5, 5}, {3, 4, 2, 1, 6}, {7, 2, 2, 2, 2},
      {5, 5, 5, 5, 7}, {5, 5, 5, 5, 2}, {5, 5, 7, 7, 5}, {5, 5, 2, 5, 5}, {5, 5, 2, 2, 2},
      {7, 1, 2, 4, 7}, {0, 0, 0, 0, 2}, {0, 0, 7, 0, 0}, {0, 0, 0, 0, 7}, {0, 2, 0, 2, 0}};
  static const std::array<uint8_t, 5> blank{0, 0, 0, 0, 0};
  const size_t i = chars.find(char(std::toupper(static_cast<unsigned char>(c))));
  return i == std::string::npos ? blank : rows[i];
}

}  // namespace

void Canvas::dot(int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= w || y >= h) return;
  std::copy(c.begin(), c.end(), px.begin() + (std::ptrdiff_t(y) * w + x) * 3);
}

void Canvas::tint(int x, int y, Rgb c, double alpha) {
  if (x < 0 || y < 0 || x >= w || y >= h) return;
  uint8_t* p = px.data() + (std::ptrdiff_t(y) * w + x) * 3;
  for (int k = 0; k < 3; ++k)
    p[k] = uint8_t(std::lround(p[k] * (1 - alpha) + c[size_t(k)] * alpha));
}

void Canvas::rect(int x0, int y0, int x1, int y1, Rgb c) {
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) dot(x, y, c);
}

void Canvas::line(int x0, int y0, int x1, int y1, Rgb c, int thick) {
  const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
  const int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  for (int err = dx + dy;;) {
    rect(x0 - thick / 2, y0 - thick / 2, x0 + (thick - 1) / 2, y0 + (thick - 1) / 2, c);
    if (x0 == x1 && y0 == y1) break;
    const int e2 = 2 * err;
    if (e2 >= dy) err += dy, x0 += sx;
    if (e2 <= dx) err += dx, y0 += sy;
  }
}

int Canvas::text(int x, int y, const std::string& s, Rgb c, int scale) {
  for (size_t k = 0; k < s.size(); ++k) {
    const auto& g = glyph(s[k]);
    for (int r = 0; r < 5; ++r)
      for (int b = 0; b < 3; ++b)
        if (g[size_t(r)] & (4 >> b))
          rect(x + (int(k) * 4 + b) * scale, y + r * scale, x + (int(k) * 4 + b + 1) * scale - 1,
               y + (r + 1) * scale - 1, c);
  }
  return int(s.size()) * 4 * scale;
}

}  // namespace fdl::train
