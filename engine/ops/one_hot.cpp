#include "engine/ops/one_hot.h"

#include "engine/ops/checks.h"
#include "engine/profile.h"
#include "kernels/common/one_hot.h"
#include "kernels/cpu/one_hot.h"
#ifdef FDL_HAVE_CUDA
#include "kernels/cuda/one_hot.h"
#endif

namespace fdl {

Tensor one_hot(const Tensor& labels, int num_classes) {
  FDL_PROFILE_RANGE("one_hot");
  ops::check_ndim(labels, 4, "one_hot", "labels");
  FDL_CHECK(labels.dtype() == DType::I32, "one_hot: 'labels' must be int32, got ",
            dtype_name(labels.dtype()));
  FDL_CHECK(num_classes >= 1, "one_hot: num_classes must be at least 1, got ", num_classes);
  const int64_t n = labels.size(0), s = labels.shape().numel_from(1);
  Tensor out = Tensor::empty({n, num_classes, labels.size(1), labels.size(2), labels.size(3)},
                             DType::F32, labels.device());
  kernels::OneHotBadLabel bad;
  if (labels.device() == Device::CPU) {
    bad.index = kernels::cpu::one_hot(labels.data<int32_t>(), out.data<float>(), n,
                                      int64_t(num_classes), s);
    if (bad.index >= 0) bad.value = labels.data<int32_t>()[bad.index];
  } else {
#ifdef FDL_HAVE_CUDA
    Tensor report = Tensor::empty({kernels::kOneHotReportWords}, DType::I32, Device::CUDA);
    kernels::cuda::one_hot(labels.data<int32_t>(), out.data<float>(), n, int64_t(num_classes), s,
                           report.data<int32_t>());
    // The one wait of this op: labels are user data, and a bad one must stop here.
    bad = kernels::read_one_hot_report(report.to(Device::CPU).data<int32_t>());
#else
    ops::no_cuda("one_hot");
#endif
  }
  FDL_CHECK(bad.index < 0, "one_hot: label value ", bad.value, " at flat index ", bad.index,
            " of labels ", labels.shape().str(), " is outside [0, ", num_classes, ") for ",
            num_classes, " classes");
  return out;
}

}  // namespace fdl
