#pragma once
// The frequency-disentangled U-Nets (docs/method.md §4.3-4.4). The input is split into low
// and high frequencies (spectral_split); a second first-conv, conv3d_c1_low, runs on the low
// part and its features are spectrally fused with the high branch: right after the first conv
// (early) or after the decoder's last Up block (late).
#include "models/unet3d.h"

namespace fdl {

enum class Fusion { Early, Late };

class FDUNet3D : public UNet3D {
 public:
  FDUNet3D(const ModelOptions& opt, Fusion where, Generator& init);
  Tensor forward(const Tensor& x) override;  // splits x, then forward_split
  Tensor forward_split(const Tensor& low, const Tensor& high);
  // {x - high, high}: the whole volume's low part on x's own grid (the inverse transform of
  // the block alone, on the full grid), and its high part.
  std::vector<Tensor> input_streams(const Tensor& x) const override;
  // The low stream's patch goes to its small grid by the same split (it holds the block's
  // frequencies only, so the split keeps all of it on a whole volume), then forward_split.
  Tensor forward_streams(const std::vector<Tensor>& s) override;
  bool streams_are_local() const override { return false; }

 private:
  Fusion where_;
  ConvPtr c1_low_;
};

}  // namespace fdl
