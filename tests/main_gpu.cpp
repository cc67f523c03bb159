// The GPU suite. Without a CUDA device it says so and exits 77, which CTest reports as
// skipped (SKIP_RETURN_CODE), so no GPU test is ever counted as passed without running.
// It runs with the allocator in debug mode (poisoned blocks, guards past their ends) unless
// FDL_ALLOC_DEBUG says otherwise; a test case during which a guard was overwritten fails the
// run even if its own checks passed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/allocator.h"
#include "engine/device.h"
#include "tests/listener.h"

namespace {

std::vector<std::string> g_guard_failures;

// Notes every test case during which the allocator counted a damaged guard.
struct GuardListener : fdl::test::Listener {
  explicit GuardListener(const doctest::ContextOptions&) {}
  void test_case_start(const doctest::TestCaseData& tc) override {
    name_ = tc.m_name;
    at_start_ = fdl::Allocator::guard_violations();
  }
  void test_case_end(const doctest::CurrentTestCaseStats&) override {
    // A test that damages a guard on purpose resets the count, which never reads as a rise.
    if (fdl::Allocator::guard_violations() > at_start_) g_guard_failures.push_back(name_);
  }

 private:
  std::string name_;
  int64_t at_start_ = 0;
};

}  // namespace

REGISTER_LISTENER("allocator-guards", 1, GuardListener);

int main(int argc, char** argv) {
  if (!fdl::cuda_available()) {
    std::printf("no CUDA device: the gpu tests are skipped\n");
    return 77;
  }
  if (!std::getenv("FDL_ALLOC_DEBUG")) fdl::Allocator::set_debug(true);
  doctest::Context ctx(argc, argv);
  int rc = ctx.run();
  for (const std::string& name : g_guard_failures) {
    std::fprintf(stderr, "gpu suite: a block was written past its end during \"%s\"\n",
                 name.c_str());
    rc = rc ? rc : 1;
  }
  return rc;
}
