#include "kernels/cuda/runtime.h"

#include <mutex>

namespace fdl::kernels::cuda {

cudaStream_t stream() {
  // One stream for the process's device; created once, never destroyed (work may still be
  // queued on it while statics are torn down).
  static cudaStream_t s = [] {
    cudaStream_t st = nullptr;
    check(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking), "cuda: creating the stream");
    return st;
  }();
  return s;
}

void check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  cudaGetLastError();  // clear a sticky-free error so the next call is not blamed for it
  throw Error(detail::concat(what, ": ", cudaGetErrorString(e), " (cuda error ", int(e), ")"));
}

void check_launch(const char* what) { check(cudaGetLastError(), what); }

void synchronize() { check(cudaStreamSynchronize(stream()), "cuda: stream synchronize"); }

}  // namespace fdl::kernels::cuda
