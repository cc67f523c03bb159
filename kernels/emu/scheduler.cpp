#include "kernels/emu/scheduler.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/context/fiber.hpp>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <numeric>
#include <random>
#include <sstream>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define FDL_EMU_ASAN 1
#endif

namespace fdl::emu {

namespace ctx = boost::context;

namespace {

// ---- The schedule ------------------------------------------------------------------

std::mutex g_schedule_mu;
Schedule* g_schedule = nullptr;  // set on first use, from FDL_EMU_SCHEDULE

Schedule& schedule_ref() {
  if (!g_schedule) {
    const char* env = std::getenv("FDL_EMU_SCHEDULE");
    g_schedule = new Schedule(env && *env ? parse_schedule(env) : Schedule{});
  }
  return *g_schedule;
}

// ---- Fiber stacks: mmap'd with a guard page below, pooled per CPU thread ---------------

#if FDL_EMU_ASAN
constexpr size_t kStackBytes = size_t(1) << 20;  // ASan's redzones make frames larger
#else
constexpr size_t kStackBytes = size_t(256) << 10;
#endif

struct StackPool {
  std::vector<ctx::stack_context> free;
  ctx::stack_context last;  // the latest handed out, for the ASan stack bounds
};
thread_local StackPool t_stacks;

struct PooledStack {
  ctx::stack_context allocate() {
    ctx::stack_context sc;
    if (!t_stacks.free.empty()) {
      sc = t_stacks.free.back();
      t_stacks.free.pop_back();
    } else {
      const size_t page = size_t(sysconf(_SC_PAGESIZE));
      void* base = mmap(nullptr, kStackBytes + page, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (base == MAP_FAILED) throw std::bad_alloc();
      mprotect(base, page, PROT_NONE);  // an overflow faults instead of corrupting a neighbour
      sc.size = kStackBytes;
      sc.sp = static_cast<char*>(base) + page + kStackBytes;
    }
    t_stacks.last = sc;
    return sc;
  }
  // Stacks are never unmapped: every later launch reuses them.
  void deallocate(ctx::stack_context& sc) noexcept { t_stacks.free.push_back(sc); }
};

// ASan must be told about every stack switch, or it reports the fibers' frames as errors.
struct StackBounds {
  const void* bottom = nullptr;
  size_t size = 0;
};
#if FDL_EMU_ASAN
void switch_start(void** fake, StackBounds to) {
  __sanitizer_start_switch_fiber(fake, to.bottom, to.size);
}
void switch_finish(void* fake, StackBounds* from) {
  __sanitizer_finish_switch_fiber(fake, from ? &from->bottom : nullptr,
                                  from ? &from->size : nullptr);
}
#else
void switch_start(void**, StackBounds) {}
void switch_finish(void*, StackBounds*) {}
#endif

// ---- Threads, warps, blocks --------------------------------------------------------

enum class State { Unstarted, Ready, Running, AtBarrier, AtWarp, Exited };

struct Worker;

struct Thread {
  uint3 idx{};
  int linear = 0;
  State state = State::Unstarted;
  const char* site = nullptr;  // the barrier or warp collective it waits at
  Worker* worker = nullptr;    // the fiber it runs on
  ctx::fiber suspended;        // that fiber, while this thread waits
  Lane result{};               // a warp collective's result for this lane
};

// A warp collective some lanes wait in. Lanes of a warp that diverged may wait in several at
// once, as long as their masks are disjoint (independent thread scheduling allows it).
struct WarpOp {
  unsigned mask = 0, arrived = 0;
  const char* op = nullptr;
  Resolve resolve = nullptr;
  Lane in[32];
};

void free_dynamic(unsigned char* p) { ::operator delete(p, std::align_val_t(256)); }

// Thrown into a waiting thread when the block gives up after a fault elsewhere.
struct Abort {};

struct Block {
  const char* kernel = nullptr;
  const std::function<void()>* body = nullptr;
  uint3 idx{};
  int n = 0;
  std::vector<Thread> threads;
  std::vector<std::vector<WarpOp>> warps;  // per warp, the collectives lanes wait in
  std::vector<int> order;                  // the first pass's order
  size_t cursor = 0;                       // the next unstarted thread of `order`
  int exited = 0, at_barrier = 0;
  std::string fault;
  bool aborting = false;
  // Exactly the launch's bytes, so ASan sees a read past them.
  std::unique_ptr<unsigned char, void (*)(unsigned char*)> dynamic{nullptr, free_dynamic};
  size_t dynamic_bytes = 0;
  std::mt19937_64 rng;
};

// A fiber running threads of the block; lives on its own stack.
struct Worker {
  ctx::fiber scheduler;
  StackBounds own, scheduler_stack;
  void* fake_stack = nullptr;
};

thread_local Block* t_block = nullptr;
thread_local Thread* t_current = nullptr;

std::string coords(uint3 v) {
  std::ostringstream o;
  o << "(" << v.x << "," << v.y << "," << v.z << ")";
  return o.str();
}

[[noreturn]] void fault(const std::string& what) { throw Fault(what); }

void set_current(Thread& t) {
  t_current = &t;
  detail::t_thread = t.idx;
  detail::t_linear = t.linear;
}

// Called by a thread that must wait: back to the scheduler until it is resumed.
void suspend() {
  Worker& w = *t_current->worker;
  switch_start(&w.fake_stack, w.scheduler_stack);
  w.scheduler = std::move(w.scheduler).resume();
  switch_finish(w.fake_stack, &w.scheduler_stack);
  if (t_block->aborting) throw Abort{};
}

void record_fault(Block& b, const Thread& t, const std::string& what) {
  if (b.fault.empty())
    b.fault = std::string("kernel '") + b.kernel + "', block " + coords(b.idx) + ", thread " +
              coords(t.idx) + ": " + what;
  b.aborting = true;
}

void run_thread(Block& b, Thread& t) {
  set_current(t);
  t.state = State::Running;
  try {
    (*b.body)();
  } catch (const Abort&) {
  } catch (const std::exception& e) {
    record_fault(b, t, e.what());
  } catch (...) {
    record_fault(b, t, "an exception of unknown type");
  }
  t.state = State::Exited;
  ++b.exited;
}

ctx::fiber worker_main(ctx::fiber&& from_scheduler, StackBounds own) {
  Worker w;
  w.scheduler = std::move(from_scheduler);
  w.own = own;
  switch_finish(nullptr, &w.scheduler_stack);
  Block& b = *t_block;
  // The first pass: take unstarted threads in order until one of them has to wait (it
  // keeps this fiber) or none is left. A thread resumed later ends here once it is done.
  while (!b.aborting && b.cursor < b.order.size()) {
    Thread& t = b.threads[size_t(b.order[b.cursor++])];
    t.worker = &w;
    run_thread(b, t);
  }
  switch_start(nullptr, w.scheduler_stack);
  return std::move(w.scheduler);
}

// Runs fiber f (a new worker or a waiting thread's) until it waits or ends; a waiting
// thread keeps the fiber it waits on.
void enter(ctx::fiber&& f, StackBounds to) {
  void* fake = nullptr;
  switch_start(&fake, to);
  ctx::fiber back = std::move(f).resume();
  switch_finish(fake, nullptr);
  if (back) t_current->suspended = std::move(back);
}

void spawn_worker() {
  StackBounds bounds;  // known once the fiber has its stack; read at the fiber's entry
  ctx::fiber f(std::allocator_arg, PooledStack{},
               [&bounds](ctx::fiber&& s) { return worker_main(std::move(s), bounds); });
  bounds =
      StackBounds{static_cast<char*>(t_stacks.last.sp) - t_stacks.last.size, t_stacks.last.size};
  enter(std::move(f), bounds);
}

void resume(Thread& t) {
  set_current(t);
  t.state = State::Running;
  enter(std::move(t.suspended), t.worker->own);
}

// What every waiting thread waits for, when no thread can go on.
std::string deadlock_report(const Block& b) {
  std::ostringstream o;
  o << "the block cannot go on:";
  int barrier = 0;
  const char* site = nullptr;
  for (const Thread& t : b.threads)
    if (t.state == State::AtBarrier) ++barrier, site = t.site;
  if (barrier) o << " " << barrier << " threads wait at __syncthreads (" << site << ");";
  for (size_t w = 0; w < b.warps.size(); ++w)
    for (const WarpOp& op : b.warps[w]) {
      unsigned exited = 0, elsewhere = 0;
      for (int l = 0; l < 32; ++l) {
        if (!(op.mask >> l & 1) || (op.arrived >> l & 1)) continue;
        const size_t i = w * 32 + size_t(l);
        (i < b.threads.size() && b.threads[i].state != State::Exited ? elsewhere : exited) |= 1u
                                                                                              << l;
      }
      char buf[200];
      std::snprintf(buf, sizeof buf,
                    " warp %zu waits in %s (mask 0x%08x) for lanes 0x%08x that exited and 0x%08x "
                    "that wait elsewhere;",
                    w, op.op, op.mask, exited, elsewhere);
      o << buf;
    }
  o << " " << b.exited << " of " << b.n << " threads exited";
  return o.str();
}

// Lets every thread at the barrier go on once all have arrived.
void release_barrier(Block& b) {
  if (b.at_barrier == 0 || b.at_barrier + b.exited < b.n) return;
  Thread* first = nullptr;
  for (Thread& t : b.threads) {
    if (t.state != State::AtBarrier) continue;
    if (!first) first = &t;
    if (std::strcmp(t.site, first->site) != 0) {
      record_fault(b, t,
                   std::string("waits at __syncthreads (") + t.site + ") while thread " +
                       coords(first->idx) + " waits at another (" + first->site + ")");
      return;
    }
  }
  if (b.exited > 0) {
    record_fault(b, *first,
                 std::string("waits at __syncthreads (") + first->site + ") but " +
                     std::to_string(b.exited) + " threads of the block have exited");
    return;
  }
  for (Thread& t : b.threads)
    if (t.state == State::AtBarrier) t.state = State::Ready;
  b.at_barrier = 0;
}

void permute(std::vector<int>& v, Block& b) {
  switch (schedule_ref().order) {
    case Order::Forward: break;
    case Order::Reverse: std::reverse(v.begin(), v.end()); break;
    case Order::Random: std::shuffle(v.begin(), v.end(), b.rng); break;
  }
}

// Gives up on the block: every waiting thread unwinds, then the fault is thrown.
[[noreturn]] void abort_block(Block& b) {
  b.aborting = true;
  for (Thread& t : b.threads)
    if (t.state != State::Exited && t.state != State::Unstarted) resume(t);
  const std::string what = b.fault;
  throw Fault(what);
}

void run_block(Block& b) {
  b.exited = b.at_barrier = 0;
  b.cursor = 0;
  b.aborting = false;
  b.fault.clear();
  for (Thread& t : b.threads) {
    t.state = State::Unstarted;
    t.worker = nullptr;
  }
  for (std::vector<WarpOp>& w : b.warps) w.clear();
  if (b.dynamic_bytes) std::memset(b.dynamic.get(), 0xFF, b.dynamic_bytes);
  std::iota(b.order.begin(), b.order.end(), 0);
  permute(b.order, b);

  while (!b.aborting && b.cursor < b.order.size()) spawn_worker();
  std::vector<int> ready;
  while (!b.aborting && b.exited < b.n) {
    release_barrier(b);
    if (b.aborting) break;
    ready.clear();
    for (const Thread& t : b.threads)
      if (t.state == State::Ready) ready.push_back(t.linear);
    if (ready.empty()) {
      b.fault = std::string("kernel '") + b.kernel + "', block " + coords(b.idx) + ": " +
                deadlock_report(b);
      break;
    }
    permute(ready, b);
    for (int i : ready)
      if (!b.aborting && b.threads[size_t(i)].state == State::Ready) resume(b.threads[size_t(i)]);
  }
  if (!b.fault.empty()) abort_block(b);
}

std::atomic<uint64_t> g_launches{0};  // seeds the random order per launch, so a run repeats exactly

}  // namespace

// ---- Public --------------------------------------------------------------------------

Schedule schedule() {
  std::lock_guard<std::mutex> lock(g_schedule_mu);
  return schedule_ref();
}

void set_schedule(Schedule s) {
  std::lock_guard<std::mutex> lock(g_schedule_mu);
  schedule_ref() = s;
}

std::string schedule_name(Schedule s) {
  switch (s.order) {
    case Order::Forward: return "forward";
    case Order::Reverse: return "reverse";
    case Order::Random: return "random:" + std::to_string(s.seed);
  }
  return "?";
}

Schedule parse_schedule(const std::string& text) {
  if (text == "forward") return {Order::Forward, 0};
  if (text == "reverse") return {Order::Reverse, 0};
  if (text == "random") return {Order::Random, 1};
  if (text.rfind("random:", 0) == 0) {
    char* end = nullptr;
    const unsigned long long seed = std::strtoull(text.c_str() + 7, &end, 10);
    if (end && *end == '\0' && end != text.c_str() + 7) return {Order::Random, seed};
  }
  throw std::invalid_argument("FDL_EMU_SCHEDULE: '" + text +
                              "' is not forward, reverse, random or random:<seed>");
}

void run_grid(const char* kernel, dim3 grid, dim3 block, size_t dynamic_smem,
              const std::function<void()>& thread) {
  if (t_block) fault(std::string("kernel '") + kernel + "' launched from device code");
  const Schedule sched = schedule();
  const int n = int(block.x * block.y * block.z);
  Block b;
  b.kernel = kernel;
  b.body = &thread;
  b.n = n;
  b.threads.resize(size_t(n));
  b.warps.resize(size_t((n + 31) / 32));
  b.order.resize(size_t(n));
  for (int i = 0; i < n; ++i) {
    Thread& t = b.threads[size_t(i)];
    t.linear = i;
    t.idx = uint3{unsigned(i) % block.x, unsigned(i) / block.x % block.y,
                  unsigned(i) / (block.x * block.y)};
  }
  b.dynamic_bytes = dynamic_smem;
  if (dynamic_smem)
    b.dynamic.reset(
        static_cast<unsigned char*>(::operator new(dynamic_smem, std::align_val_t(256))));
  const uint64_t launch = ++g_launches;
  b.rng.seed(sched.seed * 0x9E3779B97F4A7C15ull + launch);

  const uint64_t blocks = uint64_t(grid.x) * grid.y * grid.z;
  std::vector<uint64_t> block_order;
  if (sched.order == Order::Random) {
    block_order.resize(blocks);
    std::iota(block_order.begin(), block_order.end(), uint64_t(0));
    std::shuffle(block_order.begin(), block_order.end(), b.rng);
  }
  detail::t_block_dim = block;
  detail::t_grid_dim = grid;
  t_block = &b;
  struct Reset {
    ~Reset() { t_block = nullptr; }
  } reset;
  for (uint64_t k = 0; k < blocks; ++k) {
    const uint64_t i = sched.order == Order::Forward   ? k
                       : sched.order == Order::Reverse ? blocks - 1 - k
                                                       : block_order[k];
    b.idx = uint3{unsigned(i % grid.x), unsigned(i / grid.x % grid.y),
                  unsigned(i / (uint64_t(grid.x) * grid.y))};
    detail::t_block = b.idx;
    run_block(b);
  }
}

void syncthreads(const char* site) {
  if (!t_block) fault(std::string("__syncthreads (") + site + ") called outside a kernel");
  t_current->state = State::AtBarrier;
  t_current->site = site;
  ++t_block->at_barrier;
  suspend();
}

Lane warp_collective(unsigned mask, const char* op, const Lane& in, Resolve resolve) {
  if (!t_block) fault(std::string(op) + " called outside a kernel");
  Block& b = *t_block;
  Thread& t = *t_current;
  const int lane = t.linear & 31, warp = t.linear >> 5;
  const int lanes = std::min(32, b.n - warp * 32);
  const unsigned present = lanes == 32 ? ~0u : (1u << lanes) - 1;
  char buf[160];
  if (!(mask >> lane & 1)) {
    std::snprintf(buf, sizeof buf, "%s with mask 0x%08x, which leaves out the calling lane %d", op,
                  mask, lane);
    fault(buf);
  }
  if (mask & ~present) {
    std::snprintf(buf, sizeof buf,
                  "%s with mask 0x%08x names lanes the warp does not have (0x%08x)", op, mask,
                  present);
    fault(buf);
  }
  // The collective this lane joins: the one waiting with the same mask, or a new one if no
  // waiting lane's mask overlaps this one (lanes that name each other must agree).
  std::vector<WarpOp>& pending = b.warps[size_t(warp)];
  auto it = pending.begin();
  for (; it != pending.end() && !(it->mask & mask); ++it) {
  }
  if (it == pending.end()) {
    pending.push_back(WarpOp{mask, 0, op, resolve, {}});
    it = pending.end() - 1;
  } else if (it->mask != mask || std::strcmp(it->op, op) != 0) {
    std::snprintf(buf, sizeof buf,
                  "lane %d calls %s (mask 0x%08x) while lanes 0x%08x wait in %s (mask 0x%08x)",
                  lane, op, mask, it->arrived, it->op, it->mask);
    fault(buf);
  }
  it->in[lane] = in;
  it->arrived |= 1u << lane;
  if (it->arrived != it->mask) {
    t.state = State::AtWarp;
    t.site = op;
    suspend();
    return t.result;
  }
  Lane out[32];
  const unsigned done = it->mask;
  it->resolve(done, it->in, out);
  pending.erase(it);
  for (int l = 0; l < 32; ++l) {
    if (!(done >> l & 1)) continue;
    Thread& o = b.threads[size_t(warp * 32 + l)];
    o.result = out[l];
    if (l != lane) o.state = State::Ready;
  }
  return out[lane];
}

unsigned active_mask() {
  if (!t_block) fault("__activemask called outside a kernel");
  const Block& b = *t_block;
  const int warp = t_current->linear >> 5;
  unsigned m = 0;
  for (int l = 0; l < 32 && warp * 32 + l < b.n; ++l)
    if (b.threads[size_t(warp * 32 + l)].state != State::Exited) m |= 1u << l;
  return m;
}

void* dynamic_smem() {
  if (!t_block) fault("dynamic shared memory used outside a kernel");
  return t_block->dynamic.get();
}

void trap(const char* what) { fault(what); }

}  // namespace fdl::emu
