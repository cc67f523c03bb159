#include "tests/support.h"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "engine/autograd.h"
#include "tests/listener.h"

namespace fdl::test {

Tensor randn(const Shape& s, uint64_t seed, DType t) {
  Generator g(seed);
  return rand_normal(s, g, t);
}

namespace {
double weighted_sum(const Tensor& out, const std::vector<double>& r) {
  const std::vector<double> v = out.to_vector();
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) s += v[i] * r[i];
  return s;
}

double& element(Tensor& t, int64_t i) { return t.data<double>()[i]; }
}  // namespace

void gradcheck(const OpFn& fn, std::vector<Tensor> inputs, double eps, double rtol, double atol) {
  for (Tensor& t : inputs) {
    if (t.dtype() == DType::I32) continue;
    REQUIRE_MESSAGE(t.dtype() == DType::F64, "gradcheck wants float64 inputs");
    t.set_requires_grad(true);
    t.set_grad(Tensor());
  }
  const Tensor out = fn(inputs);
  const Tensor r = randn(out.shape(), 12345);
  const std::vector<double> rv = r.to_vector();
  out.backward(r);

  autograd::NoGrad no_grad;
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor& x = inputs[k];
    if (x.dtype() == DType::I32) continue;
    REQUIRE_MESSAGE(x.grad().defined(), "input ", k, " received no gradient");
    const std::vector<double> analytic = x.grad().to_vector();
    double worst = 0;
    int64_t worst_i = 0;
    double worst_a = 0, worst_n = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double x0 = element(x, i);
      element(x, i) = x0 + eps;
      const double fp = weighted_sum(fn(inputs), rv);
      element(x, i) = x0 - eps;
      const double fm = weighted_sum(fn(inputs), rv);
      element(x, i) = x0;
      const double numeric = (fp - fm) / (2 * eps);
      const double v = std::abs(analytic[size_t(i)] - numeric) - rtol * std::abs(numeric);
      if (v > worst) worst = v, worst_i = i, worst_a = analytic[size_t(i)], worst_n = numeric;
    }
    CHECK_MESSAGE(worst <= atol, "input ", k, " element ", worst_i, ": analytic ", worst_a,
                  " vs numeric ", worst_n);
  }
}

double max_violation(const Tensor& got, const Tensor& want, double rtol) {
  const std::vector<double> a = got.to_vector(), b = want.to_vector();
  double worst = -INFINITY;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::abs(a[i] - b[i]);
    worst = std::max(worst, std::isnan(d) ? INFINITY : d - rtol * std::abs(b[i]));
  }
  return worst;
}

void check_close(const Tensor& got, const Tensor& want, double rtol, double atol,
                 const std::string& what) {
  REQUIRE_MESSAGE(got.shape() == want.shape(), what, ": shape ", got.shape().str(), " vs ",
                  want.shape().str());
  const double v = max_violation(got, want, rtol);
  CHECK_MESSAGE(v <= atol, what, ": max |got - want| - rtol|want| = ", v, " > atol ", atol);
}

Agreement agreement(const Tensor& got, const Tensor& want) {
  FDL_CHECK(got.shape() == want.shape(), "agreement: shape ", got.shape().str(), " vs ",
            want.shape().str());
  const std::vector<double> a = got.to_vector(), b = want.to_vector();
  Agreement r;
  double diff2 = 0, ref2 = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isfinite(b[i]) && std::isfinite(a[i])) {
      diff2 += (a[i] - b[i]) * (a[i] - b[i]);
      ref2 += b[i] * b[i];
      continue;
    }
    const bool same = std::isnan(a[i]) ? std::isnan(b[i]) : a[i] == b[i];  // NaN, or one Inf
    if (!same && r.bad_elements++ == 0) r.first_bad = int64_t(i);
  }
  r.rel_error = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
  return r;
}

uint64_t fresh_seed() {
  if (const char* e = std::getenv("FDL_TEST_SEED")) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(e, &end, 10);
    FDL_CHECK(*e >= '0' && *e <= '9' && *end == '\0' && errno == 0,
              "FDL_TEST_SEED must be a whole number, got '", e, "'");
    return v;
  }
  std::random_device rd;
  return (uint64_t(rd()) << 32) ^ rd();
}

namespace {

// This process's scratch roots, removed when its run ends with every test passed; a failed
// run keeps them for a look (FDL_TEST_KEEP=1 keeps them always).
std::set<std::filesystem::path>& scratch_roots() {
  static std::set<std::filesystem::path> roots;
  return roots;
}

struct ScratchCleaner : Listener {
  explicit ScratchCleaner(const doctest::ContextOptions&) {}
  void test_run_end(const doctest::TestRunStats& s) override {
    const char* keep = std::getenv("FDL_TEST_KEEP");
    if (s.numTestCasesFailed > 0 || s.numAssertsFailed > 0 || (keep && std::string(keep) == "1"))
      return;
    std::error_code ec;  // best effort: a leftover directory is no test failure
    for (const auto& root : scratch_roots()) std::filesystem::remove_all(root, ec);
  }
};

}  // namespace

