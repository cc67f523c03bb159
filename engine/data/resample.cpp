#include "engine/data/resample.h"

#include "kernels/cpu/resample.h"

namespace fdl {

namespace {

// Checks x and makes the output; nc is the number of (X, Y, Z) volumes in x.
Tensor prepare(const char* op, const Tensor& x, const std::array<int64_t, 3>& shape, int64_t& nc) {
  FDL_CHECK(x.defined() && (x.ndim() == 3 || x.ndim() == 4), op,
            ": x must be (X, Y, Z) or (C, X, Y, Z), got ",
            x.defined() ? x.shape().str() : "an undefined tensor");
  FDL_CHECK(x.device() == Device::CPU, op, ": x must be on the CPU");
  for (int64_t s : shape) FDL_CHECK(s >= 1, op, ": target shape must be positive, got ", s);
  FDL_CHECK(x.numel() > 0, op, ": x ", x.shape().str(), " is empty");
  nc = x.ndim() == 4 ? x.size(0) : 1;
  return x.ndim() == 4 ? Tensor::empty({nc, shape[0], shape[1], shape[2]}, x.dtype())
                       : Tensor::empty({shape[0], shape[1], shape[2]}, x.dtype());
}

}  // namespace

Tensor resize_trilinear(const Tensor& x, std::array<int64_t, 3> shape) {
  int64_t nc = 0;
  Tensor y = prepare("resize_trilinear", x, shape, nc);
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::cpu::resize_trilinear<T>(x.data<T>(), y.data<T>(), nc, x.size(-3), x.size(-2),
                                      x.size(-1), shape[0], shape[1], shape[2]);
  });
  return y;
}

Tensor resize_nearest(const Tensor& x, std::array<int64_t, 3> shape) {
  int64_t nc = 0;
  Tensor y = prepare("resize_nearest", x, shape, nc);
  auto run = [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::cpu::resize_nearest<T>(x.data<T>(), y.data<T>(), nc, x.size(-3), x.size(-2),
                                    x.size(-1), shape[0], shape[1], shape[2]);
  };
  if (x.dtype() == DType::I32)
    run(type_tag<int32_t>{});
  else
    dispatch_float(x.dtype(), run);
  return y;
}

}  // namespace fdl
