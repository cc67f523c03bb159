#pragma once
// What the emulator's own tests share: device buffers, a launch that hands back the CUDA
// error (the project's launcher throws instead), and the schedule orders to run under.
#include <cuda_runtime.h>
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "kernels/emu/scheduler.h"

namespace fdl::emu_test {

using emu::Order;
using emu::Schedule;

// Every order the scheduler has; the seed is arbitrary but fixed, so a failure repeats.
inline const Schedule kOrders[] = {{Order::Forward, 0}, {Order::Reverse, 0}, {Order::Random, 7}};

// Sets the schedule for a scope and restores the previous one.
class ScheduleScope {
 public:
  explicit ScheduleScope(Schedule s) : prev_(emu::schedule()) { emu::set_schedule(s); }
  ~ScheduleScope() { emu::set_schedule(prev_); }
  ScheduleScope(const ScheduleScope&) = delete;
  ScheduleScope& operator=(const ScheduleScope&) = delete;

 private:
  Schedule prev_;
};

// n elements of device memory, filled from the host and read back.
template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(const std::vector<T>& host) : n_(host.size()) {
    REQUIRE(cudaMalloc(reinterpret_cast<void**>(&p_), n_ * sizeof(T)) == cudaSuccess);
    REQUIRE(cudaMemcpy(p_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice) == cudaSuccess);
  }
  DeviceBuffer(size_t n, T fill) : DeviceBuffer(std::vector<T>(n, fill)) {}
  ~DeviceBuffer() { cudaFree(p_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* get() const { return p_; }
  std::vector<T> host() const {
    std::vector<T> h(n_);
    REQUIRE(cudaMemcpy(h.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost) == cudaSuccess);
    return h;
  }

 private:
  T* p_ = nullptr;
  size_t n_;
};

// Runs kernel(args...) over the grid through the emulated runtime; the kernel's name in
// faults is `name`.
template <class... P, class... A>
cudaError_t launch(const char* name, void (*kernel)(P...), dim3 grid, dim3 block, size_t smem,
                   A... args) {
  return emu::launch(name, reinterpret_cast<const void*>(kernel), grid, block, smem, nullptr,
                     [&] { kernel(P(args)...); });
}

// The message of the latest failure `e` (the runtime keeps the detail per CPU thread).
inline std::string message(cudaError_t e) { return cudaGetErrorString(e); }

// Checks that a launch failed with a fault whose message holds every one of `parts`.
inline void check_fault(cudaError_t e, std::initializer_list<const char*> parts) {
  REQUIRE(e == cudaErrorLaunchFailure);
  const std::string m = message(e);
  INFO("fault: ", m);
  for (const char* p : parts) CHECK(m.find(p) != std::string::npos);
  cudaGetLastError();  // the next launch starts from a clean error state
}

}  // namespace fdl::emu_test
