#include "engine/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/memory_limit.h"
#include "kernels/common/error.h"

namespace fdl::io {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kTempTag = ".fdl-tmp.";

std::string temp_path(const fs::path& target) {
  std::string name = ".";
  name.append(target.filename().string()).append(kTempTag).append(std::to_string(::getpid()));
  return (target.parent_path() / name).string();
}

// Removes the temporary file and throws the error of `step`, with the errno it failed with.
[[noreturn]] void fail(const std::string& path, const std::string& tmp, const char* step, int err) {
  ::unlink(tmp.c_str());
  throw Error(path + ": " + step + " failed: " + errno_text(err));
}

void write_all(int fd, std::string_view bytes, const std::string& path, const std::string& tmp) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {  // a short write is retried; the retry reports why the disk took no more
      const int err = n < 0 ? errno : EIO;
      ::close(fd);
      fail(path, tmp, "write", err);
    }
    done += size_t(n);
  }
}

// The rename is durable only once the directory entry is on disk. Filesystems that cannot
// sync a directory say EINVAL; there is nothing more to do on them.
void fsync_dir(const fs::path& dir, const std::string& path) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  FDL_CHECK(fd >= 0, path, ": cannot open its directory to sync it: ", errno_text(errno));
  const int rc = ::fsync(fd), err = errno;
  ::close(fd);
  FDL_CHECK(rc == 0 || err == EINVAL, path, ": syncing its directory failed: ", errno_text(err));
}

}  // namespace

std::string errno_text(int err) {
  const char* name = ::strerrorname_np(err);
  return std::string(std::strerror(err)) + " (" + (name ? name : "errno " + std::to_string(err)) +
         ")";
}

bool is_temp_file_name(std::string_view name) {
  const size_t at = name.rfind(kTempTag);
  if (name.size() < 2 || name[0] != '.' || at == std::string_view::npos || at < 2) return false;
  const std::string_view pid = name.substr(at + kTempTag.size());
  return !pid.empty() && pid.find_first_not_of("0123456789") == std::string_view::npos;
}

int remove_temp_files(const std::string& dir) {
  int removed = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (is_temp_file_name(e.path().filename().string()) && e.is_regular_file(ec)) {
      FDL_CHECK(fs::remove(e.path(), ec), e.path().string(),
                ": cannot remove this temporary file of an "
                "interrupted write: ",
                ec.message());
      ++removed;
    }
  FDL_CHECK(!ec, dir, ": cannot list it: ", ec.message());
  return removed;
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  const fs::path target(path);
  const std::string tmp = temp_path(target);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  FDL_CHECK(fd >= 0, path, ": cannot create its temporary file ", tmp, ": ", errno_text(errno));
  write_all(fd, bytes, path, tmp);
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    fail(path, tmp, "fsync", err);
  }
  if (::close(fd) != 0) fail(path, tmp, "close", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail(path, tmp, "rename into place", errno);
  fsync_dir(target.parent_path(), path);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  FDL_CHECK(in, path, ": cannot open: ", errno_text(errno));
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (!ec) check_memory(size, path + ": reading the file");
  std::ostringstream ss;
  ss << in.rdbuf();
  FDL_CHECK(!in.bad(), path, ": read failed");
  return ss.str();
}

}  // namespace fdl::io
