#pragma once
// Conv3d module: a weight (Cout, Cin, k, k, k), optionally a bias (Cout), with PyTorch's
// default initialisation, around fdl::conv3d.
#include "engine/nn/module.h"
#include "engine/random.h"

namespace fdl {

class Conv3d : public Module {
 public:
  Conv3d(int cin, int cout, int k, int stride, int padding, bool bias, Generator& g);
  Tensor operator()(const Tensor& x) const;

  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }  // undefined when the conv has none
  int stride() const { return stride_; }
  int padding() const { return padding_; }

 private:
  Tensor weight_, bias_;
  int stride_, padding_;
};

}  // namespace fdl
