// `fdl bench conv3d`: times the conv3d kernels at the network's shapes. On the CPU, when
// PyTorch is present, tools/bench_torch.py runs in the same run for the ratio torch/fdl. With
// --device cuda it times each GPU version (--conv) against cuDNN in the same process, after
// checking each version's outputs against the direct version's.
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "apps/bench.h"
#include "apps/bench_peer.h"
#include "engine/bench/conv3d_bench.h"
#include "engine/ops/conv3d.h"
#include "kernels/common/error.h"
#include "train/device_option.h"

namespace {

using fdl::kernels::Conv3dShape;

Conv3dShape conv(int cin, int cout, int x, int y, int z, int k, int s, int p) {
  Conv3dShape c;
  c.n = 2, c.cin = cin, c.cout = cout, c.in[0] = x, c.in[1] = y, c.in[2] = z;
  c.k = k, c.stride = s, c.pad = p;
  return c;
}

// The U-Net's convolutions at the paper's 160x160x128 input, batch 2.
std::vector<Conv3dShape> network_shapes() {
  return {conv(8, 8, 160, 160, 128, 3, 1, 1), conv(16, 16, 80, 80, 64, 3, 1, 1),
          conv(32, 32, 40, 40, 32, 3, 1, 1),  conv(8, 16, 160, 160, 128, 3, 2, 1),
          conv(16, 32, 80, 80, 64, 3, 2, 1),  conv(64, 32, 40, 40, 32, 1, 1, 0),
          conv(16, 2, 160, 160, 128, 1, 1, 0)};
}

std::string spec(const Conv3dShape& c) {
  char b[96];
  std::snprintf(b, sizeof b, "%d,%d,%d,%d,%d,%d,%d,%d,%d", c.n, c.cin, c.cout, c.in[0], c.in[1],
                c.in[2], c.k, c.stride, c.pad);
  return b;
}

std::string label(const Conv3dShape& c) {
  char b[96];
  std::snprintf(b, sizeof b, "k%d s%d %2d->%-2d %dx%dx%d", c.k, c.stride, c.cin, c.cout, c.in[0],
                c.in[1], c.in[2]);
  return b;
}

struct TorchTimes {
  double fwd = 0, dgrad = 0, wgrad = 0;
  double total() const { return fwd + dgrad + wgrad; }
};

// Runs the PyTorch child on one shape and returns its timings.
TorchTimes run_torch(const Conv3dShape& s, int repeat, const std::string& env) {
  const auto j =
      fdl::app::run_peer(env, "conv3d --threads " + std::to_string(omp_get_max_threads()) +
                                  " --repeat " + std::to_string(repeat) + " --shape " + spec(s));
  return {j.at("fwd").get<double>(), j.at("dgrad").get<double>(), j.at("wgrad").get<double>()};
}

// Each shape is timed by fdl and then by the PyTorch children right away, so that a busy
// machine slows both sides of a ratio alike.
void bench_conv3d(int repeat, bool torch) {
  const auto shapes = network_shapes();
  std::printf("fdl bench conv3d: float32, N=2, %d threads, median of %d runs after one warm-up\n",
              omp_get_max_threads(), repeat);
  std::printf("load average before: %s\n", fdl::app::load_average().c_str());
  if (torch)
    std::printf("torch: tools/bench_torch.py per shape, default malloc, then (torch2) %s\n",
                fdl::app::kTunedMalloc);
  std::printf("%-28s %9s %9s %9s %9s %8s", "shape", "fwd ms", "dgrad ms", "wgrad ms", "total ms",
              "GFLOP/s");
  if (torch) std::printf(" %10s %10s %8s %8s", "torch ms", "torch2 ms", "ratio", "ratio2");
  std::printf("\n");
  std::vector<std::pair<TorchTimes, TorchTimes>> torch_times;
  for (const auto& s : shapes) {
    const fdl::bench::Conv3dTimes t = fdl::bench::time_conv3d(s, repeat);
    const double total = t.fwd + t.dgrad + t.wgrad;
    std::printf("%-28s %9.1f %9.1f %9.1f %9.1f %8.1f", label(s).c_str(), 1e3 * t.fwd, 1e3 * t.dgrad,
                1e3 * t.wgrad, 1e3 * total, 3 * s.flops() / total * 1e-9);
    if (torch) {
      const TorchTimes a = run_torch(s, repeat, ""),
                       b = run_torch(s, repeat,
                                     std::string("GLIBC_TUNABLES=") + fdl::app::kTunedMalloc);
      torch_times.push_back({a, b});
      std::printf(" %10.1f %10.1f %8.2f %8.2f", 1e3 * a.total(), 1e3 * b.total(), a.total() / total,
                  b.total() / total);
    }
    std::printf("\n");
    std::fflush(stdout);
  }
  if (torch) {
    std::printf("\nPyTorch per pass (ms, default malloc / tuned malloc):\n");
    for (size_t i = 0; i < shapes.size(); ++i) {
      const auto& [a, b] = torch_times[i];
      std::printf("%-28s fwd %7.1f / %7.1f  dgrad %7.1f / %7.1f  wgrad %7.1f / %7.1f\n",
                  label(shapes[i]).c_str(), 1e3 * a.fwd, 1e3 * b.fwd, 1e3 * a.dgrad, 1e3 * b.dgrad,
                  1e3 * a.wgrad, 1e3 * b.wgrad);
    }
    std::printf(
        "ratio = PyTorch time / fdl time for forward + data gradient + weight gradient "
        "(> 1: fdl is faster)\n");
  }
  std::printf("load average after: %s\n", fdl::app::load_average().c_str());
}

// "tiled,cudnn" or "all" -> the versions, in gpu_conv_versions() order; fdl::Error naming a
// word that is not one.
std::vector<std::string> parse_versions(const std::string& list) {
  const auto& known = fdl::bench::gpu_conv_versions();
  std::vector<std::string> words;
  std::stringstream in(list);
  for (std::string w; std::getline(in, w, ',');) {
    if (w == "all") return known;
    const bool ok = std::find(known.begin(), known.end(), w) != known.end();
    std::string choices;
    for (const std::string& k : known) choices += k + ", ";
    FDL_CHECK(ok, "bench conv3d: --conv '", w, "' is not one of ", choices, "all");
    words.push_back(w);
  }
  FDL_CHECK(!words.empty(), "bench conv3d: --conv names no version");
  std::vector<std::string> out;
  for (const std::string& k : known)
    if (std::find(words.begin(), words.end(), k) != words.end()) out.push_back(k);
  return out;
}

// cuDNN's entry with the same arithmetic: FFMA versions against "cudnn", TF32 ones against
// "cudnn-tf32".
std::string cudnn_peer(const std::string& v) {
  return v == "tf32" || v == "cudnn-tf32" ? "cudnn-tf32" : "cudnn";
}

void bench_conv3d_gpu(std::vector<std::string> versions, int repeat) {
  if (!fdl::bench::cudnn_in_build()) {
    const auto before = versions.size();
    std::erase_if(versions, [](const std::string& v) { return v.rfind("cudnn", 0) == 0; });
    if (versions.size() != before)
      std::printf(
          "cuDNN is not in this build (CMake found no cudnn.h and libcudnn): no cudnn versions\n");
    FDL_CHECK(!versions.empty(), "bench conv3d: no version left to time");
  }
  const auto shapes = network_shapes();
  std::printf(
      "fdl bench conv3d --device cuda: float32, N=2, median of %d runs after one warm-up, each "
      "run timed to the end of its GPU work\n",
      repeat);
  std::printf(
      "err: max relative error of y, dx, dw against the direct version (max|diff| / max|ref|); "
      "SUSPECT above 1e-4 (FFMA) or 1e-2 (TF32)\n");
  std::printf(
      "vs cuDNN: cuDNN's time / this time, against cudnn for FFMA versions and cudnn-tf32 for "
      "tf32 (> 1: fdl is faster)\n");
  std::printf("%-28s %-11s %9s %9s %9s %9s %8s %8s %9s\n", "shape", "version", "fwd ms", "dgrad ms",
              "wgrad ms", "total ms", "GFLOP/s", "vs cuDNN", "err");
  std::map<std::string, double> sums;         // version -> total seconds over the shapes
  std::map<std::string, std::string> failed;  // version -> its first error
  for (const auto& s : shapes) {
    fdl::bench::GpuConv3dBench bench(s);
    std::map<std::string, fdl::bench::GpuConv3dRun> runs;
    for (const std::string& v : versions) {
      try {
        runs[v] = bench.run(v, repeat);
      } catch (const fdl::Error& e) {  // one broken version must not hide the others
        std::printf("%-28s %-11s FAILED: %s\n", label(s).c_str(), v.c_str(), e.what());
        failed.emplace(v, e.what());
      }
    }
    for (const std::string& v : versions) {
      if (!runs.count(v)) continue;
      const fdl::bench::GpuConv3dRun& r = runs[v];
      const double total = r.times.total();
      sums[v] += total;
      const auto peer = runs.find(cudnn_peer(v));
      char ratio[16] = "-";
      if (peer != runs.end())
        std::snprintf(ratio, sizeof ratio, "%.2f", peer->second.times.total() / total);
      // Summation order alone stays far below these; above them a kernel is likely wrong.
      const bool suspect = r.max_rel_err > (cudnn_peer(v) == "cudnn" ? 1e-4 : 1e-2);
      std::printf("%-28s %-11s %9.3f %9.3f %9.3f %9.3f %8.0f %8s %9.2e%s%s%s\n", label(s).c_str(),
                  v.c_str(), 1e3 * r.times.fwd, 1e3 * r.times.dgrad, 1e3 * r.times.wgrad,
                  1e3 * total, 3 * s.flops() / total * 1e-9, ratio, r.max_rel_err,
                  suspect ? " SUSPECT" : "", r.note.empty() ? "" : "  ", r.note.c_str());
    }
    std::fflush(stdout);
  }
  std::printf("\nall shapes (one U-Net level each, forward + both gradients):\n");
  for (const std::string& v : versions) {
    if (failed.count(v)) {
      std::printf("  %-11s FAILED (%s)\n", v.c_str(), failed[v].c_str());
      continue;
    }
    const auto peer = sums.find(cudnn_peer(v));
    char ratio[16] = "-";
    if (peer != sums.end() && !failed.count(peer->first))
      std::snprintf(ratio, sizeof ratio, "%.2f", peer->second / sums[v]);
    std::printf("  %-11s %9.3f ms  vs cuDNN %s\n", v.c_str(), 1e3 * sums[v], ratio);
  }
  FDL_CHECK(failed.empty(), "bench conv3d: ", failed.size(), " version(s) failed (above)");
}

}  // namespace

