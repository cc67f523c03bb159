#include "engine/optim/sgd.h"

#include <cmath>
#include <set>

#include "engine/ops/checks.h"
#include "engine/optim/step_checks.h"
#include "engine/profile.h"
#include "kernels/cpu/sgd.h"
#ifdef FDL_HAVE_CUDA
#include "kernels/cuda/sgd.h"
#endif

namespace fdl {

Sgd::Sgd(std::vector<std::pair<std::string, Tensor>> params, SgdOptions opt) : opt_(opt) {
  FDL_CHECK(std::isfinite(opt.lr) && opt.lr >= 0 && std::isfinite(opt.weight_decay) &&
                opt.weight_decay >= 0,
            "Sgd: lr ", opt.lr, " and weight_decay ", opt.weight_decay,
            " must be finite and non-negative");
  FDL_CHECK(opt.momentum >= 0 && opt.momentum < 1, "Sgd: momentum ", opt.momentum,
            " must lie in [0, 1)");
  FDL_CHECK(!opt.nesterov || opt.momentum > 0, "Sgd: Nesterov momentum needs a momentum above 0");
  std::set<std::string> seen;
  for (auto& [name, p] : params) {
    FDL_CHECK(seen.insert(name).second, "Sgd: parameter '", name, "' is given twice");
    ops::check_float(p, "Sgd", name.c_str());
    slots_.push_back({name, p, Tensor::zeros(p.shape(), p.dtype(), p.device())});
  }
}

void Sgd::Slot::follow_param() {
  if (buf.device() != param.device()) buf.move_to_(param.device());
}

#ifdef FDL_HAVE_CUDA
namespace {
// Every slot of dtype T in one multi-tensor kernel (one launch per kAdamMaxTensors).
template <class T>
void update_cuda(const std::vector<Tensor>& params, const std::vector<Tensor>& bufs,
                 const SgdOptions& opt) {
  std::vector<kernels::cuda::SgdTensor<T>> table;
  for (size_t i = 0; i < params.size(); ++i)
    if (params[i].dtype() == dtype_of<T>::value)
      table.push_back(
          {params[i].data<T>(), params[i].grad().data<T>(), bufs[i].data<T>(), params[i].numel()});
  if (!table.empty())
    kernels::cuda::sgd_step(table.data(), int64_t(table.size()), opt.lr, opt.momentum,
                            opt.weight_decay, opt.nesterov);
}
}  // namespace
#endif

void Sgd::step() {
  FDL_PROFILE_RANGE("sgd_step");
  // Check everything before changing anything.
  std::vector<Slot*> live;
  for (Slot& s : slots_)
    if (optim::has_step_gradient("Sgd::step", s.name, s.param, slots_.front().name,
                                 slots_.front().param))
      live.push_back(&s);
  const bool on_cuda = !live.empty() && live.front()->param.device() == Device::CUDA;
  optim::check_step_device("Sgd::step", on_cuda);
  for (Slot* s : live) s->follow_param();
  if (on_cuda) {
#ifdef FDL_HAVE_CUDA
    std::vector<Tensor> params, bufs;
    for (Slot* s : live) params.push_back(s->param), bufs.push_back(s->buf);
    update_cuda<float>(params, bufs, opt_);
    update_cuda<double>(params, bufs, opt_);
#endif
  } else {
    for (Slot* s : live)
      dispatch_float(s->param.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        kernels::cpu::sgd_step(s->param.data<T>(), s->param.grad().data<T>(), s->buf.data<T>(),
                               s->param.numel(), opt_.lr, opt_.momentum, opt_.weight_decay,
                               opt_.nesterov);
      });
  }
  ++steps_;
}

void Sgd::set_lr(double lr) {
  FDL_CHECK(std::isfinite(lr) && lr >= 0, "Sgd::set_lr: the learning rate ", lr,
            " must be finite and non-negative");
  opt_.lr = lr;
}

void Sgd::zero_grad() {
  for (Slot& s : slots_) s.param.set_grad(Tensor());
}

std::map<std::string, Tensor> Sgd::state() const {
  std::map<std::string, Tensor> out;
  for (const Slot& s : slots_) out[s.name + ".momentum_buffer"] = s.buf;
  return out;
}

void Sgd::load_state(const std::map<std::string, Tensor>& state, int64_t steps) {
  FDL_CHECK(steps >= 0, "Sgd::load_state: negative step count ", steps);
  auto find = [&](const Slot& s) -> const Tensor& {
    const std::string key = s.name + ".momentum_buffer";
    auto it = state.find(key);
    FDL_CHECK(it != state.end(), "Sgd::load_state: no '", key, "' in the optimiser state");
    FDL_CHECK(it->second.shape() == s.param.shape(), "Sgd::load_state: '", key, "' has shape ",
              it->second.shape().str(), " but the parameter has ", s.param.shape().str());
    return it->second;
  };
  // Check everything before changing anything, so a bad state leaves the optimiser intact.
  for (const Slot& s : slots_) find(s);
  for (Slot& s : slots_) {
    s.follow_param();
    s.buf.copy_(find(s).to(s.param.dtype()));
  }
  steps_ = steps;
}

}  // namespace fdl
