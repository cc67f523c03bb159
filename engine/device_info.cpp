#include "engine/device_info.h"

#include <cstdio>

#ifdef FDL_HAVE_CUDA
#include <cuda_runtime.h>
#endif

#include "engine/device.h"

namespace fdl {

std::string cuda_device_summary() {
#ifdef FDL_HAVE_CUDA
  if (!cuda_available()) return "no CUDA device";
  int dev = 0, driver = 0, runtime = 0;
  cudaDeviceProp p{};
  if (cudaGetDevice(&dev) != cudaSuccess || cudaGetDeviceProperties(&p, dev) != cudaSuccess) {
    cudaGetLastError();
    return "a CUDA device is present but its properties cannot be read";
  }
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  char buf[512];
  std::snprintf(buf, sizeof buf, "%s, sm_%d%d, %d SMs, %.1f GiB, driver %d.%d, runtime %d.%d",
                p.name, p.major, p.minor, p.multiProcessorCount,
                double(p.totalGlobalMem) / double(1 << 30), driver / 1000, driver % 1000 / 10,
                runtime / 1000, runtime % 1000 / 10);
  return buf;
#else
  return "this build has no CUDA backend";
#endif
}

}  // namespace fdl
