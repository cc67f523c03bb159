#pragma once
// The PyTorch peer of `fdl bench`: tools/bench_torch.py runs as a child process and prints one
// JSON object per line. Its interpreter is $FDL_TORCH_PYTHON when set, else the first of
// `python3` (PATH; PyTorch 2.x with CUDA on the GPU machines) and /usr/bin/python3 (Debian's
// python3-torch, CPU only) that imports torch, and for GPU runs also sees a CUDA device.
#include <nlohmann/json.hpp>
#include <string>

namespace fdl::app {

// glibc settings that stop PyTorch's CPU allocations from being mmapped and page-faulted
// afresh every step; each benchmark reports PyTorch with and without them.
inline constexpr const char* kTunedMalloc =
    "GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736";

// The interpreter for the peer, empty when none qualifies. Asked only when a benchmark
// runs (importing torch takes a second or more); the answer is kept.
std::string peer_python(bool cuda = false);
// Whether to run the peer: unless --no-torch, when peer_python finds one (says so when not).
bool peer_wanted(bool no_torch, bool cuda = false);
// Runs `env PYTHON tools/bench_torch.py args` for one case and returns the JSON object it
// printed; an fdl::Error names the command when there is none.
nlohmann::json run_peer(const std::string& env, const std::string& args, bool cuda = false);
std::string load_average();

}  // namespace fdl::app
