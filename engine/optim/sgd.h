#pragma once
// SGD with momentum, with torch.optim.SGD's semantics: L2 weight decay added to the gradient,
// dampening 0, Nesterov or classical momentum. The defaults are nnU-Net's (docs/method.md §5.4).
// A parameter that gets no gradient in a step is left alone, its buffer too.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace fdl {

struct SgdOptions {
  double lr = 1e-2, momentum = 0.99, weight_decay = 3e-5;
  bool nesterov = true;
};

class Sgd {
 public:
  Sgd(std::vector<std::pair<std::string, Tensor>> params, SgdOptions opt = {});

  // Updates every parameter that has a gradient, in place. All parameters must be on one
  // device; on CUDA one multi-tensor kernel per dtype updates them all.
  void step();
  void zero_grad();  // sets the gradients to undefined (torch's set_to_none=True)
  int64_t steps() const { return steps_; }  // calls to step()
  const SgdOptions& options() const { return opt_; }
  // The learning rate of the following steps (a schedule's, set before each epoch); the
  // momentum buffers are kept.
  void set_lr(double lr);

  // For checkpoints: "<param>.momentum_buffer" (live tensors on the parameter's device, not
  // copies; zeros until the parameter's first gradient, which leaves the same values as
  // torch's buffer made from that gradient).
  std::map<std::string, Tensor> state() const;
  // Copies the buffers in, from any device and float dtype (a checkpoint's are on the CPU); a
  // missing key or a shape mismatch is an fdl::Error naming it, and leaves the optimiser as
  // it was.
  void load_state(const std::map<std::string, Tensor>& state, int64_t steps);

 private:
  struct Slot {
    std::string name;
    Tensor param, buf;
    // The buffer lives on the parameter's device, and follows it there if it moved after the
    // optimiser was made.
    void follow_param();
  };
  std::vector<Slot> slots_;
  SgdOptions opt_;
  int64_t steps_ = 0;
};

}  // namespace fdl
