// The emulated CUDA runtime: one device whose memory is the host heap (an allocation is
// an ordinary heap block of exactly its size, so ASan sees every access past it), work
// done when issued, errors kept per CPU thread as the runtime keeps them.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <string>

#include "kernels/common/launch.h"
#include "kernels/emu/include/cuda_runtime.h"

struct CUstream_st {
  unsigned flags = 0;
};
struct CUevent_st {
  std::chrono::steady_clock::time_point at{};
  bool recorded = false;
};

namespace {

constexpr size_t kAlign = 256;  // cudaMalloc's alignment
constexpr int kArch = 90;       // the emulated device claims the architecture fdl builds for

thread_local cudaError_t t_last = cudaSuccess;
thread_local cudaError_t t_detail_code = cudaSuccess;
thread_local std::string t_detail;  // what the latest failure of t_detail_code said

cudaError_t fail(cudaError_t e, std::string detail) {
  t_last = e;
  t_detail_code = e;
  t_detail = std::string(cudaGetErrorName(e)) + ": " + detail;
  return e;
}

// Live device allocations: base -> size.
std::mutex g_mem_mu;
std::map<const char*, size_t> g_allocations;
size_t g_allocated = 0;

size_t host_memory() { return size_t(sysconf(_SC_PHYS_PAGES)) * size_t(sysconf(_SC_PAGESIZE)); }

std::mutex g_attr_mu;
std::map<const void*, int> g_max_dynamic_smem;  // per kernel, set by cudaFuncSetAttribute
constexpr int kDefaultDynamicSmem = 48 << 10, kMaxDynamicSmem = 227 << 10;

int max_dynamic_smem(const void* func) {
  std::lock_guard<std::mutex> lock(g_attr_mu);
  auto it = g_max_dynamic_smem.find(func);
  return it == g_max_dynamic_smem.end() ? kDefaultDynamicSmem : it->second;
}

std::string bad_configuration(dim3 grid, dim3 block, size_t smem, const void* func) {
  const unsigned g[3] = {grid.x, grid.y, grid.z}, b[3] = {block.x, block.y, block.z};
  return fdl::kernels::launch_limit_error(g, b, smem, size_t(max_dynamic_smem(func)));
}

cudaError_t check_copy(const void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  const bool dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if (dst_dev && !fdl::emu::is_device_range(dst, bytes))
    return fail(cudaErrorInvalidValue,
                "copy of " + std::to_string(bytes) +
                    " bytes to a destination outside every device allocation");
  if (src_dev && !fdl::emu::is_device_range(src, bytes))
    return fail(cudaErrorInvalidValue, "copy of " + std::to_string(bytes) +
                                           " bytes from a source outside every device allocation");
  return cudaSuccess;
}

}  // namespace

// ---- Errors -----------------------------------------------------------------------------

cudaError_t cudaGetLastError() {
  const cudaError_t e = t_last;
  t_last = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() { return t_last; }

const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorCudartUnloading: return "driver shutting down";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    default: return "unknown error";
  }
}

const char* cudaGetErrorString(cudaError_t e) {
  return e == t_detail_code && e != cudaSuccess ? t_detail.c_str() : cudaGetErrorName(e);
}

