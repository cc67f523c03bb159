#pragma once
// The nearest x2 upsampling index map, shared by the CUDA kernels and tested on the host.
// Input element i of nc volumes (X, Y, Z) is copied to a 2x2x2 block of the (2X, 2Y, 2Z)
// output: two adjacent values in each of four output rows.
#include <cstdint>

#include "kernels/common/elementwise.h"  // FDL_HD

namespace fdl::kernels {

struct Upsample2x {
  int64_t Y = 1, Z = 1;  // input sizes of the two inner axes

  FDL_HD int64_t row2() const { return 2 * Z; }        // output row length
  FDL_HD int64_t plane2() const { return 4 * Y * Z; }  // output (y, z) plane size

  // Output index of the block's first value (2x, 2y, 2z) for input element i.
  FDL_HD int64_t block_base(int64_t i) const {
    const int64_t row = i / Z, k = i - row * Z;  // row = (volume * X + x) * Y + y
    const int64_t r = row / Y, j = row - r * Y;  // r = volume * X + x
    return 2 * r * plane2() + 2 * j * row2() + 2 * k;
  }

  // Offset of value q (0..7) of a block from its base: bit 0 steps z, bit 1 y, bit 2 x.
  FDL_HD int64_t offset(int q) const {
    return (q & 1) + (q & 2 ? row2() : 0) + (q & 4 ? plane2() : 0);
  }

  // The block's sum, in the CPU kernel's order: pairs along z, then rows, then planes.
  template <class T>
  FDL_HD T block_sum(const T* g, int64_t base) const {
    const T* g0 = g + base;
    const T* g1 = g0 + row2();
    const T* g2 = g0 + plane2();
    const T* g3 = g2 + row2();
    return ((g0[0] + g0[1]) + (g1[0] + g1[1])) + ((g2[0] + g2[1]) + (g3[0] + g3[1]));
  }
};

}  // namespace fdl::kernels
