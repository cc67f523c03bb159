// capture_stderr (engine/io/stderr_capture.h): it returns what was written to file descriptor 2
// (stdio and write(2) alike), puts fd 2 back, passes the text on when the function throws, and
// serialises captures from several threads so that each gets its own text.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "engine/io/stderr_capture.h"

using namespace fdl;

namespace {

// The file fd 2 refers to.
std::pair<dev_t, ino_t> fd2() {
  struct stat st;
  REQUIRE(::fstat(2, &st) == 0);
  return {st.st_dev, st.st_ino};
}

}  // namespace

TEST_CASE("stderr capture: the text comes back and fd 2 is restored") {
  const auto before = fd2();
  const std::string text = io::capture_stderr([] {
    std::fprintf(stderr, "** ERROR: from stdio\n");
    CHECK(::write(2, "and write(2)\n", 13) == 13);
  });
  CHECK(text == "** ERROR: from stdio\nand write(2)\n");
  CHECK(fd2() == before);
  CHECK(io::capture_stderr([] {}).empty());
}

TEST_CASE("stderr capture: an exception propagates and leaves no capture behind") {
  const auto before = fd2();
  CHECK_THROWS_AS(io::capture_stderr([] { throw std::runtime_error("boom"); }), std::runtime_error);
  CHECK(fd2() == before);
  CHECK(io::capture_stderr([] { std::fputs("next\n", stderr); }) ==
        "next\n");  // the lock was released
}

TEST_CASE("stderr capture: captures from several threads do not mix") {
  std::vector<std::string> got(8);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < got.size(); ++t)
    threads.emplace_back([&got, t] {
      for (int k = 0; k < 20; ++k) {
        const std::string line = "thread " + std::to_string(t) + "\n";
        const std::string text = io::capture_stderr([&] { std::fputs(line.c_str(), stderr); });
        if (text != line) got[t] = text;  // the first mixed capture, if any
      }
    });
  for (auto& th : threads) th.join();
  for (const std::string& g : got) CHECK_MESSAGE(g.empty(), "a capture held: ", g);
}
