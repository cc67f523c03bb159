#pragma once
// Output directories: where a command may write, and one writer at a time. Every command that
// writes claims its output directory first, by constructing an OutputDir, which
//  - refuses a directory that is, lies inside or contains one of the command's inputs (paths
//    compared after resolving symlinks and ".."), whatever `overwrite` says;
//  - refuses an existing directory that holds files fdl did not write, unless `overwrite`. A
//    directory is fdl's when it holds the marker file, which fdl writes into every output
//    directory it creates or finds empty. `overwrite` writes into another directory without
//    marking it, so the next command there needs `overwrite` again;
//  - locks the directory (flock on its lock file) until the OutputDir is destroyed, so that a
//    second writer is refused with the holder's pid. The kernel drops the lock when its process
//    dies, so a killed writer never blocks the next one; the pid it left in the file is shown
//    only while its lock is held. The lock file is written in place, not renamed: the lock
//    belongs to its inode;
//  - then removes the temporary files a killed writer left there (atomic_file.h).
#include <string>
#include <vector>

namespace fdl::io {

inline constexpr const char* kMarkerFile = ".fdl-output";
inline constexpr const char* kLockFile = ".fdl-lock";

struct OutputClaim {
  std::vector<std::string> inputs;   // the files and directories the command reads
  std::vector<std::string> subdirs;  // directories inside it the command writes into
  bool overwrite = false;            // --overwrite
};

class OutputDir {
 public:
  // Checks, creates (with the subdirectories), marks, locks and cleans `dir` as above;
  // fdl::Error naming it and the reason, before anything is written, when it may not be used.
  OutputDir(const std::string& dir, const OutputClaim& claim);
  ~OutputDir();
  OutputDir(const OutputDir&) = delete;
  OutputDir& operator=(const OutputDir&) = delete;

 private:
  int lock_fd_ = -1;
};

// Makes `dir` (and its parents) as an output directory of fdl's, with the marker and without
// a lock, unless it exists: `fdl study` makes each run's directory so, and writes the run's
// log there before the run's `fdl train` claims it.
void make_output_dir(const std::string& dir);

}  // namespace fdl::io
