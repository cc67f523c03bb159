#include "engine/ops/one_hot.h"

#include "engine/ops/checks.h"
#include "kernels/cpu/one_hot.h"

namespace fdl {

Tensor one_hot(const Tensor& labels, int num_classes) {
  ops::check_ndim(labels, 4, "one_hot", "labels");
  FDL_CHECK(labels.dtype() == DType::I32, "one_hot: 'labels' must be int32, got ",
            dtype_name(labels.dtype()));
  FDL_CHECK(num_classes >= 1, "one_hot: num_classes must be at least 1, got ", num_classes);
  if (labels.device() == Device::CUDA) ops::no_cuda("one_hot");
  const int64_t n = labels.size(0), s = labels.shape().numel_from(1);
  Tensor out = Tensor::empty({n, num_classes, labels.size(1), labels.size(2), labels.size(3)},
                             DType::F32, labels.device());
  const int64_t bad = kernels::cpu::one_hot(labels.data<int32_t>(), out.data<float>(), n,
                                            int64_t(num_classes), s);
  FDL_CHECK(bad < 0, "one_hot: label value ", labels.data<int32_t>()[bad],
            " at flat index ", bad, " of labels ", labels.shape().str(),
            " is outside [0, ", num_classes, ") for ", num_classes, " classes");
  return out;
}

}  // namespace fdl
