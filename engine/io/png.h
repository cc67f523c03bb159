#pragma once
// PNG figures for a quick look at volumes: 2-D panels side by side, each with its own
// intensity window (its 1st to 99th percentile), optionally with a rectangle outlined.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace fdl {

struct PngPanel {
  // (A, B) 2-D image: A runs left to right and B bottom to top, as an axial slice (X, Y)
  // is usually shown.
  Tensor image;
  // Panels are drawn over a common (A, B) extent: the largest panel's. A smaller image is
  // stretched over it with bilinear interpolation (a coarse grid shown at full size).
  std::array<int64_t, 4> outline{0, 0, 0, 0};  // a0, b0, na, nb in image pixels; na = 0: none
};

// Writes the panels in a row (atomically). Each panel is drawn at an integer zoom that
// makes it about `panel_pixels` wide.
void write_panels_png(const std::string& path, const std::vector<PngPanel>& panels,
                      int panel_pixels = 256);

// Writes an 8-bit RGB image, rows top to bottom (width * height * 3 bytes), atomically.
void write_rgb_png(const std::string& path, const std::vector<uint8_t>& rgb, int width, int height);

}  // namespace fdl
