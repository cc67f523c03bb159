#include "engine/memory_limit.h"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "kernels/common/error.h"

namespace fdl {

namespace {

std::atomic<uint64_t> g_ceiling{0};  // 0: not chosen yet

uint64_t default_ceiling() {
  if (const char* env = std::getenv("FDL_MAX_MEMORY"); env && *env)
    return parse_byte_size(env, "FDL_MAX_MEMORY");
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return uint64_t(8) << 30;  // unknown: a small workstation's half
  return uint64_t(pages) / 2 * uint64_t(page);
}

}  // namespace

uint64_t memory_ceiling() {
  uint64_t c = g_ceiling.load();
  if (c == 0) {
    c = default_ceiling();
    g_ceiling.store(c);
  }
  return c;
}

void set_memory_ceiling(uint64_t bytes) { g_ceiling.store(bytes); }

uint64_t parse_byte_size(const std::string& text, const std::string& what) {
  const auto bad = [&] {
    return Error(what + ": '" + text +
                 "' is not a memory size (bytes, or a number with K, M, G or T, e.g. 8G)");
  };
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    throw bad();
  }
  std::string unit = text.substr(used);
  if (!unit.empty() && (unit.back() == 'B' || unit.back() == 'b')) unit.pop_back();  // 8GB, 8GiB
  if (unit.size() == 2 && (unit[1] == 'i' || unit[1] == 'I')) unit.pop_back();
  int shift = 0;
  if (unit.size() == 1) {
    const std::string units = "KMGT";
    const size_t k = units.find(char(std::toupper(static_cast<unsigned char>(unit[0]))));
    if (k == std::string::npos) throw bad();
    shift = 10 * int(k + 1);
  } else if (!unit.empty()) {
    throw bad();
  }
  const double bytes = std::ldexp(v, shift);
  if (!(bytes >= 1 && bytes < 0x1p64)) throw bad();
  return uint64_t(bytes);
}

std::string byte_size_text(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = double(bytes);
  int u = -1;
  while (v >= 1024 && u < 5) v /= 1024, ++u;
  char b[32];
  std::snprintf(b, sizeof b, "%.1f %s", v, units[u]);
  return b;
}

std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::optional<uint64_t> checked_add(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

void check_memory(std::optional<uint64_t> bytes, const std::string& what) {
  const uint64_t ceiling = memory_ceiling();
  if (bytes && *bytes <= ceiling) return;
  const std::string need = bytes ? detail::concat(*bytes, " bytes (", byte_size_text(*bytes), ")")
                                 : std::string("more than 2^64 bytes");
  throw Error(what + " needs " + need + ", more than the memory ceiling of " +
              byte_size_text(ceiling) + " (set it with fdl --max-memory or FDL_MAX_MEMORY)");
}

}  // namespace fdl
