#pragma once
// CUDA's device-side language for the host compiler: the qualifiers, the built-in
// coordinates, barriers, warp collectives, atomics and the intrinsics the kernels use,
// each over the scheduler (kernels/emu/scheduler.h). Included through the emulated
// <cuda_runtime.h>, as the real one brings these names into every translation unit.
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/emu/scheduler.h"
#include "kernels/emu/vector_types.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __grid_constant__
// Static storage per CPU thread: shared by the block's fibers (a block runs on one CPU
// thread) and private to it (blocks on one CPU thread run one after another). It is not
// cleared between blocks, as on the device; dynamic shared memory is (kernels/cuda/device.cuh).
#define __shared__ static thread_local

#define threadIdx (static_cast<const uint3&>(::fdl::emu::detail::t_thread))
#define blockIdx (static_cast<const uint3&>(::fdl::emu::detail::t_block))
#define blockDim (static_cast<const dim3&>(::fdl::emu::detail::t_block_dim))
#define gridDim (static_cast<const dim3&>(::fdl::emu::detail::t_grid_dim))
constexpr int warpSize = 32;

#define FDL_EMU_STR2(x) #x
#define FDL_EMU_STR(x) FDL_EMU_STR2(x)
#define __syncthreads() ::fdl::emu::syncthreads(__FILE__ ":" FDL_EMU_STR(__LINE__))

inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }
[[noreturn]] inline void __trap() { ::fdl::emu::trap("the kernel called __trap()"); }

// ---- Warp collectives ------------------------------------------------------------

namespace fdl::emu::detail {

inline int lane_id() { return t_linear & 31; }

// Every lane gets the value of the lane it named in `arg`, which must be in the mask.
void resolve_shuffle(unsigned mask, const Lane (&in)[32], Lane (&out)[32]);
void resolve_ballot(unsigned mask, const Lane (&in)[32], Lane (&out)[32]);

template <class T>
T shuffle(const char* op, unsigned mask, T v, int src) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "a shuffle moves 4 or 8 bytes");
  Lane in{};
  std::memcpy(in.w, &v, sizeof(T));
  in.arg = src;
  const Lane r = warp_collective(mask, op, in, resolve_shuffle);
  T out;
  std::memcpy(&out, r.w, sizeof(T));
  return out;
}

// The lane a shuffle reads (PTX shfl.sync: a source outside the lane's segment of `width`
// lanes gives the lane its own value). Width must be a power of two up to 32.
int shuffle_source(const char* op, int mode, int lane, int arg, int width);
enum { kShflIdx, kShflUp, kShflDown, kShflXor };

}  // namespace fdl::emu::detail

template <class T>
T __shfl_sync(unsigned mask, T v, int src, int width = warpSize) {
  namespace d = ::fdl::emu::detail;
  return d::shuffle("__shfl_sync", mask, v,
                    d::shuffle_source("__shfl_sync", d::kShflIdx, d::lane_id(), src, width));
}
template <class T>
T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = warpSize) {
  namespace d = ::fdl::emu::detail;
  return d::shuffle(
      "__shfl_up_sync", mask, v,
      d::shuffle_source("__shfl_up_sync", d::kShflUp, d::lane_id(), int(delta), width));
}
template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = warpSize) {
  namespace d = ::fdl::emu::detail;
  return d::shuffle(
      "__shfl_down_sync", mask, v,
      d::shuffle_source("__shfl_down_sync", d::kShflDown, d::lane_id(), int(delta), width));
}
template <class T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = warpSize) {
  namespace d = ::fdl::emu::detail;
  return d::shuffle(
      "__shfl_xor_sync", mask, v,
      d::shuffle_source("__shfl_xor_sync", d::kShflXor, d::lane_id(), lane_mask, width));
}

unsigned __ballot_sync(unsigned mask, int predicate);
int __all_sync(unsigned mask, int predicate);
int __any_sync(unsigned mask, int predicate);
void __syncwarp(unsigned mask = 0xffffffffu);
inline unsigned __activemask() { return ::fdl::emu::active_mask(); }

// ---- Atomics: real ones, as blocks may one day run on several CPU threads ---------------

template <class T>
T atomicAdd(T* p, T v) {
  return std::atomic_ref<T>(*p).fetch_add(v);
}
template <class T>
T atomicSub(T* p, T v) {
  return std::atomic_ref<T>(*p).fetch_sub(v);
}
template <class T>
T atomicExch(T* p, T v) {
  return std::atomic_ref<T>(*p).exchange(v);
}
template <class T>
T atomicCAS(T* p, T expected, T desired) {
  std::atomic_ref<T>(*p).compare_exchange_strong(expected, desired);
  return expected;
}
template <class T>
T atomicMin(T* p, T v) {
  std::atomic_ref<T> a(*p);
  T old = a.load();
  while (v < old && !a.compare_exchange_weak(old, v)) {
  }
  return old;
}
template <class T>
T atomicMax(T* p, T v) {
  std::atomic_ref<T> a(*p);
  T old = a.load();
  while (v > old && !a.compare_exchange_weak(old, v)) {
  }
  return old;
}

// ---- Intrinsics ----------------------------------------------------------------------
// The fast-math ones map to the exact host functions; docs/gpu.md gives the device's
// documented error for each, which the GPU tests' tolerances cover.

inline float __uint_as_float(unsigned u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline unsigned __float_as_uint(float f) {
  unsigned u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float __int_as_float(int i) { return __uint_as_float(unsigned(i)); }
inline int __float_as_int(float f) { return int(__float_as_uint(f)); }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __saturatef(float x) { return x < 0.f ? 0.f : x > 1.f ? 1.f : x; }
