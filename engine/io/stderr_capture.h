#pragma once
// What a C library says on stderr, captured so that fdl can report it in its own words:
// nifti_clib explains why it refuses a header ("** ERROR: nifti_convert_n1hdr2nim: bad
// datatype") with fprintf(stderr, ...) and nowhere else, whatever its debug level.
#include <functional>
#include <string>

namespace fdl::io {

// Runs `f` with file descriptor 2 pointed at an in-memory file and returns what was written to
// it meanwhile. One capture runs at a time in the process (a mutex), so captures never nest or
// interleave; another thread that writes to stderr during one has its text captured too, which
// the caller passes on. If the capture cannot be set up, `f` runs uncaptured. If `f` throws,
// the captured text goes on to stderr and the exception propagates.
std::string capture_stderr(const std::function<void()>& f);

}  // namespace fdl::io
