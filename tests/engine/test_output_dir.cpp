// Output directories (engine/io/output_dir.h): which directories a command may write into, the
// lock, and the cleaning of a killed writer's temporary files, which never touches another file.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine/io/atomic_file.h"
#include "engine/io/output_dir.h"
#include "kernels/common/error.h"
#include "tests/support.h"

using namespace fdl;
namespace fs = std::filesystem;

namespace {

fs::path workdir(const std::string& name) { return test::scratch_dir("output_dir", name); }

// The message of the fdl::Error that claiming `dir` throws; empty when the claim succeeds.
std::string claim_error(const fs::path& dir, const io::OutputClaim& claim = {}) {
  try {
    const io::OutputDir out(dir.string(), claim);
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST_CASE(
    "output dir: a new or empty directory becomes fdl's, one with other files needs overwrite") {
  const fs::path d = workdir("owner");
  CHECK(claim_error(d / "new") == "");
  CHECK(fs::exists(d / "new" / io::kMarkerFile));
  CHECK(test::slurp(d / "new" / io::kLockFile) == std::to_string(::getpid()) + "\n");
  fs::create_directories(d / "empty");
  CHECK(claim_error(d / "empty") == "");
  CHECK(fs::exists(d / "empty" / io::kMarkerFile));
  std::ofstream(d / "empty" / "mask.nii.gz") << "written by fdl";  // fdl's directory stays fdl's
  CHECK(claim_error(d / "empty") == "");

  const fs::path theirs = d / "theirs";
  fs::create_directories(theirs / "sub");
  for (const char* f : {"a.txt", "b.txt", "c.txt", "d.txt"}) std::ofstream(theirs / f) << f;
  const auto before = test::snapshot(theirs);
  CHECK(claim_error(theirs) ==
        theirs.string() +
            ": holds files fdl did not write (a.txt, b.txt, c.txt and 2 more); "
            "pass --overwrite to write there anyway, or choose a new or empty directory");
  CHECK(test::snapshot(theirs) == before);
  CHECK(claim_error(theirs, {{}, {}, true}) == "");
  CHECK_FALSE(fs::exists(theirs / io::kMarkerFile));  // still not fdl's
  CHECK(claim_error(theirs) != "");

  std::ofstream(d / "file") << "x";
  CHECK(claim_error(d / "file") == (d / "file").string() + ": exists and is not a directory");
}

TEST_CASE(
    "output dir: an input's directory, one inside it or one around it is refused, however spelt") {
  const fs::path d = workdir("inputs");
  fs::create_directories(d / "data" / "images");
  std::ofstream(d / "data" / "images" / "a.nii") << "x";
  fs::create_symlink(d / "data", d / "link");
  const std::string images = (d / "data" / "images").string();
  const io::OutputClaim reads{{images}, {}, true};
  CHECK(claim_error(d / "link" / "images", reads) ==
        (d / "link" / "images").string() + ": the output directory is the input " + images +
            "; fdl never writes where its inputs are: choose another output directory");
  CHECK(claim_error(d / "data" / "x" / ".." / "images" / "", reads).find("is the input") !=
        std::string::npos);
  CHECK(claim_error(d / "link" / "images" / "out", reads).find("lies inside the input") !=
        std::string::npos);
  CHECK(claim_error(d / "data", reads).find("contains the input") != std::string::npos);
  CHECK(claim_error(d, {{(d / "data" / "images" / "a.nii").string()}, {}, true})
            .find("contains the input") != std::string::npos);
  CHECK_FALSE(fs::exists(d / "data" / "images" / "out"));
  // A sibling whose name merely starts alike is not inside.
  CHECK(claim_error(d / "data" / "images2", reads) == "");
}

TEST_CASE(
    "output dir: one writer at a time, and a lock file left by a dead process blocks nothing") {
  const fs::path d = workdir("lock");
  {
    const io::OutputDir first(d.string(), {});
    CHECK(claim_error(d) == d.string() + ": another fdl process (pid " +
                                std::to_string(::getpid()) +
                                ") is writing to this directory; wait for it to end, or choose "
                                "another output directory");
  }
  std::ofstream(d / io::kLockFile, std::ios::trunc) << "999999\n";  // a killed writer's pid
  const io::OutputDir next(d.string(), {});
  CHECK(test::slurp(d / io::kLockFile) == std::to_string(::getpid()) + "\n");
}

TEST_CASE(
    "output dir: a killed writer's temporary files are removed at the next claim, and no other "
    "file") {
  const fs::path d = workdir("temps");
  fs::create_directories(d / "imagesTr");
  fs::create_directories(d / "other");
  const std::vector<std::string> temps{".state.json.fdl-tmp.123",
                                       "imagesTr/.case_000.nii.gz.fdl-tmp.77"};
  const std::vector<std::string> kept{
      "state.json.fdl-tmp.123", ".x.fdl-tmp.12a", ".x.fdl-tmp.", "x.tmp.123", ".fdl-tmp.5",
      "other/.y.fdl-tmp.9"};
  for (const auto& f : temps) std::ofstream(d / f) << "torn";
  for (const auto& f : kept) std::ofstream(d / f) << "theirs";
  CHECK(claim_error(d, {{}, {"imagesTr"}, true}) == "");
  for (const auto& f : temps) CHECK_MESSAGE(!fs::exists(d / f), f);
  for (const auto& f : kept) CHECK_MESSAGE(test::slurp(d / f) == "theirs", f);
}
