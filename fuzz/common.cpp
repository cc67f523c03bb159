#include "fuzz/common.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace fdl::fuzz {

namespace fs = std::filesystem;

namespace {

fs::path make_scratch() {
  const char* tmp = std::getenv("TMPDIR");
  const fs::path base = tmp && *tmp ? fs::path(tmp) : fs::exists("/dev/shm") ? "/dev/shm" : "/tmp";
  const fs::path dir = base / ("fdl-fuzz-" + std::to_string(getpid()));
  fs::create_directories(dir);
  return dir;
}

const fs::path& scratch() {
  static const fs::path dir = make_scratch();
  // libFuzzer leaves through exit() after a normal run, and this removes the files then.
  static const struct Cleanup {
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup;
  return dir;
}

}  // namespace

std::string scratch_path(const std::string& name) { return (scratch() / name).string(); }

void write_bytes(const std::string& path, std::string_view bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), std::streamsize(bytes.size()));
  require(bool(f), "cannot write the scratch file");
}

std::string_view as_view(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz: property broken: %s\n", what);
  std::abort();
}

}  // namespace fdl::fuzz
