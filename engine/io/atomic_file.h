#pragma once
// Atomic file writes: the bytes go to a temporary file beside the target, are fsync'ed, and
// the file is renamed over the target, then the directory is fsync'ed. A crash at any moment
// leaves either the old file or the new one, never a torn one.
#include <string>
#include <string_view>

namespace fdl::io {

void write_file_atomic(const std::string& path, std::string_view bytes);
std::string read_file(const std::string& path);  // whole file; fdl::Error names the path

}  // namespace fdl::io
