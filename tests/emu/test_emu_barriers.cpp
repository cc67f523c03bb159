// The emulator's blocks: __syncthreads as a real barrier (and its faults), the built-in
// coordinates, static and dynamic shared memory.
#include <algorithm>
#include <cstdint>
#include <numeric>

#include "tests/emu/emu_test.h"

namespace fdl::emu_test {
namespace {

constexpr int kN = 128;  // threads per block of the reduction

// A shared-memory tree sum per block; kSync = false drops the barrier between levels.
template <bool kSync>
__global__ void block_sum(const int* in, int* out) {
  __shared__ int s[kN];
  const int t = int(threadIdx.x);
  s[t] = in[blockIdx.x * kN + t];
  for (int stride = kN / 2; stride > 0; stride /= 2) {
    if (kSync) __syncthreads();
    if (t < stride) s[t] += s[t + stride];
  }
  if (t == 0) out[blockIdx.x] = s[0];
}

// Block b sums kN distinct values, so stale shared memory from another block never matches.
std::vector<int> sums(Schedule order, bool sync) {
  ScheduleScope scope(order);
  constexpr int kBlocks = 4;
  std::vector<int> in(kBlocks * kN);
  std::iota(in.begin(), in.end(), 1);
  DeviceBuffer<int> d_in(in), d_out(kBlocks, 0);
  auto* k = sync ? block_sum<true> : block_sum<false>;
  REQUIRE(launch("block_sum", k, kBlocks, kN, 0, d_in.get(), d_out.get()) == cudaSuccess);
  return d_out.host();
}

std::vector<int> expected_sums() {
  std::vector<int> e;
  for (int b = 0; b < 4; ++b) e.push_back(kN * (b * kN) + kN * (kN + 1) / 2);
  return e;
}

TEST_CASE("emu barriers: a shared-memory tree sum is right under every order") {
  for (Schedule s : kOrders) {
    INFO(emu::schedule_name(s));
    CHECK(sums(s, true) == expected_sums());
  }
}

TEST_CASE("emu barriers: the same sum without its barrier is wrong under the forward order") {
  // Forward: thread 0 runs its whole loop before thread 64 has stored its value, so it adds
  // stale shared memory. (Reverse happens to be a valid sequential order for this tree:
  // every partial is final before a lower thread reads it.)
  CHECK(sums({Order::Forward, 0}, false) != expected_sums());
  bool some_wrong = false;
  for (Schedule s : kOrders) some_wrong |= sums(s, false) != expected_sums();
  CHECK(some_wrong);
}

__global__ void two_barrier_sites() {
  if (threadIdx.x % 2)
    __syncthreads();
  else
    __syncthreads();
}

__global__ void exit_before_barrier(int* out) {
  if (threadIdx.x == 5) return;
  __syncthreads();
  out[threadIdx.x] = 1;
}

TEST_CASE("emu barriers: threads at two different __syncthreads are a fault naming the kernel") {
  for (Schedule s : kOrders) {
    INFO(emu::schedule_name(s));
    ScheduleScope scope(s);
    check_fault(launch("two_barrier_sites", two_barrier_sites, 2, 64, 0),
                {"kernel 'two_barrier_sites', block (", "waits at __syncthreads",
                 "test_emu_barriers.cpp", "another"});
  }
}

TEST_CASE("emu barriers: a thread that exits while the others wait at a barrier is a fault") {
  for (Schedule s : kOrders) {
    INFO(emu::schedule_name(s));
    ScheduleScope scope(s);
    DeviceBuffer<int> out(64, 0);
    check_fault(launch("exit_before_barrier", exit_before_barrier, 1, 64, 0, out.get()),
                {"kernel 'exit_before_barrier'", "1 threads of the block have exited"});
  }
}

// Every thread records its coordinates at its own slot, computed from those coordinates.
constexpr int kRecord = 13;
__global__ void record_coordinates(int* out) {
  const unsigned block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const unsigned thread = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  int* o = out + (block * blockDim.x * blockDim.y * blockDim.z + thread) * kRecord;
  const unsigned v[kRecord] = {threadIdx.x, threadIdx.y, threadIdx.z,       blockIdx.x, blockIdx.y,
                               blockIdx.z,  blockDim.x,  blockDim.y,        blockDim.z, gridDim.x,
                               gridDim.y,   gridDim.z,   unsigned(warpSize)};
  for (int i = 0; i < kRecord; ++i) o[i] = int(v[i]);
}

TEST_CASE("emu barriers: threadIdx blockIdx blockDim gridDim and warpSize in 3-d grids") {
  const dim3 grid(3, 2, 2), block(4, 3, 2);
  const int n = 3 * 2 * 2 * 4 * 3 * 2;
  for (Schedule s : kOrders) {
    INFO(emu::schedule_name(s));
    ScheduleScope scope(s);
    DeviceBuffer<int> out(size_t(n) * kRecord, -1);
    REQUIRE(launch("record_coordinates", record_coordinates, grid, block, 0, out.get()) ==
            cudaSuccess);
    const std::vector<int> h = out.host();
    int wrong = 0, slot = 0;
    for (int bz = 0; bz < 2; ++bz)
      for (int by = 0; by < 2; ++by)
        for (int bx = 0; bx < 3; ++bx)
          for (int tz = 0; tz < 2; ++tz)
            for (int ty = 0; ty < 3; ++ty)
              for (int tx = 0; tx < 4; ++tx, ++slot) {
                const int want[kRecord] = {tx, ty, tz, bx, by, bz, 4, 3, 2, 3, 2, 2, 32};
                for (int i = 0; i < kRecord; ++i) wrong += h[size_t(slot * kRecord + i)] != want[i];
              }
    CHECK(wrong == 0);
  }
}

// Each block stamps its own static shared memory, then reads its neighbour thread's stamp.
__global__ void static_shared(int* out) {
  __shared__ int stamp[64];
  __shared__ unsigned owner;
  const unsigned t = threadIdx.x;
  if (t == 0) owner = blockIdx.x;
  stamp[t] = int(blockIdx.x * 1000 + t);
  __syncthreads();
  out[blockIdx.x * 64 + t] = owner == blockIdx.x ? stamp[(t + 1) % 64] : -1;
}

TEST_CASE("emu barriers: static __shared__ is shared within a block and private to it") {
  for (Schedule s : kOrders) {
    INFO(emu::schedule_name(s));
    ScheduleScope scope(s);
    DeviceBuffer<int> out(5 * 64, 0);
    REQUIRE(launch("static_shared", static_shared, 5, 64, 0, out.get()) == cudaSuccess);
    const std::vector<int> h = out.host();
    int wrong = 0;
    for (int b = 0; b < 5; ++b)
      for (int t = 0; t < 64; ++t) wrong += h[size_t(b * 64 + t)] != b * 1000 + (t + 1) % 64;
    CHECK(wrong == 0);
  }
}

// The device spells dynamic shared memory `extern __shared__ T smem[]`; the emulator hands
// it out through dynamic_smem(). Each thread checks its share of the launch's bytes is
// 0xFF, stamps it, and after the barrier reads its neighbour's share.
__global__ void dynamic_shared(size_t bytes, int* ok) {
  auto* smem = static_cast<unsigned char*>(emu::dynamic_smem());
  const size_t n = blockDim.x, t = threadIdx.x, share = (bytes + n - 1) / n;
  const size_t lo = t * share, hi = lo + share < bytes ? lo + share : bytes;
  bool good = reinterpret_cast<uintptr_t>(smem) % 16 == 0;
  for (size_t i = lo; i < hi; ++i) good &= smem[i] == 0xFF;
  for (size_t i = lo; i < hi; ++i) smem[i] = static_cast<unsigned char>(blockIdx.x + t);
  __syncthreads();
  const size_t u = (t + 1) % n, ulo = u * share, uhi = ulo + share < bytes ? ulo + share : bytes;
  for (size_t i = ulo; i < uhi; ++i) good &= smem[i] == static_cast<unsigned char>(blockIdx.x + u);
  ok[blockIdx.x * n + t] = good;
}

__global__ void dynamic_shared_absent(int* ok) { ok[threadIdx.x] = emu::dynamic_smem() == nullptr; }

TEST_CASE(
    "emu barriers: dynamic shared memory is the launch's size and 0xFF at every block start") {
  // Sizes not a multiple of the thread count, and one above the default 48 KiB limit.
  REQUIRE(cudaFuncSetAttribute(reinterpret_cast<const void*>(dynamic_shared),
                               cudaFuncAttributeMaxDynamicSharedMemorySize,
                               100 << 10) == cudaSuccess);
  for (size_t bytes : {size_t(1), size_t(1000), size_t(70000)}) {
    for (Schedule s : kOrders) {
      INFO(bytes, " bytes, ", emu::schedule_name(s));
      ScheduleScope scope(s);
      DeviceBuffer<int> ok(3 * 48, 0);
      REQUIRE(launch("dynamic_shared", dynamic_shared, 3, 48, bytes, bytes, ok.get()) ==
              cudaSuccess);
      const std::vector<int> h = ok.host();
      CHECK(std::count(h.begin(), h.end(), 1) == 3 * 48);
    }
  }
  DeviceBuffer<int> ok(8, 0);
  REQUIRE(launch("dynamic_shared_absent", dynamic_shared_absent, 1, 8, 0, ok.get()) == cudaSuccess);
  CHECK(ok.host() == std::vector<int>(8, 1));
}

}  // namespace
}  // namespace fdl::emu_test
