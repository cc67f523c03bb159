#include "engine/device.h"

#include <cstring>

#ifdef FDL_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace fdl {

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
  const cudaMemcpyKind kind = dst_dev == Device::CPU   ? cudaMemcpyDeviceToHost
                              : src_dev == Device::CPU ? cudaMemcpyHostToDevice
                                                       : cudaMemcpyDeviceToDevice;
  const cudaError_t e = cudaMemcpy(dst, src, bytes, kind);
  FDL_CHECK(e == cudaSuccess, "cuda copy of ", bytes, " bytes failed: ", cudaGetErrorString(e));
#else
  throw Error("cuda: this build of fdl has no CUDA backend");
#endif
}

}  // namespace fdl
