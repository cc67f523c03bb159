#include "engine/nn/conv3d.h"

#include "engine/nn/init.h"
#include "engine/ops/conv3d.h"

namespace fdl {

Conv3d::Conv3d(int cin, int cout, int k, int stride, int padding, bool bias, Generator& g)
    : stride_(stride), padding_(padding) {
  FDL_CHECK(cin >= 1 && cout >= 1 && k >= 1 && stride >= 1 && padding >= 0,
            "Conv3d: bad sizes cin ", cin, ", cout ", cout, ", k ", k, ", stride ", stride,
            ", padding ", padding);
  weight_ = register_parameter("weight", Tensor::empty({cout, cin, k, k, k}));
  kaiming_uniform_conv_(weight_, g);
  if (bias) {
    bias_ = register_parameter("bias", Tensor::empty({cout}));
    conv_bias_uniform_(bias_, weight_, g);
  }
}

Tensor Conv3d::operator()(const Tensor& x) const {
  return conv3d(x, weight_, bias_, stride_, padding_);
}

}  // namespace fdl
