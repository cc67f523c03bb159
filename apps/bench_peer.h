#pragma once
// The PyTorch peer of `fdl bench`: tools/bench_torch.py runs as a child process (Debian's
// /usr/bin/python3 with python3-torch) and prints one JSON object per line.
#include <nlohmann/json.hpp>
#include <string>

namespace fdl::app {

// glibc settings that stop PyTorch's CPU allocations from being mmapped and page-faulted
// afresh every step; each benchmark reports PyTorch with and without them.
inline constexpr const char* kTunedMalloc =
    "GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736";

// Whether to run the peer: unless --no-torch, when /usr/bin/python3 can import torch (says
// so when it cannot). Asked only when a benchmark runs: the import takes a second or more.
bool peer_wanted(bool no_torch);
// Runs `env /usr/bin/python3 tools/bench_torch.py args` for one case and returns the JSON
// object it printed; an fdl::Error names the command when there is none.
nlohmann::json run_peer(const std::string& env, const std::string& args);
std::string load_average();

}  // namespace fdl::app
