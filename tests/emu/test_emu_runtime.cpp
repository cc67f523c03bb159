// The emulated runtime: memory, launch checks, faults and deadlocks as launch errors,
// streams and events, and the schedule's names.
#include <cstring>
#include <stdexcept>

#include "kernels/common/error.h"
#include "kernels/cuda/launch.cuh"
#include "tests/emu/emu_test.h"

namespace fdl::emu_test {
namespace {

TEST_CASE("emu runtime: cudaMalloc cudaMemcpy and cudaMemset round trip") {
  constexpr size_t kBytes = 1000;
  void *a = nullptr, *b = nullptr;
  REQUIRE(cudaMalloc(&a, kBytes) == cudaSuccess);
  REQUIRE(cudaMalloc(&b, kBytes) == cudaSuccess);
  CHECK(reinterpret_cast<uintptr_t>(a) % 256 == 0);
  std::vector<unsigned char> host(kBytes), back(kBytes, 0);
  for (size_t i = 0; i < kBytes; ++i) host[i] = static_cast<unsigned char>(i * 7);
  CHECK(cudaMemcpy(a, host.data(), kBytes, cudaMemcpyHostToDevice) == cudaSuccess);
  CHECK(cudaMemcpy(b, a, kBytes, cudaMemcpyDeviceToDevice) == cudaSuccess);
  CHECK(cudaMemset(static_cast<char*>(b) + 100, 0xAB, 50) == cudaSuccess);
  CHECK(cudaMemcpy(back.data(), b, kBytes, cudaMemcpyDeviceToHost) == cudaSuccess);
  for (size_t i = 100; i < 150; ++i) host[i] = 0xAB;
  CHECK(back == host);
  CHECK(cudaFree(a) == cudaSuccess);
  CHECK(cudaFree(b) == cudaSuccess);
}

TEST_CASE("emu runtime: copies and sets past an allocation's end are errors not crashes") {
  constexpr size_t kBytes = 64;
  void* d = nullptr;
  REQUIRE(cudaMalloc(&d, kBytes) == cudaSuccess);
  std::vector<char> host(2 * kBytes, 1);
  char* past = static_cast<char*>(d) + 1;
  CHECK(cudaMemcpy(past, host.data(), kBytes, cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
  CHECK(message(cudaErrorInvalidValue).find("outside every device allocation") !=
        std::string::npos);
  CHECK(cudaMemcpy(host.data(), past, kBytes, cudaMemcpyDeviceToHost) == cudaErrorInvalidValue);
  CHECK(cudaMemcpy(d, host.data(), 2 * kBytes, cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
  CHECK(cudaMemset(d, 0, kBytes + 1) == cudaErrorInvalidValue);
  // A host pointer given as the device side is outside every allocation too.
  CHECK(cudaMemcpy(host.data(), host.data() + kBytes, 8, cudaMemcpyDeviceToHost) ==
        cudaErrorInvalidValue);
  CHECK(cudaFree(host.data()) == cudaErrorInvalidValue);
  // The error is the last one until read, then cleared; in-range work still succeeds.
  CHECK(cudaGetLastError() == cudaErrorInvalidValue);
  CHECK(cudaGetLastError() == cudaSuccess);
  CHECK(cudaMemcpy(d, host.data(), kBytes, cudaMemcpyHostToDevice) == cudaSuccess);
  CHECK(cudaFree(d) == cudaSuccess);
}

__global__ void fill_ones(int* out, int n) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) out[i] = 1;
}

__global__ void big_smem(int* out) { out[threadIdx.x] = 1; }

TEST_CASE("emu runtime: a launch beyond the device's limits is refused and says why") {
  DeviceBuffer<int> out(2048, 0);
  const cudaError_t e = launch("fill_ones", fill_ones, 1, 1025, 0, out.get(), 2048);
  CHECK(e == cudaErrorInvalidConfiguration);
  CHECK(message(e).find("block (1025,1,1) exceeds (1024,1024,64) or 1024 threads") !=
        std::string::npos);
  CHECK(launch("fill_ones", fill_ones, 1, dim3(2, 2, 65), 0, out.get(), 2048) ==
        cudaErrorInvalidConfiguration);
  CHECK(launch("fill_ones", fill_ones, dim3(1, 65536), 1, 0, out.get(), 2048) ==
        cudaErrorInvalidConfiguration);
  CHECK(message(cudaErrorInvalidConfiguration).find("grid (1,65536,1)") != std::string::npos);
  CHECK(out.host() == std::vector<int>(2048, 0));  // nothing ran

  // Dynamic shared memory: 48 KiB without an opt-in, then the attribute's value.
  const void* k = reinterpret_cast<const void*>(big_smem);
  CHECK(launch("big_smem", big_smem, 1, 4, (48 << 10) + 1, out.get()) ==
        cudaErrorInvalidConfiguration);
  CHECK(message(cudaErrorInvalidConfiguration).find("exceed the kernel's limit of 49152") !=
        std::string::npos);
  REQUIRE(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 << 10) ==
          cudaSuccess);
  CHECK(launch("big_smem", big_smem, 1, 4, 64 << 10, out.get()) == cudaSuccess);
  CHECK(launch("big_smem", big_smem, 1, 4, (64 << 10) + 1, out.get()) ==
        cudaErrorInvalidConfiguration);
  CHECK(message(cudaErrorInvalidConfiguration).find("limit of 65536") != std::string::npos);
  cudaGetLastError();

  // The project's launcher checks before launching and throws, naming the op.
  try {
    kernels::cuda::launch("emu test op", fill_ones, 1, 1025, 0, out.get(), 2048);
    FAIL("the launch of 1025 threads was not refused");
  } catch (const Error& err) {
    const std::string m = err.what();
    CHECK(m.find("emu test op: cannot launch") != std::string::npos);
    CHECK(m.find("1024 threads") != std::string::npos);
  }
}

__global__ void trap_in_one_thread(int* out) {
  if (blockIdx.x == 1 && threadIdx.x == 3) __trap();
  out[blockIdx.x * blockDim.x + threadIdx.x] = 1;
}

TEST_CASE("emu runtime: a fault fails its launch only and names kernel block and thread") {
  // On a device a launch failure is sticky: the context is lost and every later call fails
  // until the process exits. The emulator reports it for the faulting launch only, so one
  // test's fault does not fail the tests after it.
  DeviceBuffer<int> out(4 * 8, 0);
  const cudaError_t e = launch("trap_in_one_thread", trap_in_one_thread, 4, 8, 0, out.get());
  REQUIRE(e == cudaErrorLaunchFailure);
  CHECK(message(e).find("kernel 'trap_in_one_thread', block (1,0,0), thread (3,0,0): the kernel "
                        "called __trap()") != std::string::npos);
  CHECK(cudaGetLastError() == cudaErrorLaunchFailure);
  CHECK(cudaGetLastError() == cudaSuccess);

  DeviceBuffer<int> again(32, 0);
  CHECK(launch("fill_ones", fill_ones, 4, 8, 0, again.get(), 32) == cudaSuccess);
  CHECK(again.host() == std::vector<int>(32, 1));

  // Through the project's launcher the fault is an fdl::Error, and the next launch works.
  CHECK_THROWS_WITH_AS(kernels::cuda::launch("trap op", trap_in_one_thread, 4, 8, 0, out.get()),
                       doctest::Contains("the kernel called __trap()"), Error);
  kernels::cuda::launch("fill op", fill_ones, 4, 8, 0, again.get(), 32);
  CHECK(again.host() == std::vector<int>(32, 1));
}

// Lane 0 waits for lane 1 in __syncwarp while lane 1 and the rest wait at __syncthreads:
// no thread can go on.
__global__ void warp_against_barrier() {
  if (threadIdx.x == 0)
    __syncwarp(0x3u);
  else
    __syncthreads();
}

TEST_CASE("emu runtime: a deadlock is reported as a fault, not a hang") {
  for (Schedule s : kOrders) {
    INFO(emu::schedule_name(s));
    ScheduleScope scope(s);
    check_fault(launch("warp_against_barrier", warp_against_barrier, 1, 32, 0),
                {"kernel 'warp_against_barrier', block (0,0,0): the block cannot go on",
                 "31 threads wait at __syncthreads",
                 "warp 0 waits in __syncwarp (mask 0x00000003) for lanes 0x00000000 that exited "
                 "and 0x00000002 that wait elsewhere"});
  }
}

__global__ void scale_by(const int* in, int* out, int factor, int n) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) out[i] = in[i] * factor;
}

TEST_CASE("emu runtime: streams and events keep the order of dependent work") {
  constexpr int n = 100;
  cudaStream_t copy = nullptr, compute = nullptr;
  cudaEvent_t start = nullptr, copied = nullptr, stop = nullptr, never = nullptr;
  REQUIRE(cudaStreamCreateWithFlags(&copy, cudaStreamNonBlocking) == cudaSuccess);
  REQUIRE(cudaStreamCreate(&compute) == cudaSuccess);
  for (cudaEvent_t* e : {&start, &copied, &stop, &never})
    REQUIRE(cudaEventCreate(e) == cudaSuccess);

  std::vector<int> host(n), result(n, 0);
  for (int i = 0; i < n; ++i) host[size_t(i)] = i - 40;
  DeviceBuffer<int> in(n, 0), out(n, 0);
  CHECK(cudaEventRecord(start, copy) == cudaSuccess);
  CHECK(cudaMemcpyAsync(in.get(), host.data(), n * sizeof(int), cudaMemcpyHostToDevice, copy) ==
        cudaSuccess);
  CHECK(cudaEventRecord(copied, copy) == cudaSuccess);
  CHECK(cudaStreamWaitEvent(compute, copied) == cudaSuccess);
  const int* src = in.get();
  int* dst = out.get();
  CHECK(emu::launch("scale_by", reinterpret_cast<const void*>(scale_by), 1, 128, 0, compute,
                    [&] { scale_by(src, dst, 3, n); }) == cudaSuccess);
  CHECK(cudaMemcpyAsync(result.data(), dst, n * sizeof(int), cudaMemcpyDeviceToHost, compute) ==
        cudaSuccess);
  CHECK(cudaEventRecord(stop, compute) == cudaSuccess);
  CHECK(cudaStreamSynchronize(compute) == cudaSuccess);
  CHECK(cudaStreamQuery(compute) == cudaSuccess);
  CHECK(cudaEventQuery(stop) == cudaSuccess);
  for (int i = 0; i < n; ++i) CHECK(result[size_t(i)] == 3 * host[size_t(i)]);

  float ms = -1;
  CHECK(cudaEventElapsedTime(&ms, start, stop) == cudaSuccess);
  CHECK(ms >= 0);
  CHECK(cudaEventElapsedTime(&ms, start, never) == cudaErrorInvalidResourceHandle);
  cudaGetLastError();
  for (cudaEvent_t e : {start, copied, stop, never}) CHECK(cudaEventDestroy(e) == cudaSuccess);
  CHECK(cudaStreamDestroy(copy) == cudaSuccess);
  CHECK(cudaStreamDestroy(compute) == cudaSuccess);
}

TEST_CASE("emu runtime: schedule names parse back and others are refused") {
  for (Schedule s :
       {Schedule{Order::Forward, 0}, Schedule{Order::Reverse, 0}, Schedule{Order::Random, 42}}) {
    const Schedule back = emu::parse_schedule(emu::schedule_name(s));
    CHECK(back.order == s.order);
    CHECK(back.seed == s.seed);
  }
  CHECK(emu::parse_schedule("random").order == Order::Random);
  CHECK_THROWS_AS(emu::parse_schedule("sideways"), std::invalid_argument);
  CHECK_THROWS_AS(emu::parse_schedule("random:"), std::invalid_argument);
  CHECK_THROWS_AS(emu::parse_schedule("random:12x"), std::invalid_argument);
}

}  // namespace
}  // namespace fdl::emu_test
