#include "engine/io/output_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "engine/io/atomic_file.h"
#include "kernels/common/error.h"

namespace fdl::io {

namespace fs = std::filesystem;

namespace {

constexpr const char* kMarkerText =
    "fdl made this directory for its output; fdl commands write here without --overwrite.\n";

// The path as the file system resolves it: absolute, with symlinks and ".." followed as far
// as it exists, without a trailing separator.
fs::path resolved(const std::string& p) {
  std::error_code ec;
  fs::path r = fs::weakly_canonical(fs::absolute(p), ec);
  if (ec) r = fs::absolute(p).lexically_normal();
  if (!r.has_filename() && r != r.root_path()) r = r.parent_path();
  return r;
}

bool within(const fs::path& p, const fs::path& base) {
  return std::mismatch(base.begin(), base.end(), p.begin(), p.end()).first == base.end();
}

void refuse_inputs(const std::string& dir, const std::vector<std::string>& inputs) {
  const fs::path out = resolved(dir);
  for (const std::string& in : inputs) {
    if (in.empty()) continue;
    const fs::path p = resolved(in);
    const char* how = out == p         ? "is"
                      : within(out, p) ? "lies inside"
                      : within(p, out) ? "contains"
                                       : nullptr;
    FDL_CHECK(!how, dir, ": the output directory ", how, " the input ", in,
              "; fdl never writes where its inputs are: choose another output directory");
  }
}

// The entries of `dir` that fdl did not write there: all but its marker, lock and temporary files.
std::vector<std::string> foreign_entries(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name != kMarkerFile && name != kLockFile && !is_temp_file_name(name)) names.push_back(name);
  }
  FDL_CHECK(!ec, dir, ": cannot list it: ", ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

std::string listed(const std::vector<std::string>& names) {
  constexpr size_t kShown = 3;
  std::string s;
  for (size_t i = 0; i < names.size() && i < kShown; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > kShown) s += " and " + std::to_string(names.size() - kShown) + " more";
  return s;
}

// "pid 1234" from the lock file of the writer holding it.
std::string holder(const fs::path& lock_file) {
  std::error_code ec;
  const std::string text = fs::exists(lock_file, ec) ? read_file(lock_file.string()) : "";
  const size_t digits = text.find_first_not_of("0123456789");
  return digits == 0 || text.empty() ? "pid unknown" : "pid " + text.substr(0, digits);
}

// Locks `dir` for this process and records its pid; returns the lock file's descriptor.
int lock(const std::string& dir) {
  const fs::path file = fs::path(dir) / kLockFile;
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  FDL_CHECK(fd >= 0, file.string(), ": cannot open the lock file: ", errno_text(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    FDL_CHECK(err == EWOULDBLOCK, file.string(), ": cannot lock it: ", errno_text(err));
    throw Error(dir + ": another fdl process (" + holder(file) +
                ") is writing to this directory; wait for it "
                "to end, or choose another output directory");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  const bool ok =
      ::ftruncate(fd, 0) == 0 && ::pwrite(fd, pid.data(), pid.size(), 0) == ssize_t(pid.size());
  if (!ok) {
    const int err = errno ? errno : EIO;
    ::close(fd);
    throw Error(file.string() +
                ": cannot record this process in the lock file: " + errno_text(err));
  }
  return fd;
}

void create(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  FDL_CHECK(!ec, dir.string(), ": cannot create the output directory: ", ec.message());
}

}  // namespace

OutputDir::OutputDir(const std::string& dir, const OutputClaim& claim) {
  FDL_CHECK(!dir.empty(), "the output directory is an empty path");
  refuse_inputs(dir, claim.inputs);
  std::error_code ec;
  const bool exists = fs::exists(dir, ec);
  FDL_CHECK(!exists || fs::is_directory(dir, ec), dir, ": exists and is not a directory");
  bool mark = !exists;
  if (exists && !fs::exists(fs::path(dir) / kMarkerFile, ec)) {
    const std::vector<std::string> theirs = foreign_entries(dir);
    FDL_CHECK(theirs.empty() || claim.overwrite, dir, ": holds files fdl did not write (",
              listed(theirs),
              "); pass --overwrite to write there anyway, or choose a new or empty directory");
    mark = theirs.empty();
  }
  create(dir);
  if (mark) write_file_atomic((fs::path(dir) / kMarkerFile).string(), kMarkerText);
  lock_fd_ = lock(dir);
  try {
    remove_temp_files(dir);
    for (const std::string& sub : claim.subdirs) {
      create(fs::path(dir) / sub);
      remove_temp_files((fs::path(dir) / sub).string());
    }
  } catch (...) {
    ::close(lock_fd_);
    throw;
  }
}

OutputDir::~OutputDir() { ::close(lock_fd_); }

void make_output_dir(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) return;
  create(dir);
  write_file_atomic((fs::path(dir) / kMarkerFile).string(), kMarkerText);
}

}  // namespace fdl::io
