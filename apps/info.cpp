// `fdl info`: what this build has (backends, threads) — the first thing to check on a new box.
#include <omp.h>

#include <cstdio>

#include "apps/command.h"
#include "engine/device.h"

namespace {
const bool registered = fdl::app::add_command("info", "Show the build's backends and threads", [](CLI::App& cmd) {
  cmd.callback([] {
#ifdef FDL_HAVE_CUDA
    const char* built = "yes";
#else
    const char* built = "no";
#endif
    std::printf("cuda backend built: %s\ncuda device present: %s\ncpu threads: %d\n", built,
                fdl::cuda_available() ? "yes" : "no", omp_get_max_threads());
  });
});
}  // namespace
