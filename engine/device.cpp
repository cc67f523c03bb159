#include "engine/device.h"

#include <algorithm>
#include <cstring>

#ifdef FDL_HAVE_CUDA
#include "kernels/cuda/fill.h"
#include "kernels/cuda/runtime.h"
#endif

namespace fdl {

#ifndef FDL_HAVE_CUDA
namespace {
[[noreturn]] void no_cuda_build() { throw Error("cuda: this build of fdl has no CUDA backend"); }
}  // namespace
#endif

bool cuda_available() {
#ifdef FDL_HAVE_CUDA
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return n > 0;
#else
  return false;
#endif
}

void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes) {
  if (bytes == 0) return;
  if (dst_dev == Device::CPU && src_dev == Device::CPU) {
    std::memcpy(dst, src, bytes);
    return;
  }
#ifdef FDL_HAVE_CUDA
  namespace kc = kernels::cuda;
  const cudaMemcpyKind kind = dst_dev == Device::CPU   ? cudaMemcpyDeviceToHost
                              : src_dev == Device::CPU ? cudaMemcpyHostToDevice
                                                       : cudaMemcpyDeviceToDevice;
  kc::check(cudaMemcpyAsync(dst, src, bytes, kind, kc::stream()),
            detail::concat("cuda copy of ", bytes, " bytes").c_str());
  // Device-to-device stays queued. Device-to-host: the host buffer must hold the data when
  // we return. Host-to-device: the caller may free or reuse the host buffer at once (a
  // batch's staging tensor, a converted copy), and from pageable memory cudaMemcpyAsync only
  // "might" have consumed it on return (the runtime API's synchronisation notes; older ones
  // stage it from a worker thread), so wait for the copy. (cudaMemcpy would not do: it runs
  // on the legacy stream, unordered with stream(), whose queued work may still use dst.)
  if (src_dev == Device::CPU || dst_dev == Device::CPU) kc::synchronize();
#else
  no_cuda_build();
#endif
}

void fill_elements(void* p, Device d, DType t, int64_t n, double v) {
  if (d == Device::CPU) {
    switch (t) {
      case DType::F32: std::fill_n(static_cast<float*>(p), n, float(v)); break;
      case DType::F64: std::fill_n(static_cast<double*>(p), n, v); break;
      case DType::I32: std::fill_n(static_cast<int32_t*>(p), n, int32_t(v)); break;
    }
    return;
  }
#ifdef FDL_HAVE_CUDA
  switch (t) {
    case DType::F32: kernels::cuda::fill(static_cast<float*>(p), float(v), n); break;
    case DType::F64: kernels::cuda::fill(static_cast<double*>(p), v, n); break;
    case DType::I32: kernels::cuda::fill(static_cast<int32_t*>(p), int32_t(v), n); break;
  }
#else
  no_cuda_build();
#endif
}

void device_synchronize() {
#ifdef FDL_HAVE_CUDA
  if (cuda_available()) kernels::cuda::synchronize();
#endif
}

}  // namespace fdl
