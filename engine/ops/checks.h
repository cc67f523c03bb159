#pragma once
// Argument checks shared by the ops. Each names the op and the offending tensor.
#include "engine/tensor.h"

namespace fdl::ops {

inline void check_defined(const Tensor& t, const char* op, const char* arg) {
  FDL_CHECK(t.defined(), op, ": argument '", arg, "' is undefined");
}

inline void check_float(const Tensor& t, const char* op, const char* arg) {
  check_defined(t, op, arg);
  FDL_CHECK(t.dtype() == DType::F32 || t.dtype() == DType::F64, op, ": '", arg,
            "' must be float32 or float64, got ", dtype_name(t.dtype()));
}

// Same shape, dtype and device.
inline void check_like(const Tensor& a, const Tensor& b, const char* op, const char* an,
                       const char* bn) {
  check_float(a, op, an);
  check_float(b, op, bn);
  FDL_CHECK(a.shape() == b.shape(), op, ": '", an, "' has shape ", a.shape().str(), " but '", bn,
            "' has shape ", b.shape().str());
  FDL_CHECK(a.dtype() == b.dtype(), op, ": '", an, "' is ", dtype_name(a.dtype()), " but '", bn,
            "' is ", dtype_name(b.dtype()));
  FDL_CHECK(a.device() == b.device(), op, ": '", an, "' is on ", device_name(a.device()), " but '",
            bn, "' is on ", device_name(b.device()));
}

inline void check_ndim(const Tensor& t, int ndim, const char* op, const char* arg) {
  check_defined(t, op, arg);
  FDL_CHECK(t.ndim() == ndim, op, ": '", arg, "' must have ", ndim, " dimensions, got shape ",
            t.shape().str());
}

// The CUDA branch of an op in a build without the CUDA backend.
[[noreturn]] inline void no_cuda(const char* op) {
  throw Error(std::string(op) +
              ": the tensor is on cuda but this build of fdl has no CUDA backend");
}

}  // namespace fdl::ops
