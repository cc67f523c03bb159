#include "engine/ops/one_hot.h"

#include "engine/ops/checks.h"
#include "engine/profile.h"
#include "kernels/common/one_hot.h"
#include "kernels/cpu/one_hot.h"
#ifdef FDL_HAVE_CUDA
#include "kernels/cuda/one_hot.h"
#endif

namespace fdl {

namespace {

// The kernels' view: n label maps of s voxels, k classes.
struct OneHotShape {
  int64_t n, k, s;
  Shape out;  // (N, K, X, Y, Z)
};

OneHotShape one_hot_shape(const Tensor& labels, int num_classes) {
  ops::check_ndim(labels, 4, "one_hot", "labels");
  FDL_CHECK(labels.dtype() == DType::I32, "one_hot: 'labels' must be int32, got ",
            dtype_name(labels.dtype()));
  FDL_CHECK(num_classes >= 1, "one_hot: num_classes must be at least 1, got ", num_classes);
  const int64_t n = labels.size(0);
  return {n,
          num_classes,
          labels.shape().numel_from(1),
          {n, num_classes, labels.size(1), labels.size(2), labels.size(3)}};
}

// Each writes `out` and reports the first label outside [0, k), if any.
kernels::OneHotBadLabel forward_cpu(const OneHotShape& s, const Tensor& labels, Tensor& out) {
  kernels::OneHotBadLabel bad;
  bad.index = kernels::cpu::one_hot(labels.data<int32_t>(), out.data<float>(), s.n, s.k, s.s);
  if (bad.index >= 0) bad.value = labels.data<int32_t>()[bad.index];
  return bad;
}

#ifdef FDL_HAVE_CUDA
kernels::OneHotBadLabel forward_cuda(const OneHotShape& s, const Tensor& labels, Tensor& out) {
  Tensor report = Tensor::empty({kernels::kOneHotReportWords}, DType::I32, Device::CUDA);
  kernels::cuda::one_hot(labels.data<int32_t>(), out.data<float>(), s.n, s.k, s.s,
                         report.data<int32_t>());
  // The one wait of this op: labels are user data, and a bad one must stop here.
  return kernels::read_one_hot_report(report.to(Device::CPU).data<int32_t>());
}
#else
kernels::OneHotBadLabel forward_cuda(const OneHotShape&, const Tensor&, Tensor&) {
  ops::no_cuda("one_hot");
}
#endif

}  // namespace

Tensor one_hot(const Tensor& labels, int num_classes) {
  FDL_PROFILE_RANGE("one_hot");
  const OneHotShape s = one_hot_shape(labels, num_classes);
  Tensor out = Tensor::empty(s.out, DType::F32, labels.device());
  const kernels::OneHotBadLabel bad =
      labels.device() == Device::CUDA ? forward_cuda(s, labels, out) : forward_cpu(s, labels, out);
  FDL_CHECK(bad.index < 0, "one_hot: label value ", bad.value, " at flat index ", bad.index,
            " of labels ", labels.shape().str(), " is outside [0, ", num_classes, ") for ",
            num_classes, " classes");
  return out;
}

}  // namespace fdl
