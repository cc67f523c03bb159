#pragma once
// Caching allocator, one per device. Freed blocks go to a size-ordered cache and are reused
// for requests of up to their size, so a training step reaches a steady state with no
// system allocation. It reports the bytes in use, their peak, and the bytes reserved.
#include <cstddef>
#include <map>
#include <mutex>

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

 private:
  explicit Allocator(Device d) : device_(d) {}
  static size_t round(size_t bytes);
  void* raw_alloc(size_t bytes);
  void raw_free(void* p);
  void drop_cache();  // frees every cached block; the caller holds mu_
  Device device_;
  mutable std::mutex mu_;
  std::multimap<size_t, void*> cache_;
  MemoryStats stats_;
};

}  // namespace fdl