std::filesystem::path scratch_dir(const std::string& suite, const std::string& name,
                                  std::initializer_list<const char*> subdirs) {
  namespace fs = std::filesystem;
  const fs::path root =
      fs::temp_directory_path() / ("fdl_test_" + suite + "_" + std::to_string(::getpid()));
  scratch_roots().insert(root);
  const fs::path d = root / name;
  fs::remove_all(d);
  fs::create_directories(d);
  for (const char* s : subdirs) fs::create_directories(d / s);
  return d;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

int run_fdl(const std::string& args, const std::filesystem::path& log) {
#ifdef FDL_BINARY
  const std::string cmd = "OMP_WAIT_POLICY=passive " + std::string(FDL_BINARY) + " " + args +
                          " > '" + log.string() + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
#else
  FAIL("run_fdl: this test binary was built without FDL_BINARY (", args, ", ", log.string(), ")");
  return -1;
#endif
}

int spawn_fdl(const std::string& args) {
#ifdef FDL_BINARY
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::setenv("OMP_WAIT_POLICY", "passive", 1);
    const std::string cmd = "exec " + std::string(FDL_BINARY) + " " + args;
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
#else
  FAIL("spawn_fdl: this test binary was built without FDL_BINARY (", args, ")");
  return -1;
#endif
}

std::map<std::string, std::string> snapshot(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string rel = e.path().lexically_relative(dir).string();
    std::error_code ec;  // a symlink loop or a dangling symlink is recorded by its target
    if (e.is_symlink(ec)) out[rel] = "symlink to " + fs::read_symlink(e.path(), ec).string() + "\n";
    if (e.is_regular_file(ec)) out[rel] += slurp(e.path());
  }
  return out;
}

bool can_drop_read_override() {
  if (::geteuid() != 0) return true;
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct caps[2] = {};
  if (::syscall(SYS_capget, &header, caps) != 0) return false;
  return caps[CAP_SETPCAP / 32].effective & (1u << (CAP_SETPCAP % 32));
}

int run_fdl_without_read_override(const std::string& args, const std::filesystem::path& log) {
#ifdef FDL_BINARY
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) ::_exit(126);
    ::dup2(out, 1);
    ::dup2(out, 2);
    // Out of the bounding set, root's exec'ed programs do not get them back.
    if (::geteuid() == 0 && (::prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0) != 0 ||
                             ::prctl(PR_CAPBSET_DROP, CAP_DAC_READ_SEARCH, 0, 0, 0) != 0))
      ::_exit(125);
    ::setenv("OMP_WAIT_POLICY", "passive", 1);
    const std::string cmd = "exec " + std::string(FDL_BINARY) + " " + args;
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
#else
  (void)log;
  FAIL("run_fdl_without_read_override: this test binary was built without FDL_BINARY (", args, ")");
  return -1;
#endif
}

FullDisk::FullDisk(const std::string& suite, const std::string& name)
    : root_(scratch_dir(suite, name)), dir_(root_ / "disk") {
  std::filesystem::create_directories(dir_);
  mounted_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=16m") == 0;
}

FullDisk::~FullDisk() {
  if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
}

FullDisk::Limit::Limit(const FullDisk& disk, size_t bytes) {
  if (!disk.mounted_) {
    rlimit cap{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &cap) == 0);
    saved_cap_ = cap.rlim_cur;
    cap.rlim_cur = rlim_t(bytes);
    const bool ignored =
        ::signal(SIGXFSZ, SIG_IGN) != SIG_ERR;  // a write past the cap fails, not kills
    REQUIRE(ignored);
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &cap) == 0);
    capped_ = true;
    return;
  }
  struct statvfs vfs;
  REQUIRE(::statvfs(disk.dir_.c_str(), &vfs) == 0);
  const size_t free = size_t(vfs.f_bavail) * vfs.f_frsize;
  REQUIRE(free > bytes);
  filler_ = disk.dir_ / "filler";
  const int fd = ::open(filler_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  const bool filled = ::posix_fallocate(fd, 0, off_t(free - bytes)) == 0;
  ::close(fd);
  REQUIRE(filled);
}

FullDisk::Limit::~Limit() {
  if (capped_) {
    rlimit cap{};
    ::getrlimit(RLIMIT_FSIZE, &cap);
    cap.rlim_cur = rlim_t(saved_cap_);
    ::setrlimit(RLIMIT_FSIZE, &cap);
    ::signal(SIGXFSZ, SIG_DFL);
  }
  if (!filler_.empty()) std::filesystem::remove(filler_);
}

std::filesystem::path sample_dataset(const std::filesystem::path& dir) {
  std::filesystem::copy(std::filesystem::path(FDL_DATA_DIR) / "sample", dir,
                        std::filesystem::copy_options::recursive);
  return dir;
}

io::TensorMap fixture(const std::string& name) {
  return io::load_safetensors(std::string(FDL_FIXTURES_DIR) + "/" + name + ".safetensors").tensors;
}

const Tensor& at(const io::TensorMap& m, const std::string& key) {
  auto it = m.find(key);
  REQUIRE_MESSAGE(it != m.end(), "fixture has no tensor '", key, "'");
  return it->second;
}

}  // namespace fdl::test

REGISTER_LISTENER("scratch-cleaner", 2, fdl::test::ScratchCleaner);
