#pragma once
// Caching allocator, one per device. Sizes are rounded (512 B below 1 MiB, 2 MiB above) and
// a freed block is reused for the next request of the same rounded size, so a training step,
// which asks for the same sizes every time, reaches a steady state with no system allocation.
// Other sizes (validation's batch of 1) add blocks of their own; when the system refuses a
// block the cache is freed and the request tried once more. It reports the bytes in use, their
// peak, and the bytes reserved.
//
// Debug mode (Allocator::set_debug, or FDL_ALLOC_DEBUG=1 in the environment at start), for
// the tests: every block handed out is filled with 0xFF bytes (NaN as a float or double, -1
// as an int32), so an element an op never writes stays visible, and is followed by a guard of
// kGuardBytes in a known pattern. Releasing the block checks the guard; a damaged one is
// counted (guard_violations) and reported on stderr with the block's size, never thrown:
// release runs in destructors. On CUDA the check copies the guard to the host, which waits
// for the stream; debug mode is slow on purpose.
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>

#include "engine/dtype.h"

namespace fdl {

struct MemoryStats {
  size_t in_use = 0;    // bytes handed out and not yet freed
  size_t peak = 0;      // the largest in_use since the last reset_peak()
  size_t reserved = 0;  // in_use plus the cache
};

class Allocator {
 public:
  static Allocator& get(Device d);
  void* allocate(size_t bytes);  // 64-byte aligned; never returns null (throws fdl::Error)
  void release(void* p, size_t bytes);
  MemoryStats stats() const;
  void reset_peak();
  void empty_cache();  // gives cached blocks back to the system

  // Debug mode, for both devices. A block keeps the mode it was allocated in.
  static constexpr size_t kGuardBytes = 256;
  static void set_debug(bool on);
  static bool debug();
  static int64_t guard_violations();  // damaged guards since start or the last reset
  static void reset_guard_violations();

 private:
  explicit Allocator(Device d) : device_(d) {}
  static size_t round(size_t bytes);
  void* raw_alloc(size_t bytes);
  void raw_free(void* p);
  void drop_cache();  // frees every cached block; the caller holds mu_
  // Debug mode; the caller holds mu_.
  void poison(void* p, size_t bytes);
  void check_guard(const void* p, size_t bytes);
  Device device_;
  mutable std::mutex mu_;
  std::multimap<size_t, void*> cache_;
  std::unordered_map<void*, size_t> debug_blocks_;  // live debug-mode blocks -> bytes asked
  MemoryStats stats_;
};

}  // namespace fdl
