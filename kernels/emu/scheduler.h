#pragma once
// How the emulator runs a grid. Blocks run one after another on the launching CPU thread;
// each CUDA thread of a block runs on a fiber (Boost.Context), so __syncthreads and the
// warp collectives are real rendezvous: a thread that reaches one is suspended until every
// thread it waits for has arrived. Between two rendezvous the ready threads run one at a
// time in the schedule's order (forward, reverse or seeded random; blocks too), so a
// missing barrier changes the result with the order. A fiber that finishes its thread
// without blocking takes the next thread in the order, so a kernel with no barrier runs as
// a plain loop on one fiber per block.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

#include "kernels/emu/vector_types.h"

namespace fdl::emu {

enum class Order { Forward, Reverse, Random };

struct Schedule {
  Order order = Order::Forward;
  uint64_t seed = 0;  // the random order's
};

// FDL_EMU_SCHEDULE (forward | reverse | random[:seed]) until set_schedule changes it.
Schedule schedule();
void set_schedule(Schedule s);
// "forward", "reverse", "random:<seed>"; parse_schedule reads the same, throws on others.
std::string schedule_name(Schedule s);
Schedule parse_schedule(const std::string& text);

// A defect found while a kernel ran: a barrier some threads never reach, a warp
// collective whose lanes disagree or that names a lane outside its mask, __trap, or an
// exception thrown by a thread. The message names the kernel, the block and the thread.
struct Fault : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Runs `thread` once for every thread of every block of the grid; throws Fault.
void run_grid(const char* kernel, dim3 grid, dim3 block, size_t dynamic_smem,
              const std::function<void()>& thread);

// ---- For device code (kernels/emu/device.h gives these CUDA's names)

namespace detail {
// The running thread's coordinates; the scheduler sets them at every switch.
inline thread_local uint3 t_thread{0, 0, 0};
inline thread_local uint3 t_block{0, 0, 0};
inline thread_local dim3 t_block_dim{1, 1, 1};
inline thread_local dim3 t_grid_dim{1, 1, 1};
inline thread_local int t_linear = 0;  // the thread's rank in its block; lane = t_linear % 32
}  // namespace detail

// Waits until every thread of the block has reached a barrier. `site` is the barrier's
// file:line: threads waiting at different barriers, or a thread that exits while others
// wait, are faults (undefined on the device).
void syncthreads(const char* site);

// One lane's words in a warp collective.
struct Lane {
  uint32_t w[10];
  int arg;
};
// Computes every lane's result once all lanes of `mask` have arrived (may throw Fault).
using Resolve = void (*)(unsigned mask, const Lane (&in)[32], Lane (&out)[32]);

// Deposits this lane's `in`, waits for every lane of `mask` to arrive at the same
// collective (`op` names it in messages), and returns this lane's part of the result.
Lane warp_collective(unsigned mask, const char* op, const Lane& in, Resolve resolve);

// The lanes of the calling thread's warp that have not exited.
unsigned active_mask();

// The block's dynamic shared memory (the launch's size, 0xFF-filled at each block start).
void* dynamic_smem();

[[noreturn]] void trap(const char* what);

}  // namespace fdl::emu
