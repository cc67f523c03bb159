#include "models/fd_unet3d.h"

#include "engine/autograd.h"
#include "engine/ops/elementwise.h"

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

std::vector<Tensor> FDUNet3D::input_streams(const Tensor& x) const {
  autograd::NoGrad no_grad;
  const Tensor high = spectral_split(x, opt_.beta, opt_.centre).high;
  return {add(x, scale(high, -1.0)), high};
}

Tensor FDUNet3D::forward_streams(const std::vector<Tensor>& s) {
  FDL_CHECK(s.size() == 2, "fd model: expects the low and the high stream, got ", s.size(),
            " streams");
  Tensor low;
  {
    autograd::NoGrad no_grad;
    low = spectral_split(s[0], opt_.beta, opt_.centre).low;
  }
  return forward_split(low, s[1]);
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
