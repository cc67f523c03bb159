#include "engine/data/dataset_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "engine/io/atomic_file.h"
#include "kernels/common/error.h"

namespace fdl {

namespace {

namespace fs = std::filesystem;

const char* kind_of(mode_t mode) {
  return S_ISDIR(mode)    ? "a directory"
         : S_ISFIFO(mode) ? "a named pipe"
         : S_ISSOCK(mode) ? "a socket"
         : S_ISCHR(mode)  ? "a character device"
         : S_ISBLK(mode)  ? "a block device"
                          : "not a file";
}

}  // namespace

std::optional<FileIdentity> file_identity(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileIdentity{st.st_dev, st.st_ino};
}

DatasetFiles::DatasetFiles(const std::string& root, bool allow_outside)
    : allow_outside_(allow_outside) {
  std::error_code ec;
  const fs::path canonical = fs::canonical(root, ec);
  root_ = ec ? root : canonical.string();
}

bool DatasetFiles::admit(const std::string& path, const std::string& what) {
  const std::string named = what + " " + path;
  struct stat link, st;
  if (::lstat(path.c_str(), &link) != 0) {
    const int err = errno;
    problem(named + (err == ENOENT || err == ENOTDIR ? " does not exist"
                                                     : " cannot be read: " + io::errno_text(err)));
    return false;
  }
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    std::error_code ec;
    const fs::path target = fs::read_symlink(path, ec);
    if (err == ELOOP)
      problem(named + " is a symlink loop (" + io::errno_text(err) + ")");
    else if (err == ENOENT && S_ISLNK(link.st_mode))
      problem(named + " is a dangling symlink (to " + (ec ? std::string("?") : target.string()) +
              ", which does not exist)");
    else
      problem(named + " cannot be read: " + io::errno_text(err));
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    problem(named + " is " + kind_of(st.st_mode) + ", not a NIfTI file");
    return false;
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    problem(named + " cannot be read: " + io::errno_text(errno));
    return false;
  }
  ::close(fd);
  if (!allow_outside_) {
    std::error_code ec;
    const fs::path real = fs::canonical(path, ec);
    const fs::path rel = real.lexically_relative(root_);
    if (ec || rel.empty() || *rel.begin() == "..") {
      problem(named + (real.string() == path ? " lies" : " resolves to " + real.string() + ",") +
              " outside the dataset directory " + root_ +
              " (pass --allow-outside-paths to use files outside it)");
      return false;
    }
  }
  const auto [at, fresh] = seen_.emplace(FileIdentity{st.st_dev, st.st_ino}, path);
  if (!fresh) {
    problem(named + " is the same file as " + at->second +
            " (one file may serve one case once: the same data twice could be trained on and "
            "tested on)");
    return false;
  }
  return true;
}

const std::string* DatasetFiles::admitted(const FileIdentity& id) const {
  const auto it = seen_.find(id);
  return it == seen_.end() ? nullptr : &it->second;
}

void DatasetFiles::raise() const {
  if (problems_.empty()) return;
  std::string msg = problems_[0];
  if (problems_.size() > 1)
    msg += detail::concat(" (and ", problems_.size() - 1,
                          problems_.size() == 2 ? " more problem:" : " more problems:");
  for (size_t i = 1; i < problems_.size(); ++i) msg += (i > 1 ? "; " : " ") + problems_[i];
  if (problems_.size() > 1) msg += ")";
  throw Error(msg);
}

}  // namespace fdl
