#include "engine/optim/step_checks.h"

namespace fdl::optim {

bool has_step_gradient(const char* who, const std::string& name, const Tensor& param,
                       const std::string& first_name, const Tensor& first) {
  FDL_CHECK(param.device() == first.device(), who, ": parameter '", name, "' is on ",
            device_name(param.device()), " but '", first_name, "' is on ",
            device_name(first.device()), "; all parameters must be on one device");
  const Tensor g = param.grad();
  if (!g.defined()) return false;
  FDL_CHECK(g.shape() == param.shape() && g.dtype() == param.dtype(), who, ": gradient of '", name,
            "' is ", g.shape().str(), " ", dtype_name(g.dtype()), ", the parameter is ",
            param.shape().str(), " ", dtype_name(param.dtype()));
  FDL_CHECK(g.device() == param.device(), who, ": gradient of '", name, "' is on ",
            device_name(g.device()), " but the parameter is on ", device_name(param.device()));
  return true;
}

void check_step_device([[maybe_unused]] const char* who, [[maybe_unused]] bool on_cuda) {
#ifndef FDL_HAVE_CUDA
  FDL_CHECK(!on_cuda, who,
            ": the parameters are on cuda but this build of fdl has no CUDA "
            "backend");
#endif
}

}  // namespace fdl::optim
