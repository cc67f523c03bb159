#include "kernels/cuda/runtime.h"

#include <cstdlib>
#include <mutex>

#include "kernels/cuda/launch.cuh"

namespace fdl::kernels::cuda {

namespace {
// A device older than every architecture the kernels were built for would fail at its first
// launch with "no kernel image"; say instead what it is and how to rebuild.
void check_architecture() {
  int dev = 0;
  cudaDeviceProp p{};
  check(cudaGetDevice(&dev), "cuda: selecting the device");
  check(cudaGetDeviceProperties(&p, dev), "cuda: reading the device's properties");
  const int arch = 10 * p.major + p.minor;
  if (FDL_CUDA_MIN_ARCH > 0 && arch < FDL_CUDA_MIN_ARCH)
    throw Error(::fdl::detail::concat(
        "cuda: the device (", p.name, ") is sm_", arch, " but this build has kernels for sm_",
        FDL_CUDA_MIN_ARCH, " and newer only; rebuild with -DCMAKE_CUDA_ARCHITECTURES=", arch));
}
}  // namespace

cudaStream_t stream() {
  // One stream for the process's device; created once, never destroyed (work may still be
  // queued on it while statics are torn down).
  static cudaStream_t s = [] {
    check_architecture();
    cudaStream_t st = nullptr;
    check(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking), "cuda: creating the stream");
    return st;
  }();
  return s;
}

void check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  cudaGetLastError();  // clear a sticky-free error so the next call is not blamed for it
  throw Error(
      ::fdl::detail::concat(what, ": ", cudaGetErrorString(e), " (cuda error ", int(e), ")"));
}

void check_launch(const char* what) { check(cudaGetLastError(), what); }

namespace detail {

void check_configuration(const char* what, dim3 grid, dim3 block, size_t smem, const void* kernel) {
  size_t max_smem = 48 << 10;  // without an opt-in, every device's dynamic limit
  if (smem > max_smem) {
    cudaFuncAttributes a{};
    check(cudaFuncGetAttributes(&a, kernel), what);
    max_smem = size_t(a.maxDynamicSharedSizeBytes);
  }
  const unsigned g[3] = {grid.x, grid.y, grid.z}, b[3] = {block.x, block.y, block.z};
  const std::string bad = launch_limit_error(g, b, smem, max_smem);
  if (!bad.empty()) throw Error(::fdl::detail::concat(what, ": cannot launch: ", bad));
}

void finish_launch(const char* what) {
  static const bool sync = [] {
    const char* v = std::getenv("FDL_CUDA_SYNC");
    return v && *v && std::string(v) != "0";
  }();
  check_launch(what);
  if (sync)
    check(cudaStreamSynchronize(stream()),
          ::fdl::detail::concat(what, " (its kernel, FDL_CUDA_SYNC=1)").c_str());
}

}  // namespace detail

void synchronize() { check(cudaStreamSynchronize(stream()), "cuda: stream synchronize"); }

}  // namespace fdl::kernels::cuda
