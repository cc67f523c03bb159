#include "apps/bench_peer.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <vector>

#include "kernels/common/error.h"

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

std::string peer_python(bool cuda) {
  static std::map<bool, std::string> found;
  if (const auto it = found.find(cuda); it != found.end()) return it->second;
  const std::string test =
      cuda ? "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" : "import torch";
  std::vector<std::string> candidates{"python3", "/usr/bin/python3"};
  if (const char* e = std::getenv("FDL_TORCH_PYTHON"); e && *e) candidates = {e};
  std::string& out = found[cuda];
  for (const std::string& py : candidates)
    if (std::system(("'" + py + "' -c '" + test + "' >/dev/null 2>&1").c_str()) == 0)
      return out = py;
  return out;
}

bool peer_wanted(bool no_torch, bool cuda) {
  if (no_torch) return false;
  if (!peer_python(cuda).empty()) return true;
  const char* e = std::getenv("FDL_TORCH_PYTHON");
  std::printf("PyTorch%s not found (%s cannot import torch%s): timing fdl only\n",
              cuda ? " with CUDA" : "",
              e && *e ? "$FDL_TORCH_PYTHON" : "neither python3 nor /usr/bin/python3",
              cuda ? " and see a GPU" : "");
  return false;
}

nlohmann::json run_peer(const std::string& env, const std::string& args, bool cuda) {
  const std::string py = peer_python(cuda);
  FDL_CHECK(!py.empty(), "bench: no python with PyTorch", cuda ? " and CUDA" : "", " for the peer");
  const std::string cmd = env + " '" + py + "' " + peer_script() + " " + args;
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
