#include "models/fd_unet3d.h"

#include "engine/autograd.h"

namespace fdl {

FDUNet3D::FDUNet3D(const ModelOptions& opt, Fusion where, Generator& g)
    : UNet3D(opt, g), where_(where) {
  c1_low_ = conv("conv3d_c1_low", opt.in_channels, opt.base_filters, 3, 1, g);
}

Tensor FDUNet3D::forward(const Tensor& x) {
  SplitResult s;
  {
    autograd::NoGrad no_grad;  // the input split is data preparation, not part of the graph
    s = spectral_split(x, opt_.beta, opt_.centre);
  }
  return forward_split(s.low, s.high);
}

Tensor FDUNet3D::forward_split(const Tensor& low, const Tensor& high) {
  const Tensor low_features = (*c1_low_)(low);
  if (where_ == Fusion::Early) {
    const Encoded e = encode(spectral_fuse((*c1_1_)(high), low_features, opt_.centre));
    return head(decode(e), e.context1);
  }
  const Encoded e = encode((*c1_1_)(high));
  return head(spectral_fuse(decode(e), low_features, opt_.centre), e.context1);
}

}  // namespace fdl
