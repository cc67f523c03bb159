#include "engine/allocator.h"

#include <cstdlib>

#ifdef FDL_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace fdl {

Allocator& Allocator::get(Device d) {
  // Leaked on purpose: tensors held by statics may be freed after main returns.
  static Allocator* cpu = new Allocator(Device::CPU);
  static Allocator* cuda = new Allocator(Device::CUDA);
  return d == Device::CUDA ? *cuda : *cpu;
}

size_t Allocator::round(size_t bytes) {
  // Small blocks round to 512 bytes; large ones to 2 MiB, which keeps the cache reusable
  // across slightly different sizes without wasting much.
  const size_t small = 512, large = size_t(2) << 20;
  if (bytes == 0) bytes = 1;
  const size_t g = bytes < (size_t(1) << 20) ? small : large;
  return (bytes + g - 1) / g * g;
}

void* Allocator::raw_alloc(size_t bytes) {
  void* p = nullptr;
  if (device_ == Device::CPU) {
    p = std::aligned_alloc(64, bytes);
  } else {
#ifdef FDL_HAVE_CUDA
    if (cudaMalloc(&p, bytes) != cudaSuccess) {
      cudaGetLastError();
      p = nullptr;
    }
#else
    throw Error("cuda: this build of fdl has no CUDA backend");
#endif
  }
  return p;
}

void Allocator::raw_free(void* p) {
  if (device_ == Device::CPU) {
    std::free(p);
  } else {
#ifdef FDL_HAVE_CUDA
    cudaFree(p);
#endif
  }
}

void* Allocator::allocate(size_t bytes) {
  const size_t n = round(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  void* p = nullptr;
  auto it = cache_.lower_bound(n);
  if (it != cache_.end() && it->first == n) {
    p = it->second;
    cache_.erase(it);
  } else {
    p = raw_alloc(n);
    if (!p && !cache_.empty()) {  // out of memory: free the cache and try once more
      drop_cache();
      p = raw_alloc(n);
    }
    FDL_CHECK(p, device_name(device_), " allocator: out of memory allocating ", n, " bytes (",
              stats_.in_use, " in use)");
    stats_.reserved += n;
  }
  stats_.in_use += n;
  if (stats_.in_use > stats_.peak) stats_.peak = stats_.in_use;
  return p;
}

void Allocator::release(void* p, size_t bytes) {
  if (!p) return;
  const size_t n = round(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  stats_.in_use -= n;
  cache_.emplace(n, p);
}

MemoryStats Allocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void Allocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.peak = stats_.in_use;
}

void Allocator::drop_cache() {
  for (auto& [sz, q] : cache_) raw_free(q), stats_.reserved -= sz;
  cache_.clear();
}

void Allocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  drop_cache();
}

}  // namespace fdl
