// Atomic writes (engine/io/atomic_file.h): no temporary file left behind, fdl's temporary
// file names told from others, errors that name the file and the errno. (Failed writes on a
// full disk: tests/train/test_checkpoint.cpp and tests/apps/test_data_safety.cpp.)
#include <doctest/doctest.h>

#include <cerrno>
#include <filesystem>

#include "engine/io/atomic_file.h"
#include "kernels/common/error.h"
#include "tests/support.h"

using namespace fdl;
namespace fs = std::filesystem;

TEST_CASE(
    "atomic file: the write leaves no temporary file, and errors name the file and the errno") {
  const fs::path d = test::scratch_dir("atomic_file", "write");
  io::write_file_atomic((d / "a.json").string(), "{}");
  CHECK(test::slurp(d / "a.json") == "{}");
  for (const auto& e : fs::directory_iterator(d)) CHECK(e.path().filename() == "a.json");
  for (const char* name : {".a.json.fdl-tmp.42", ".x.fdl-tmp.1"})
    CHECK_MESSAGE(io::is_temp_file_name(name), name);
  for (const char* name :
       {"a.json.fdl-tmp.42", ".a.json.fdl-tmp.", ".a.json.fdl-tmp.4x", ".fdl-tmp.42", "a.tmp.42"})
    CHECK_MESSAGE(!io::is_temp_file_name(name), name);
  CHECK(io::errno_text(ENOSPC) == "No space left on device (ENOSPC)");
  CHECK_THROWS_WITH_AS(io::write_file_atomic((d / "missing" / "a.json").string(), "{}"),
                       doctest::Contains("missing/a.json: cannot create its temporary file"),
                       Error);
}
