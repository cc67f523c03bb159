#pragma once
// The baseline 3D U-Net (docs/method.md §4.2), with its parts exposed so that the FD variants can
// replace the first convolution (early fusion) or fuse before the last decoder block (late).
#include "engine/nn/conv3d.h"
#include "models/seg_model.h"

namespace fdl {

class UNet3D : public SegModel {
 public:
  UNet3D(const ModelOptions& opt, Generator& init);
  Tensor forward(const Tensor& x) override;

 protected:
  struct Encoded {
    Tensor out;       // context3: the encoder's output
    Tensor context1;  // LReLU(L1 sum), full size, F channels
    Tensor context2;
  };
  // L1 from `a` (the first conv's output) through L3.
  Encoded encode(const Tensor& a);
  // The decoder up to the output of its last Up block: F channels, full size.
  Tensor decode(const Encoded& e);
  // cat(up, context1) -> conv -> IN -> LReLU -> the two summed 1x1 heads.
  Tensor head(const Tensor& up, const Tensor& context1);

  using ConvPtr = std::shared_ptr<Conv3d>;
  // Registers a bias-free conv under a state_dict path such as "lrelu_conv_c1.1": the part
  // before the dot is a container module, as in the release's nn.Sequential blocks.
  ConvPtr conv(const std::string& path, int cin, int cout, int k, int stride, Generator& g);
  Tensor dropout(const Tensor& x);

  ModelOptions opt_;
  ConvPtr c1_1_, c1_2_, c1_3_, c2_, b2_, c3_, b3_, l2_conv_, l2_1x1_, l2_up_, l3_conv_, l3_1x1_,
      l3_up_, l4_conv_, head1_, head2_;
};

}  // namespace fdl
