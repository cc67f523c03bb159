#include "engine/optim/adam.h"

#include <cmath>
#include <set>

#include "engine/ops/checks.h"
#include "engine/optim/step_checks.h"
#include "engine/profile.h"
#include "kernels/cpu/adam.h"
#ifdef FDL_HAVE_CUDA
#include "kernels/cuda/adam.h"
#endif

namespace fdl {

Adam::Adam(std::vector<std::pair<std::string, Tensor>> params, AdamOptions opt) : opt_(opt) {
  FDL_CHECK(opt.lr >= 0 && opt.eps >= 0 && opt.weight_decay >= 0, "Adam: lr ", opt.lr, ", eps ",
            opt.eps, " and weight_decay ", opt.weight_decay, " must be non-negative");
  FDL_CHECK(opt.beta1 >= 0 && opt.beta1 < 1 && opt.beta2 >= 0 && opt.beta2 < 1, "Adam: betas (",
            opt.beta1, ", ", opt.beta2, ") must lie in [0, 1)");
  std::set<std::string> seen;
  for (auto& [name, p] : params) {
    FDL_CHECK(seen.insert(name).second, "Adam: parameter '", name, "' is given twice");
    ops::check_float(p, "Adam", name.c_str());
    slots_.push_back({name, p, Tensor::zeros(p.shape(), p.dtype(), p.device()),
                      Tensor::zeros(p.shape(), p.dtype(), p.device())});
  }
}

void Adam::Slot::follow_param() {
  if (exp_avg.device() == param.device()) return;
  exp_avg.move_to_(param.device());
  exp_avg_sq.move_to_(param.device());
}

namespace {

// One parameter's update in this step.
struct Update {
  Tensor param, grad, exp_avg, exp_avg_sq;
  kernels::cpu::AdamScalars scalars;
};

void update_cpu(const Update& u) {
  dispatch_float(u.param.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::cpu::adam_step(u.param.data<T>(), u.grad.data<T>(), u.exp_avg.data<T>(),
                            u.exp_avg_sq.data<T>(), u.param.numel(), u.scalars);
  });
}

#ifdef FDL_HAVE_CUDA
// All updates of one dtype in one multi-tensor kernel (one launch per kAdamMaxTensors).
template <class T>
void update_cuda(const std::vector<Update>& updates, const AdamOptions& opt) {
  std::vector<kernels::cuda::AdamTensor<T>> table;
  for (const Update& u : updates)
    if (u.param.dtype() == dtype_of<T>::value)
      table.push_back({u.param.data<T>(), u.grad.data<T>(), u.exp_avg.data<T>(),
                       u.exp_avg_sq.data<T>(), u.param.numel(), u.scalars.step_size,
                       u.scalars.bias_correction2_sqrt});
  if (!table.empty())
    kernels::cuda::adam_step(table.data(), int64_t(table.size()), opt.beta1, opt.beta2, opt.eps,
                             opt.weight_decay);
}
#endif

}  // namespace

void Adam::step() {
  FDL_PROFILE_RANGE("adam_step");
  // Check everything before changing anything.
  std::vector<Slot*> live;
  for (Slot& s : slots_)
    if (optim::has_step_gradient("Adam::step", s.name, s.param, slots_.front().name,
                                 slots_.front().param))
      live.push_back(&s);
  const bool on_cuda = !live.empty() && live.front()->param.device() == Device::CUDA;
  optim::check_step_device("Adam::step", on_cuda);
  std::vector<Update> updates;
  for (Slot* s : live) {
    s->follow_param();
    ++s->step;
    const double t = double(s->step);
    updates.push_back(
        {s->param,
         s->param.grad(),
         s->exp_avg,
         s->exp_avg_sq,
         {opt_.beta1, opt_.beta2, opt_.eps, opt_.weight_decay,
          opt_.lr / (1 - std::pow(opt_.beta1, t)), std::sqrt(1 - std::pow(opt_.beta2, t))}});
  }
  if (on_cuda) {
#ifdef FDL_HAVE_CUDA
    update_cuda<float>(updates, opt_);
    update_cuda<double>(updates, opt_);
#endif
  } else {
    for (const Update& u : updates) update_cpu(u);
  }
  ++steps_;
}

void Adam::set_lr(double lr) {
  FDL_CHECK(std::isfinite(lr) && lr >= 0, "Adam::set_lr: the learning rate ", lr,
            " must be finite and non-negative");
  opt_.lr = lr;
}

void Adam::zero_grad() {
  for (Slot& s : slots_) s.param.set_grad(Tensor());
}

std::map<std::string, Tensor> Adam::state() const {
  std::map<std::string, Tensor> out;
  for (const Slot& s : slots_) {
    out[s.name + ".exp_avg"] = s.exp_avg;
    out[s.name + ".exp_avg_sq"] = s.exp_avg_sq;
    out[s.name + ".step"] = Tensor::full(Shape{}, double(s.step), DType::F64);
  }
  return out;
}

void Adam::load_state(const std::map<std::string, Tensor>& state, int64_t steps) {
  FDL_CHECK(steps >= 0, "Adam::load_state: negative step count ", steps);
  auto find = [&](const Slot& s, const char* what) -> const Tensor& {
    const std::string key = s.name + what;
    auto it = state.find(key);
    FDL_CHECK(it != state.end(), "Adam::load_state: no '", key, "' in the optimiser state");
    FDL_CHECK(it->second.shape() == s.param.shape(), "Adam::load_state: '", key, "' has shape ",
              it->second.shape().str(), " but the parameter has ", s.param.shape().str());
    return it->second;
  };
  // Check everything before changing anything, so a bad state leaves the optimiser intact.
  std::vector<int64_t> step_of;
  for (const Slot& s : slots_) {
    find(s, ".exp_avg");
    find(s, ".exp_avg_sq");
    auto it = state.find(s.name + ".step");
    step_of.push_back(it == state.end() ? steps : int64_t(it->second.item()));
    FDL_CHECK(step_of.back() >= 0, "Adam::load_state: negative step for '", s.name, "'");
  }
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    s.follow_param();
    s.exp_avg.copy_(find(s, ".exp_avg").to(s.param.dtype()));
    s.exp_avg_sq.copy_(find(s, ".exp_avg_sq").to(s.param.dtype()));
    s.step = step_of[i];
  }
  steps_ = steps;
}

}  // namespace fdl
