// `fdl info`: what this build has (backends, threads) — the first thing to check on a new box.
#include <omp.h>

#include <cstdio>

#include "apps/command.h"
#include "engine/device.h"
#include "engine/device_info.h"

namespace {
const bool registered =
    fdl::app::add_command("info", "Show the build's backends and threads", [](CLI::App& cmd) {
      cmd.callback([] {
#ifdef FDL_HAVE_CUDA
        const char* built = "yes";
#else
    const char* built = "no";
#endif
#ifdef FDL_HAVE_CUDNN
        const char* cudnn = "yes (fdl bench conv3d --conv cudnn only)";
#else
    const char* cudnn = "no";
#endif
        std::printf(
            "cuda backend built: %s\ncudnn comparison built: %s\ncuda device: %s\ncpu threads: "
            "%d\n",
            built, cudnn, fdl::cuda_device_summary().c_str(), omp_get_max_threads());
      });
    });
}  // namespace
