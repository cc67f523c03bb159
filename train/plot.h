#pragma once
// A tiny RGB rasteriser for the PNG plots of training runs and studies: lines, boxes and text
// in a 3x5 pixel font (digits, capital letters and . - _ :). y grows downwards.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace fdl::train {

using Rgb = std::array<uint8_t, 3>;

struct Canvas {
  int w, h;
  std::vector<uint8_t> px;  // RGB, row-major, white to start
  Canvas(int w_, int h_) : w(w_), h(h_), px(size_t(w_) * size_t(h_) * 3, 255) {}

  void dot(int x, int y, Rgb c);                     // nothing outside the canvas
  void tint(int x, int y, Rgb c, double alpha);      // blends c over the pixel with weight alpha
  void rect(int x0, int y0, int x1, int y1, Rgb c);  // filled, corners inclusive
  void line(int x0, int y0, int x1, int y1, Rgb c,
            int thick = 1);  // Bresenham, `thick` pixels wide
  // Text at `scale` (lower case is drawn as upper case), top-left at (x, y). Returns the width
  // drawn.
  int text(int x, int y, const std::string& s, Rgb c, int scale = 2);
};

inline const Rgb kAxis{60, 60, 60}, kGrid{225, 225, 225};
// Colours of successive series (matplotlib's first eight).
inline const Rgb kColours[] = {{31, 119, 180},  {255, 127, 14}, {44, 160, 44},   {214, 39, 40},
                               {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127}};

}  // namespace fdl::train
