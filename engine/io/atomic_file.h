#pragma once
// Every file fdl writes goes through write_file_atomic: the bytes go to a temporary file beside
// the target, every write is checked, the file is fsync'ed and renamed over the target, then
// the directory is fsync'ed. A crash at any moment leaves either the old file or the new one,
// never a torn one. A failed write (a full disk, a file-size limit) throws fdl::Error naming
// the target and the errno, and removes the temporary file.
#include <string>
#include <string_view>

namespace fdl::io {

void write_file_atomic(const std::string& path, std::string_view bytes);
// The whole file; fdl::Error names the path, also for a file larger than the memory ceiling.
std::string read_file(const std::string& path);

// The temporary file of a target <dir>/<name> is <dir>/.<name>.fdl-tmp.<pid>. A killed writer
// leaves it behind; remove_temp_files deletes such files directly in `dir` (no other file, and
// nothing in subdirectories), and returns how many.
bool is_temp_file_name(std::string_view name);
int remove_temp_files(const std::string& dir);

// strerror's text and the errno's name, e.g. "No space left on device (ENOSPC)".
std::string errno_text(int err);

}  // namespace fdl::io
