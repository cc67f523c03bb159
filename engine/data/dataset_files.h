#pragma once
// The files a dataset names, checked before any is read (docs/reliability.md, rule 6). Each
// must exist, be a regular file this process can open, and lie inside the dataset directory
// once `..` and symlinks are resolved (unless outside paths are allowed); no file may serve
// twice, under one name or two (hard links, symlinks): the same data in two cases would leak
// from the training into the validation or test set. A dangling symlink, a symlink loop or an
// unreadable file is a problem named as such, never a case left out.
#include <sys/types.h>

#include <compare>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fdl {

// A file as the kernel knows it: two paths with one identity are the same file.
struct FileIdentity {
  dev_t device;
  ino_t inode;
  auto operator<=>(const FileIdentity&) const = default;
};

// The identity of the file `path` leads to (symlinks followed); nullopt when it does not stat.
std::optional<FileIdentity> file_identity(const std::string& path);

// The problems of a dataset's files, collected so that one error lists them all.
class DatasetFiles {
 public:
  // `root`: the dataset directory; its files must resolve inside it unless `allow_outside`.
  DatasetFiles(const std::string& root, bool allow_outside);

  // Checks the file at `path`, which messages introduce as `what` ("case x label:"); records
  // a problem and returns false if it does not exist, is a dangling symlink or a symlink loop,
  // is not a regular file, does not open for reading, resolves outside the root, or is a file
  // admitted before.
  bool admit(const std::string& path, const std::string& what);
  // The path of the admitted file with this identity, or nullptr.
  const std::string* admitted(const FileIdentity& id) const;
  // Any other problem (a case id twice, a test case that is also trained on).
  void problem(std::string text) { problems_.push_back(std::move(text)); }
  // fdl::Error with the first problem and the others after it, if there are any.
  void raise() const;

 private:
  std::string root_;  // canonical
  bool allow_outside_;
  std::map<FileIdentity, std::string> seen_;  // the path each admitted file came by
  std::vector<std::string> problems_;
};

}  // namespace fdl