// ---- The device -------------------------------------------------------------------------

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  return device == 0 ? cudaSuccess : fail(cudaErrorInvalidDevice, "the emulator has device 0 only");
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device) {
  if (device != 0) return fail(cudaErrorInvalidDevice, "the emulator has device 0 only");
  *p = cudaDeviceProp{};
  std::snprintf(p->name, sizeof p->name, "fdl CUDA emulator (CPU)");
  p->totalGlobalMem = host_memory();
  p->sharedMemPerBlock = kDefaultDynamicSmem;
  p->sharedMemPerBlockOptin = kMaxDynamicSmem;
  p->sharedMemPerMultiprocessor = 228 << 10;
  p->regsPerBlock = 65536;
  p->warpSize = 32;
  p->maxThreadsPerBlock = 1024;
  p->maxThreadsDim[0] = p->maxThreadsDim[1] = 1024;
  p->maxThreadsDim[2] = 64;
  p->maxGridSize[0] = 2147483647;
  p->maxGridSize[1] = p->maxGridSize[2] = 65535;
  p->maxThreadsPerMultiProcessor = 2048;
  p->multiProcessorCount = 1;  // one CPU thread runs the blocks
  p->major = kArch / 10;
  p->minor = kArch % 10;
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* v) {
  *v = 13000;
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* v) {
  *v = 13000;
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

// ---- Memory -------------------------------------------------------------------------------

cudaError_t cudaMalloc(void** p, size_t bytes) {
  *p = nullptr;
  if (bytes == 0) return cudaSuccess;
  try {
    char* b = static_cast<char*>(::operator new(bytes, std::align_val_t(kAlign)));
    std::lock_guard<std::mutex> lock(g_mem_mu);
    g_allocations.emplace(b, bytes);
    g_allocated += bytes;
    *p = b;
    return cudaSuccess;
  } catch (const std::bad_alloc&) {
    return fail(cudaErrorMemoryAllocation, "cannot allocate " + std::to_string(bytes) + " bytes");
  }
}

cudaError_t cudaFree(void* p) {
  if (!p) return cudaSuccess;
  {
    std::lock_guard<std::mutex> lock(g_mem_mu);
    auto it = g_allocations.find(static_cast<const char*>(p));
    if (it == g_allocations.end())
      return fail(cudaErrorInvalidValue, "cudaFree of a pointer that is no live device allocation");
    g_allocated -= it->second;
    g_allocations.erase(it);
  }
  ::operator delete(p, std::align_val_t(kAlign));
  return cudaSuccess;
}

cudaError_t cudaMallocAsync(void** p, size_t bytes, cudaStream_t) { return cudaMalloc(p, bytes); }
cudaError_t cudaFreeAsync(void* p, cudaStream_t) { return cudaFree(p); }

cudaError_t cudaMallocHost(void** p, size_t bytes) {
  *p = std::malloc(bytes ? bytes : 1);
  return *p ? cudaSuccess : fail(cudaErrorMemoryAllocation, "cannot allocate pinned host memory");
}

cudaError_t cudaFreeHost(void* p) {
  std::free(p);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (bytes == 0) return cudaSuccess;
  if (const cudaError_t e = check_copy(dst, src, bytes, kind)) return e;
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t) {
  return cudaMemcpy(dst, src, bytes, kind);
}

cudaError_t cudaMemset(void* p, int value, size_t bytes) {
  if (bytes == 0) return cudaSuccess;
  if (!fdl::emu::is_device_range(p, bytes))
    return fail(cudaErrorInvalidValue,
                "memset of " + std::to_string(bytes) + " bytes outside every device allocation");
  std::memset(p, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t) {
  return cudaMemset(p, value, bytes);
}

cudaError_t cudaMemGetInfo(size_t* free, size_t* total) {
  std::lock_guard<std::mutex> lock(g_mem_mu);
  *total = host_memory();
  *free = *total > g_allocated ? *total - g_allocated : 0;
  return cudaSuccess;
}

// ---- Streams and events: work is done when issued, so they only keep order and time ------

cudaError_t cudaStreamCreate(cudaStream_t* s) { return cudaStreamCreateWithFlags(s, 0); }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags) {
  *s = new CUstream_st{flags};
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t s) {
  delete s;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamQuery(cudaStream_t) { return cudaSuccess; }

cudaError_t cudaEventCreate(cudaEvent_t* e) { return cudaEventCreateWithFlags(e, 0); }

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) {
  *e = new CUevent_st;
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t e) {
  delete e;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) {
  e->at = std::chrono::steady_clock::now();
  e->recorded = true;
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventQuery(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t, unsigned) { return cudaSuccess; }

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (!start->recorded || !end->recorded)
    return fail(cudaErrorInvalidResourceHandle, "elapsed time of an event never recorded");
  *ms = std::chrono::duration<float, std::milli>(end->at - start->at).count();
  return cudaSuccess;
}

// ---- Kernels ---------------------------------------------------------------------------

cudaError_t cudaFuncSetAttribute(const void* func, cudaFuncAttribute attr, int value) {
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize || value < 0 || value > kMaxDynamicSmem)
    return fail(cudaErrorInvalidValue, "unsupported kernel attribute or value");
  std::lock_guard<std::mutex> lock(g_attr_mu);
  g_max_dynamic_smem[func] = value;
  return cudaSuccess;
}

cudaError_t cudaFuncGetAttributes(cudaFuncAttributes* attr, const void* func) {
  *attr = cudaFuncAttributes{0, 1024, max_dynamic_smem(func)};
  return cudaSuccess;
}

namespace fdl::emu {

cudaError_t launch(const char* name, const void* func, dim3 grid, dim3 block, size_t smem,
                   cudaStream_t, const std::function<void()>& thread) {
  const std::string bad = bad_configuration(grid, block, smem, func);
  if (!bad.empty()) return fail(cudaErrorInvalidConfiguration, std::string(name) + ": " + bad);
  try {
    run_grid(name, grid, block, smem, thread);
  } catch (const Fault& f) {
    return fail(cudaErrorLaunchFailure, f.what());
  }
  return cudaSuccess;
}

bool is_device_range(const void* p, size_t bytes) {
  const char* c = static_cast<const char*>(p);
  std::lock_guard<std::mutex> lock(g_mem_mu);
  auto it = g_allocations.upper_bound(c);
  if (it == g_allocations.begin()) return false;
  --it;
  return c >= it->first && c + bytes <= it->first + it->second;
}

}  // namespace fdl::emu
