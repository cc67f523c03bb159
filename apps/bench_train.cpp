// `fdl bench train`: whole training steps (forward, loss, backward, Adam) of each network,
// with PyTorch's step on the same network, shape and batch timed right after.
#include <omp.h>

#include <cstdio>
#include <string>
#include <vector>

#include "apps/bench.h"
#include "apps/bench_peer.h"
#include "train/step_bench.h"

namespace fdl::app {

namespace {
struct PeerStep {
  double seconds = 0, peak_mib = 0;
};

PeerStep run_torch(const std::string& model, const std::array<int64_t, 3>& s, int batch,
                   int repeat, const std::string& env) {
  const auto j = run_peer(env, "train --model " + model + " --shape " + std::to_string(s[0]) +
                                   " " + std::to_string(s[1]) + " " + std::to_string(s[2]) +
                                   " --batch " + std::to_string(batch) + " --repeat " +
                                   std::to_string(repeat) + " --threads " +
                                   std::to_string(omp_get_max_threads()));
  return {j.at("seconds").get<double>(), j.at("peak_bytes").get<double>() / (1 << 20)};
}

void bench_train(const std::vector<std::string>& models, std::array<int64_t, 3> s, int batch,
                 int repeat, bool torch) {
  std::printf("fdl bench train: %lldx%lldx%lld, batch %d, float32, %d threads, median of %d steps "
              "after one warm-up\nload average before: %s\n",
              (long long)s[0], (long long)s[1], (long long)s[2], batch, omp_get_max_threads(),
              repeat, load_average().c_str());
  if (torch) std::printf("torch2: the same PyTorch child with %s\n", kTunedMalloc);
  std::printf("%-9s %9s %10s", "model", "fdl s", "fdl MiB");
  if (torch) std::printf(" %9s %9s %10s %8s %8s", "torch s", "torch2 s", "torch MiB", "ratio", "ratio2");
  std::printf("\n");
  for (const std::string& m : models) {
    const bench::TrainStepTimes t = bench::time_train_step(m, s, batch, repeat);
    std::printf("%-9s %9.3f %10.1f", m.c_str(), t.seconds, double(t.peak_bytes) / (1 << 20));
    if (torch) {
      const PeerStep a = run_torch(m, s, batch, repeat, ""), b = run_torch(m, s, batch, repeat, kTunedMalloc);
      std::printf(" %9.3f %9.3f %10.1f %8.2f %8.2f", a.seconds, b.seconds, b.peak_mib,
                  a.seconds / t.seconds, b.seconds / t.seconds);
    }
    std::printf("\n");
    std::fflush(stdout);
  }
  std::printf("ratio = PyTorch step time / fdl step time (> 1: fdl is faster). fdl MiB: peak tensor "
              "bytes of the caching allocator; torch MiB: the child's peak RSS (tuned malloc).\n"
              "load average after: %s\n", load_average().c_str());
}
}  // namespace

void add_bench_train(CLI::App& bench) {
  CLI::App* c = bench.add_subcommand("train", "Time whole training steps of the networks");
  static std::vector<std::string> models{"unet3d", "fd-early", "fd-late"};
  static std::array<int64_t, 3> shape{64, 64, 48};
  static int batch = 2, repeat = 3;
  static bool no_torch = false;
  c->add_option("--model", models, "networks to time (default: all three)");
  c->add_option("--shape", shape, "volume size X Y Z (each divisible by 4)");
  c->add_option("--batch", batch, "volumes per step")->check(CLI::PositiveNumber);
  c->add_option("--repeat", repeat, "timed steps (the median is shown)")->check(CLI::PositiveNumber);
  c->add_flag("--no-torch", no_torch, "time fdl only (PyTorch runs when /usr/bin/python3 has it)");
  c->callback([] { bench_train(models, shape, batch, repeat, peer_wanted(no_torch)); });
}

}  // namespace fdl::app
