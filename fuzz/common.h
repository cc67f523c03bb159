#pragma once
// What the harnesses share. The readers take paths, so each input is written to a file in a
// per-process scratch directory ($TMPDIR, else /dev/shm) first. An fdl::Error is the expected
// answer to bad input; every other exception escapes the harness and libFuzzer reports it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "kernels/common/error.h"

namespace fdl::fuzz {

// <scratch>/<name>; the directory is made on first use and removed at exit.
std::string scratch_path(const std::string& name);
void write_bytes(const std::string& path, std::string_view bytes);
std::string_view as_view(const uint8_t* data, size_t size);

// Runs f; an fdl::Error (bad input, rejected) is swallowed, anything else propagates.
template <class F>
void expect_error_or_ok(F&& f) {
  try {
    f();
  } catch (const Error&) {
  }
}

// Aborts with `what` (a broken property that libFuzzer reports as a crash) unless `ok`.
void require(bool ok, const char* what);

}  // namespace fdl::fuzz
