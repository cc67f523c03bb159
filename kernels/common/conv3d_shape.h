#pragma once
// The geometry of one 3D convolution, shared by the CPU and CUDA kernels.
// x: (n, cin, in[0], in[1], in[2]); w: (cout, cin, k, k, k); y: (n, cout, out(0..2)).
// Output index o along an axis reads input o * stride - pad + kk for kk in [0, k).
#include <cstdint>

#include "kernels/common/elementwise.h"

namespace fdl::kernels {

struct Conv3dShape {
  int n = 1, cin = 1, cout = 1;
  int in[3] = {1, 1, 1};
  int k = 3, stride = 1, pad = 1;

  FDL_HD int out(int axis) const { return (in[axis] + 2 * pad - k) / stride + 1; }
  FDL_HD int taps() const { return k * k * k; }
  FDL_HD int64_t in_volume() const { return int64_t(in[0]) * in[1] * in[2]; }
  FDL_HD int64_t out_volume() const { return int64_t(out(0)) * out(1) * out(2); }
  FDL_HD int64_t x_numel() const { return int64_t(n) * cin * in_volume(); }
  FDL_HD int64_t y_numel() const { return int64_t(n) * cout * out_volume(); }
  FDL_HD int64_t w_numel() const { return int64_t(cout) * cin * taps(); }
  // Multiply-adds of one pass (forward, data gradient or weight gradient) times two.
  FDL_HD double flops() const { return 2.0 * double(y_numel()) * cin * taps(); }
  // Index of weight (co, ci, kx, ky, kz) in PyTorch's layout.
  FDL_HD int64_t w_index(int co, int ci, int kx, int ky, int kz) const {
    return ((int64_t(co) * cin + ci) * k * k + int64_t(kx) * k + ky) * k + kz;
  }
};

}  // namespace fdl::kernels
