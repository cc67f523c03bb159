#pragma once
// Adam with torch.optim.Adam's semantics: L2 weight decay added to the gradient, bias
// corrections, amsgrad off. Each parameter keeps its own step count, as in torch, so a
// parameter that gets no gradient in a step is left alone and its moments do not age.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace fdl {

struct AdamOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 1e-10;
};

class Adam {
 public:
  Adam(std::vector<std::pair<std::string, Tensor>> params, AdamOptions opt = {});

  // Updates every parameter that has a gradient, in place. All parameters must be on one
  // device; on CUDA one multi-tensor kernel per dtype updates them all.
  void step();
  void zero_grad();  // sets the gradients to undefined (torch's set_to_none=True)
  int64_t steps() const { return steps_; }  // calls to step()
  const AdamOptions& options() const { return opt_; }
  // The learning rate of the following steps (a schedule's, set before each epoch); the
  // moments and step counts are kept.
  void set_lr(double lr);

  // For checkpoints: "<param>.exp_avg", "<param>.exp_avg_sq" (live tensors on the parameter's
  // device, not copies) and "<param>.step" (a 0-dim float64 count on the CPU).
  std::map<std::string, Tensor> state() const;
  // Copies the moments in, from any device and float dtype (a checkpoint's are on the CPU);
  // a missing key or a shape mismatch is an fdl::Error naming it. A parameter's step comes
  // from "<param>.step" when present, else from `steps`.
  void load_state(const std::map<std::string, Tensor>& state, int64_t steps);

 private:
  struct Slot {
    std::string name;
    Tensor param, exp_avg, exp_avg_sq;
    int64_t step = 0;
    // The moments live on the parameter's device, and follow it there if it moved after
    // the optimiser was made.
    void follow_param();
  };
  std::vector<Slot> slots_;
  AdamOptions opt_;
  int64_t steps_ = 0;
};

}  // namespace fdl
