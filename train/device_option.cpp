#include "train/device_option.h"

#include "engine/device.h"
#include "kernels/common/error.h"

namespace fdl::train {

std::string cuda_unavailable_reason() {
#ifdef FDL_HAVE_CUDA
  if (cuda_available()) return {};
  return "no CUDA device is present on this machine (or the driver cannot be reached)";
#else
  return "this fdl was built without CUDA (configure with -DFDL_CUDA=ON where nvcc is installed)";
#endif
}

Device parse_device(const std::string& name, const char* option) {
  FDL_CHECK(name == "cpu" || name == "cuda", option, " must be cpu or cuda, got '", name, "'");
  if (name == "cpu") return Device::CPU;
  const std::string why = cuda_unavailable_reason();
  FDL_CHECK(why.empty(), option, " cuda: ", why, "; use ", option, " cpu");
  return Device::CUDA;
}

}  // namespace fdl::train
