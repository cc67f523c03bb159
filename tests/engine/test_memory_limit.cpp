// The memory ceiling: its default, FDL_MAX_MEMORY, sizes as people write them, overflow-safe
// arithmetic and the message of a claim beyond it.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>

#include "engine/memory_limit.h"
#include "kernels/common/error.h"

using namespace fdl;

TEST_CASE("memory ceiling: default, environment, sizes and overflow") {
  unsetenv("FDL_MAX_MEMORY");
  set_memory_ceiling(0);
  const uint64_t physical = uint64_t(sysconf(_SC_PHYS_PAGES)) * uint64_t(sysconf(_SC_PAGE_SIZE));
  CHECK(memory_ceiling() == physical / 2);

  setenv("FDL_MAX_MEMORY", "3G", 1);
  set_memory_ceiling(0);
  CHECK(memory_ceiling() == uint64_t(3) << 30);
  setenv("FDL_MAX_MEMORY", "plenty", 1);
  set_memory_ceiling(0);
  CHECK_THROWS_WITH_AS(memory_ceiling(),
                       doctest::Contains("FDL_MAX_MEMORY: 'plenty' is not a memory size"), Error);
  unsetenv("FDL_MAX_MEMORY");
  set_memory_ceiling(0);

  CHECK(parse_byte_size("4096", "x") == 4096);
  CHECK(parse_byte_size("512M", "x") == uint64_t(512) << 20);
  CHECK(parse_byte_size("1.5g", "x") == uint64_t(3) << 29);
  CHECK(parse_byte_size("8GiB", "x") == uint64_t(8) << 30);
  CHECK(parse_byte_size("2TB", "x") == uint64_t(2) << 40);
  for (const char* bad : {"", "0", "-1G", "5Q", "G", "1e30", "nan"})
    CHECK_THROWS_WITH_AS(parse_byte_size(bad, "--max-memory"), doctest::Contains("--max-memory: '"),
                         Error);

  CHECK(checked_mul(uint64_t(1) << 32, uint64_t(1) << 31) == uint64_t(1) << 63);
  CHECK_FALSE(checked_mul(uint64_t(1) << 32, uint64_t(1) << 32));
  CHECK_FALSE(checked_add(~uint64_t(0), 1));

  set_memory_ceiling(uint64_t(1) << 20);
  CHECK_NOTHROW(check_memory(uint64_t(1) << 20, "f"));
  CHECK_THROWS_WITH_AS(
      check_memory((uint64_t(1) << 20) + 1, "f.nii: its voxels"),
      "f.nii: its voxels needs 1048577 bytes (1.0 MiB), more than the memory ceiling of 1.0 MiB "
      "(set it with fdl --max-memory or FDL_MAX_MEMORY)",
      Error);
  CHECK_THROWS_WITH_AS(check_memory(std::nullopt, "w"),
                       doctest::Contains("w needs more than 2^64 bytes"), Error);
  set_memory_ceiling(0);
}
