#include "apps/bench_peer.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "engine/error.h"

namespace fdl::app {

namespace {
// tools/bench_torch.py of the source tree: beside the build directory, or under cwd.
std::string peer_script() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  for (const fs::path& root : {exe.parent_path().parent_path(), fs::current_path()}) {
    const fs::path p = root / "tools" / "bench_torch.py";
    if (fs::exists(p)) return p.string();
  }
  throw Error("bench: tools/bench_torch.py not found beside the build or in the working directory");
}
}  // namespace

bool peer_wanted(bool no_torch) {
  if (no_torch) return false;
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0) return true;
  std::printf("PyTorch not found (/usr/bin/python3 cannot import torch): timing fdl only\n");
  return false;
}

nlohmann::json run_peer(const std::string& env, const std::string& args) {
  const std::string cmd = env + " /usr/bin/python3 " + peer_script() + " " + args;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  FDL_CHECK(pipe, "bench: cannot run ", cmd);
  std::array<char, 4096> line;
  while (std::fgets(line.data(), int(line.size()), pipe.get())) {
    const auto j = nlohmann::json::parse(line.data(), nullptr, false);
    if (!j.is_discarded() && j.is_object()) return j;
  }
  throw Error("bench: PyTorch gave no result (command: " + cmd + ")");
}

std::string load_average() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (!f) return "?";
  char b[64] = {};
  const bool ok = std::fgets(b, sizeof b, f) != nullptr;
  std::fclose(f);
  std::string s = ok ? b : "?";
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

}  // namespace fdl::app
