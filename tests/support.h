#pragma once
// Shared test helpers: finite-difference gradient checks, closeness checks, fixtures.
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"
#include "engine/random.h"
#include "engine/tensor.h"

namespace fdl::test {

// A random float64 tensor, normal(0, 1), from a fixed seed.
Tensor randn(const Shape& s, uint64_t seed, DType t = DType::F64);

// Checks the autograd gradients of fn at `inputs` against central finite differences of
// the scalar <fn(inputs), R> for a fixed random R. Float inputs are used as given (pass
// float64 for a meaningful check); int32 inputs are passed through untouched. The check is
// |analytic - numeric| <= atol + rtol * |numeric| for every element of every float input.
using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;
void gradcheck(const OpFn& fn, std::vector<Tensor> inputs, double eps = 1e-6, double rtol = 1e-5,
               double atol = 1e-7);

// The largest |got - want| - rtol * |want| over all elements (<= atol means close).
double max_violation(const Tensor& got, const Tensor& want, double rtol);
// CHECKs shape equality and element-wise closeness; `what` names the comparison.
void check_close(const Tensor& got, const Tensor& want, double rtol, double atol,
                 const std::string& what);

// How a result agrees with its reference, as the GPU-vs-CPU tests judge it: the normwise
// relative error ||got - want|| / ||want|| (2-norms over the elements where want is finite;
// the absolute error when that norm is 0), and the elements that are finite on one side only
// or non-finite in different ways (NaN vs Inf): an element an op never wrote shows up as the
// NaN the debug allocator poisons blocks with. Shapes must match (fdl::Error otherwise).
struct Agreement {
  double rel_error = 0;
  int64_t bad_elements = 0;  // finiteness differs
  int64_t first_bad = -1;    // the flat index of the first, or -1
};
Agreement agreement(const Tensor& got, const Tensor& want);

// The seed for fresh random test inputs: FDL_TEST_SEED when set (to reproduce a failure;
// fdl::Error if it is not a whole number), else a new one from std::random_device.
uint64_t fresh_seed();

// A fresh, empty directory <tmp>/fdl_test_<suite>_<pid>/<name>, removed at the end of a test
// run in which every test passed (kept after a failure, or always with FDL_TEST_KEEP=1).
// With `subdirs`, those are created inside it too (imagesTr, labelsTr, ...).
std::filesystem::path scratch_dir(const std::string& suite, const std::string& name,
                                  std::initializer_list<const char*> subdirs = {});
std::string slurp(const std::filesystem::path& p);  // a whole file; empty if unreadable
// Runs the fdl binary with `args` (shell words), its output going to `log`, and returns its
// exit status (-1 when it did not exit normally). OpenMP waits passively: CTest runs tests
// side by side.
int run_fdl(const std::string& args, const std::filesystem::path& log);
// Starts the fdl binary with `args` (shell words) in the background, its output discarded,
// OpenMP waiting passively; returns its pid, for the caller to kill and reap.
int spawn_fdl(const std::string& args);
// Every file under `dir`, by its path relative to `dir`, with its bytes (a symlink with its
// target, and the bytes it leads to): two snapshots are equal when no file was added, removed
// or changed.
std::map<std::string, std::string> snapshot(const std::filesystem::path& dir);
// run_fdl in a process without root's right to read any file (CAP_DAC_OVERRIDE and
// CAP_DAC_READ_SEARCH, dropped from its bounding set before exec), so that a chmod 000 file is
// unreadable to it even when the tests run as root; can_drop_read_override says whether this
// process can do that (any user but root can: chmod 000 binds it anyway).
bool can_drop_read_override();
int run_fdl_without_read_override(const std::string& args, const std::filesystem::path& log);

// A directory where a write fails as on a full disk. As root it is a 16 MiB tmpfs, and a
// Limit takes all but `bytes` of its free space, so writes fail with ENOSPC. Without the
// right to mount it is an ordinary directory, and a Limit caps every file this process and
// the processes it starts write at `bytes` (RLIMIT_FSIZE), so writes fail with EFBIG.
class FullDisk {
 public:
  FullDisk(const std::string& suite, const std::string& name);
  ~FullDisk();
  FullDisk(const FullDisk&) = delete;
  FullDisk& operator=(const FullDisk&) = delete;
  const std::filesystem::path& dir() const { return dir_; }
  const char* errno_name() const { return mounted_ ? "ENOSPC" : "EFBIG"; }

  class Limit {
   public:
    ~Limit();
    Limit(const Limit&) = delete;
    Limit& operator=(const Limit&) = delete;

   private:
    friend class FullDisk;
    Limit(const FullDisk& disk, size_t bytes);
    std::filesystem::path filler_;  // tmpfs: the file that takes the space
    bool capped_ = false;           // otherwise: RLIMIT_FSIZE set, SIGXFSZ ignored
    uint64_t saved_cap_ = 0;        // the RLIMIT_FSIZE it replaced
  };
  // While it lives, a write of more than about `bytes` under dir() fails.
  Limit limit(size_t bytes) const { return Limit(*this, bytes); }

 private:
  std::filesystem::path root_, dir_;
  bool mounted_ = false;
};

// A copy at `dir` of the committed sample dataset, data/sample/ (6 phantom cases of 32x32x16,
// MSD layout; `fdl phantoms` with the options in data/sample.args), for a test to read and
// change: no test writes into data/. `dir` may exist if it is empty. Returns `dir`.
std::filesystem::path sample_dataset(const std::filesystem::path& dir);

// tests/fixtures/<name>.safetensors, made by tools/make_fixtures.py.
io::TensorMap fixture(const std::string& name);
const Tensor& at(const io::TensorMap& m, const std::string& key);

}  // namespace fdl::test
