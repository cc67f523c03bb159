// data/: the committed sample is what `fdl phantoms` makes from data/sample.args, so it cannot
// drift from the generator, and data/demo.args (tools/demo's recipe) is one fdl accepts.
#include <doctest/doctest.h>
#include <zlib.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <string>

#include "engine/io/output_dir.h"
#include "tests/support.h"

namespace fs = std::filesystem;

namespace {

const fs::path kData = FDL_DATA_DIR;

// The `fdl phantoms` options in data/<name>.args, comment lines left out.
std::string recipe(const std::string& name) {
  std::istringstream in(fdl::test::slurp(kData / (name + ".args")));
  std::string line, words;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#') words += " " + line;
  REQUIRE_MESSAGE(!words.empty(), "data/", name, ".args holds no options");
  return words;
}

// The decompressed bytes of a .gz file: the NIfTI header and voxels. Compared instead of the
// file, because another zlib may compress the same bytes differently.
std::string gunzip(const fs::path& p) {
  gzFile f = gzopen(p.c_str(), "rb");
  REQUIRE_MESSAGE(f != nullptr, p.string(), ": cannot open");
  std::string out;
  char buf[1 << 16];
  int n = 0;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, size_t(n));
  gzclose(f);
  REQUIRE_MESSAGE(n == 0, p.string(), ": not a whole gzip stream");
  return out;
}

// A dataset's files by relative path (.gz ones decompressed), fdl's marker and lock left out:
// the sample is committed without them.
std::map<std::string, std::string> dataset_files(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (auto& [path, bytes] : fdl::test::snapshot(dir)) {
    if (path == fdl::io::kMarkerFile || path == fdl::io::kLockFile) continue;
    out[path] = path.ends_with(".gz") ? gunzip(dir / path) : bytes;
  }
  return out;
}

}  // namespace

TEST_CASE("data: data/sample is what fdl phantoms makes from data/sample.args") {
  const fs::path d = fdl::test::scratch_dir("data_folder", "sample"), log = d / "log.txt";
  REQUIRE_MESSAGE(
      fdl::test::run_fdl("phantoms -o " + (d / "sample").string() + recipe("sample"), log) == 0,
      fdl::test::slurp(log));
  const auto committed = dataset_files(kData / "sample"), made = dataset_files(d / "sample");
  CHECK(committed.size() == 13);  // dataset.json, 6 images and 6 labels
  for (const auto& [path, bytes] : made) {
    CAPTURE(path);
    REQUIRE_MESSAGE(committed.count(path), "data/sample lacks it");
    const bool same = committed.at(path) == bytes;  // not printed: tens of KB of binary
    CHECK_MESSAGE(same,
                  "data/sample differs from what fdl phantoms makes now: regenerate it "
                  "(data/README.md)");
  }
  for (const auto& [path, bytes] : committed)
    CHECK_MESSAGE(made.count(path), path, " is not made by fdl phantoms");
  fs::remove_all(d);
}

TEST_CASE("data: data/demo.args is a recipe fdl phantoms accepts") {
  const fs::path d = fdl::test::scratch_dir("data_folder", "demo"), log = d / "log.txt";
  REQUIRE_MESSAGE(
      fdl::test::run_fdl("phantoms -o " + (d / "demo").string() + recipe("demo"), log) == 0,
      fdl::test::slurp(log));
  CHECK(fs::exists(d / "demo" / "dataset.json"));
  fs::remove_all(d);
}