namespace fdl::app {

void add_bench_conv3d(CLI::App& bench) {
  CLI::App* c = bench.add_subcommand("conv3d", "Time conv3d forward, data and weight gradients");
  static int repeat = 5;
  static bool no_torch = false, fast_nondeterministic = false;
  static std::string device = "cpu", conv;
  c->add_option("--repeat", repeat, "timed runs per pass (the median is shown)")
      ->check(in_range(1, 1000));
  c->add_flag("--no-torch", no_torch, "time fdl only (PyTorch runs when it can be imported)");
  c->add_option("--device", device, "cpu or cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  c->add_option("--conv", conv,
                "GPU versions, comma-separated: direct, tiled, tf32, cudnn, cudnn-tf32, "
                "or all (the default with --device cuda)");
  c->add_flag("--fast-nondeterministic", fast_nondeterministic,
              "GPU weight gradients reduced by atomics (not bit-reproducible)");
  c->callback([] {
    if (device == "cpu") {
      FDL_CHECK(
          conv.empty() && !fast_nondeterministic,
          "bench conv3d: --conv and --fast-nondeterministic choose GPU kernels; add --device cuda");
      bench_conv3d(repeat, peer_wanted(no_torch));
      return;
    }
    const std::vector<std::string> versions = parse_versions(conv.empty() ? "all" : conv);
    fdl::train::parse_device(device);
    fdl::set_cuda_conv_nondeterministic(fast_nondeterministic);
    bench_conv3d_gpu(versions, repeat);
  });
}

}  // namespace fdl::app
