#include "engine/allocator.h"

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

#ifdef FDL_HAVE_CUDA
#include "kernels/cuda/runtime.h"
#endif

namespace fdl {

namespace {
bool debug_from_env() {
  const char* e = std::getenv("FDL_ALLOC_DEBUG");
  return e && std::strcmp(e, "1") == 0;
}
std::atomic<bool> g_debug{debug_from_env()};
std::atomic<int64_t> g_guard_violations{0};

// The guard's bytes depend on their position (37 is odd, so all 256 values appear once): a
// stray write of any constant, a shifted copy or a run of poison cannot match it.
using Guard = std::array<unsigned char, Allocator::kGuardBytes>;
const Guard& guard_pattern() {
  static const Guard g = [] {
    Guard a{};
    for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<unsigned char>(0x5A + 37 * i);
    return a;
  }();
  return g;
}
}  // namespace

void Allocator::set_debug(bool on) { g_debug = on; }
bool Allocator::debug() { return g_debug; }
int64_t Allocator::guard_violations() { return g_guard_violations; }
void Allocator::reset_guard_violations() { g_guard_violations = 0; }

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
    const cudaError_t e = cudaMalloc(&p, bytes);
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // out of memory is not sticky: the caller may free the cache and retry
      p = nullptr;
    } else {
      // Anything else (often a fault of an earlier kernel, reported by the next call) is not
      // "out of memory" and freeing the cache would not cure it.
      kernels::cuda::check(
          e, detail::concat("cuda allocator: cudaMalloc of ", bytes, " bytes").c_str());
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

void Allocator::poison(void* p, size_t bytes) {
  unsigned char* b = static_cast<unsigned char*>(p);
  if (device_ == Device::CPU) {
    std::memset(b, 0xFF, bytes);
    std::memcpy(b + bytes, guard_pattern().data(), kGuardBytes);
    return;
  }
#ifdef FDL_HAVE_CUDA
  namespace kc = kernels::cuda;
  // On the stream, so work queued on the block's previous life finishes first.
  kc::check(cudaMemsetAsync(b, 0xFF, bytes, kc::stream()), "cuda allocator (debug): poison");
  kc::check(cudaMemcpyAsync(b + bytes, guard_pattern().data(), kGuardBytes, cudaMemcpyHostToDevice,
                            kc::stream()),
            "cuda allocator (debug): guard");
#endif
}

void Allocator::check_guard(const void* p, size_t bytes) {
  Guard got{};
  const unsigned char* b = static_cast<const unsigned char*>(p) + bytes;
  if (device_ == Device::CPU) {
    std::memcpy(got.data(), b, kGuardBytes);
  } else {
#ifdef FDL_HAVE_CUDA
    // Never throws: this runs in destructors. A failed read is reported, not counted; at
    // exit, after the runtime has unloaded, blocks held by statics are not read at all.
    cudaError_t e = cudaSuccess;
    try {
      cudaStream_t s = kernels::cuda::stream();
      e = cudaMemcpyAsync(got.data(), b, kGuardBytes, cudaMemcpyDeviceToHost, s);
      if (e == cudaSuccess) e = cudaStreamSynchronize(s);
    } catch (const std::exception&) {
      e = cudaErrorUnknown;  // the stream could not be made
    }
    if (e != cudaSuccess) {
      cudaGetLastError();
      if (e != cudaErrorCudartUnloading)
        std::fprintf(stderr,
                     "fdl cuda allocator (debug): cannot read the guard of a block of "
                     "%zu bytes: %s\n",
                     bytes, cudaGetErrorString(e));
      return;
    }
#endif
  }
  size_t changed = 0, first = 0;
  for (size_t i = kGuardBytes; i-- > 0;)
    if (got[i] != guard_pattern()[i]) ++changed, first = i;
  if (changed == 0) return;
  ++g_guard_violations;
  std::fprintf(stderr,
               "fdl %s allocator (debug): write past the end of a block of %zu bytes: %zu of the "
               "%zu guard bytes after it changed, the first at byte %zu past the end\n",
               device_name(device_), bytes, changed, kGuardBytes, first);
}

void* Allocator::allocate(size_t bytes) {
  const bool dbg = debug();
  const size_t n = round(dbg ? bytes + kGuardBytes : bytes);
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
              stats_.in_use, " in use); a smaller --batch or --shape needs less");
    stats_.reserved += n;
  }
  if (dbg) {
    try {
      poison(p, bytes);
    } catch (...) {
      cache_.emplace(n, p);
      throw;
    }
    debug_blocks_[p] = bytes;
  }
  stats_.in_use += n;
  if (stats_.in_use > stats_.peak) stats_.peak = stats_.in_use;
  return p;
}

void Allocator::release(void* p, size_t bytes) {
  if (!p) return;
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = round(bytes);
  if (auto it = debug_blocks_.find(p); it != debug_blocks_.end()) {
    check_guard(p, it->second);
    n = round(it->second + kGuardBytes);
    debug_blocks_.erase(it);
  }
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
#ifdef FDL_HAVE_CUDA
  // A block is cached as soon as its tensor dies, while queued kernels may still use it: let
  // them finish before the memory goes back (not relying on cudaFree's implicit wait).
  if (device_ == Device::CUDA && !cache_.empty()) kernels::cuda::synchronize();
#endif
  for (auto& [sz, q] : cache_) raw_free(q), stats_.reserved -= sz;
  cache_.clear();
}

void Allocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  drop_cache();
}

}  // namespace fdl
