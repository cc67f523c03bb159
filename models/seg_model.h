#pragma once
// The segmentation networks of docs/method.md §4 behind one interface, and their registry.
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "engine/nn/module.h"
#include "engine/ops/spectral.h"
#include "engine/random.h"

namespace fdl {

struct ModelOptions {
  int in_channels = 1;
  int classes = 2;
  int base_filters = 8;
  double dropout = 0.6;
  std::array<double, 3> beta{0.1, 0.1, 1.0};  // the spectral centre block, FD models only
  KspaceCentre centre = KspaceCentre::Shifted;
};

class SegModel : public Module {
 public:
  // x: (N, Cin, X, Y, Z), X, Y, Z divisible by 4 -> logits (N, K, X, Y, Z).
  virtual Tensor forward(const Tensor& x) = 0;
  // For patches (training on patches, sliding-window inference; docs/method.md §2.5): the
  // input streams the network reads, computed from the WHOLE volume x and all on x's grid, so
  // that cutting them into patches does not change their frequency content. {x} for unet3d;
  // the FD models' low and high parts of x's whole spectrum. Records no gradient.
  virtual std::vector<Tensor> input_streams(const Tensor& x) const { return {x}; }
  // The network on a patch (or all) of those streams. For unet3d this is forward(s[0]); the
  // FD models agree with forward(x) on a whole volume up to rounding.
  virtual Tensor forward_streams(const std::vector<Tensor>& s) { return forward(s.at(0)); }
  // True when input_streams works voxel by voxel (unet3d), so that the streams of a patch are
  // the patch of the streams and training may cut the patch before computing them.
  virtual bool streams_are_local() const { return true; }
  // Dropout draws from this stream; checkpoints save and restore it.
  Generator& dropout_generator() { return dropout_gen_; }

 protected:
  Generator dropout_gen_{0};
};

// Names: "unet3d", "fd-early", "fd-late". Weights are drawn from `init`.
std::shared_ptr<SegModel> make_model(const std::string& name, const ModelOptions& opt,
                                     Generator& init);
const std::vector<std::string>& model_names();

}  // namespace fdl
