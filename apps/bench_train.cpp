// `fdl bench train`: whole training steps (forward, loss, backward, Adam) of each network,
// with PyTorch's step on the same network, shape and batch timed right after. On the CPU the
// peer runs with glibc's default and tuned malloc; with --device cuda it runs in FP32 and
// with TF32 allowed (cudnn.benchmark on in both), and fdl runs once per --conv version.
#include <omp.h>

#include <array>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "apps/bench.h"
#include "apps/bench_peer.h"
#include "engine/memory_limit.h"
#include "engine/ops/conv3d.h"
#include "kernels/common/error.h"
#include "train/device_option.h"
#include "train/step_bench.h"

namespace fdl::app {

namespace {
struct PeerStep {
  double seconds = 0, peak_mib = 0;
};

PeerStep run_torch(const std::string& model, const std::array<int64_t, 3>& s, int batch, int repeat,
                   const std::string& env, const std::string& gpu_flags = "") {
  const bool cuda = !gpu_flags.empty();
  const auto j = run_peer(env,
                          "train --model " + model + " --shape " + std::to_string(s[0]) + " " +
                              std::to_string(s[1]) + " " + std::to_string(s[2]) + " --batch " +
                              std::to_string(batch) + " --repeat " + std::to_string(repeat) +
                              " --threads " + std::to_string(omp_get_max_threads()) + gpu_flags,
                          cuda);
  return {j.at("seconds").get<double>(), j.at("peak_bytes").get<double>() / (1 << 20)};
}

void bench_train(const std::vector<std::string>& models, std::array<int64_t, 3> s, int batch,
                 int repeat, bool torch) {
  std::printf(
      "fdl bench train: %lldx%lldx%lld, batch %d, float32, %d threads, median of %d steps "
      "after one warm-up\nload average before: %s\n",
      (long long)s[0], (long long)s[1], (long long)s[2], batch, omp_get_max_threads(), repeat,
      load_average().c_str());
  if (torch) std::printf("torch2: the same PyTorch child with %s\n", kTunedMalloc);
  std::printf("%-9s %9s %10s", "model", "fdl s", "fdl MiB");
  if (torch)
    std::printf(" %9s %9s %10s %8s %8s", "torch s", "torch2 s", "torch MiB", "ratio", "ratio2");
  std::printf("\n");
  for (const std::string& m : models) {
    const bench::TrainStepTimes t = bench::time_train_step(m, s, batch, repeat);
    std::printf("%-9s %9.3f %10.1f", m.c_str(), t.seconds, double(t.peak_bytes) / (1 << 20));
    if (torch) {
      const PeerStep a = run_torch(m, s, batch, repeat, ""),
                     b = run_torch(m, s, batch, repeat, kTunedMalloc);
      std::printf(" %9.3f %9.3f %10.1f %8.2f %8.2f", a.seconds, b.seconds, b.peak_mib,
                  a.seconds / t.seconds, b.seconds / t.seconds);
    }
    std::printf("\n");
    std::fflush(stdout);
  }
  std::printf(
      "ratio = PyTorch step time / fdl step time (> 1: fdl is faster). fdl MiB: peak tensor "
      "bytes of the caching allocator; torch MiB: the child's peak RSS (tuned malloc).\n"
      "load average after: %s\n",
      load_average().c_str());
}

// One row per (model, conv version); PyTorch once per model in FP32 and once with TF32.
void bench_train_gpu(const std::vector<std::string>& models, std::array<int64_t, 3> s, int batch,
                     int repeat, const std::vector<ConvAlgo>& convs, bool torch) {
  std::printf(
      "fdl bench train --device cuda: %lldx%lldx%lld, batch %d, float32, median of %d steps after "
      "one warm-up, each step timed to the end of its GPU work\n",
      (long long)s[0], (long long)s[1], (long long)s[2], batch, repeat);
  if (torch)
    std::printf(
        "torch: tools/bench_torch.py --device cuda with %s, cudnn.benchmark on; torch-tf32 also "
        "allows TF32 (cuDNN and matmul)\n",
        peer_python(true).c_str());
  std::printf("%-9s %-6s %9s %10s", "model", "conv", "fdl s", "fdl MiB");
  if (torch)
    std::printf(" %9s %11s %10s %8s %10s", "torch s", "torch-tf32 s", "torch MiB", "ratio",
                "ratio-tf32");
  std::printf("\n");
  int failures = 0;
  for (const std::string& m : models) {
    PeerStep fp32, tf32;
    bool peer = torch;
    if (peer) {
      try {
        fp32 = run_torch(m, s, batch, repeat, "", " --device cuda");
        tf32 = run_torch(m, s, batch, repeat, "", " --device cuda --tf32");
      } catch (const Error& e) {
        std::printf("%-9s PyTorch FAILED: %s\n", m.c_str(), e.what());
        peer = false;
        ++failures;
      }
    }
    for (const ConvAlgo c : convs) {
      set_cuda_conv_algo(c);
      bench::TrainStepTimes t;
      try {
        t = bench::time_train_step(m, s, batch, repeat, Device::CUDA);
      } catch (const Error& e) {  // one failing model must not hide the others
        std::printf("%-9s %-6s FAILED: %s\n", m.c_str(), conv_algo_name(c), e.what());
        ++failures;
        continue;
      }
      std::printf("%-9s %-6s %9.4f %10.1f", m.c_str(), conv_algo_name(c), t.seconds,
                  double(t.peak_bytes) / (1 << 20));
      if (peer)
        std::printf(" %9.4f %11.4f %10.1f %8.2f %10.2f", fp32.seconds, tf32.seconds, fp32.peak_mib,
                    fp32.seconds / t.seconds, tf32.seconds / t.seconds);
      std::printf("\n");
      std::fflush(stdout);
    }
  }
  std::printf(
      "ratio = PyTorch FP32 step time / fdl step time, ratio-tf32 = PyTorch TF32 step time / fdl "
      "step "
      "time (> 1: fdl is faster). fdl MiB: peak bytes of fdl's CUDA caching allocator; torch MiB: "
      "torch.cuda.max_memory_allocated (FP32).\n");
  FDL_CHECK(failures == 0, "bench train: ", failures, " run(s) failed (above)");
}

// "tiled,tf32" -> the algorithms; fdl::Error naming a word that is not one.
std::vector<ConvAlgo> parse_convs(const std::string& list) {
  std::vector<ConvAlgo> out;
  std::stringstream in(list);
  for (std::string w; std::getline(in, w, ',');) {
    FDL_CHECK(w == "direct" || w == "tiled" || w == "tf32", "bench train: --conv '", w,
              "' is not one of direct, tiled, tf32 (cuDNN is compared by fdl bench conv3d)");
    out.push_back(parse_conv_algo(w));
  }
  FDL_CHECK(!out.empty(), "bench train: --conv names no version");
  return out;
}

// The network halves the grid twice, and one batch of it must fit the memory ceiling: checked
// before anything is timed (the ranges are the options' own).
void check_batch(const std::array<int64_t, 3>& s, int batch) {
  const std::string shape = detail::concat("--shape ", s[0], " ", s[1], " ", s[2]);
  for (int64_t n : s)
    FDL_CHECK(n % 4 == 0, "bench train: ", shape,
              ": each size must be a multiple of 4 (the network halves the grid twice)");
  std::optional<uint64_t> bytes = uint64_t(batch) * sizeof(float);
  for (int64_t n : s)
    if (bytes) bytes = checked_mul(*bytes, uint64_t(n));
  check_memory(bytes,
               detail::concat("bench train: ", shape, " with --batch ", batch, ": one batch"));
}

}  // namespace

void add_bench_train(CLI::App& bench) {
  CLI::App* c = bench.add_subcommand("train", "Time whole training steps of the networks");
  static std::vector<std::string> models{"unet3d", "fd-early", "fd-late"};
  static std::array<int64_t, 3> shape{64, 64, 48};
  static int batch = 2, repeat = 3;
  static bool no_torch = false, fast_nondeterministic = false;
  static std::string device = "cpu", conv;
  c->add_option("--model", models, "networks to time (default: all three)");
  c->add_option("--shape", shape, "volume size X Y Z (each divisible by 4)")
      ->check(in_range<int64_t>(4, 65536));
  c->add_option("--batch", batch, "volumes per step")->check(in_range(1, 4096));
  c->add_option("--repeat", repeat, "timed steps (the median is shown)")->check(in_range(1, 1000));
  c->add_flag("--no-torch", no_torch, "time fdl only (PyTorch runs when it can be imported)");
  c->add_option("--device", device, "cpu or cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  c->add_option("--conv", conv,
                "GPU conv kernels, comma-separated: direct, tiled, tf32 (default tiled); a "
                "row per version");
  c->add_flag("--fast-nondeterministic", fast_nondeterministic,
              "GPU weight gradients reduced by atomics (not bit-reproducible)");
  c->callback([] {
    check_batch(shape, batch);
    if (device == "cpu") {
      FDL_CHECK(
          conv.empty() && !fast_nondeterministic,
          "bench train: --conv and --fast-nondeterministic choose GPU kernels; add --device cuda");
      bench_train(models, shape, batch, repeat, peer_wanted(no_torch));
      return;
    }
    const std::vector<ConvAlgo> convs = parse_convs(conv.empty() ? "tiled" : conv);
    train::parse_device(device);
    set_cuda_conv_nondeterministic(fast_nondeterministic);
    bench_train_gpu(models, shape, batch, repeat, convs, peer_wanted(no_torch, true));
  });
}

}  // namespace fdl::app
