#include "engine/io/stderr_capture.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>

namespace fdl::io {

namespace {

// Points fd 2 back at the saved descriptor and returns the captured text.
std::string restore(int saved, int mem) {
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::string text;
  char buf[4096];
  for (off_t at = 0;;) {
    const ssize_t n = ::pread(mem, buf, sizeof buf, at);
    if (n <= 0) break;
    text.append(buf, size_t(n));
    at += n;
  }
  ::close(mem);
  return text;
}

}  // namespace

std::string capture_stderr(const std::function<void()>& f) {
  static std::mutex mutex;  // fd 2 is the process's: one capture at a time
  const std::lock_guard<std::mutex> lock(mutex);
  std::fflush(stderr);
  const int mem = ::memfd_create("fdl-stderr", MFD_CLOEXEC);
  const int saved = mem < 0 ? -1 : ::fcntl(2, F_DUPFD_CLOEXEC, 3);
  if (saved < 0 || ::dup2(mem, 2) < 0) {
    if (saved >= 0) ::close(saved);
    if (mem >= 0) ::close(mem);
    f();
    return {};
  }
  try {
    f();
  } catch (...) {
    const std::string text = restore(saved, mem);
    std::fputs(text.c_str(), stderr);
    throw;
  }
  return restore(saved, mem);
}

}  // namespace fdl::io
