#pragma once
// Subcommands register themselves here, one file each (apps/<name>.cpp):
//   static const bool registered = fdl::app::add_command("bench", "Time kernels",
//       [](CLI::App& cmd) { ...options...; cmd.callback([&] { ... }); });
#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace fdl::app {

struct Command {
  std::string name, help;
  std::function<void(CLI::App&)> setup;
};

std::vector<Command>& commands();
bool add_command(std::string name, std::string help, std::function<void(CLI::App&)> setup);
// Adds every registered command to `app` as a subcommand (sorted by name) and requires one.
void add_commands(CLI::App& app);

// --overwrite: the one flag that lets a command write into a directory holding files fdl did not
// write (engine/io/output_dir.h).
inline void add_overwrite_option(CLI::App& cmd, bool& overwrite) {
  cmd.add_flag("--overwrite", overwrite,
               "Write into an output directory that holds files fdl did not write "
               "(an output replaces a file of its name; the others stay). A directory that is, "
               "lies inside or "
               "contains an input is refused even so");
}

// --allow-outside-paths: the one flag that lets a dataset use files outside its directory
// (engine/data/dataset_files.h); `check`, `train` and `study` take it.
inline void add_allow_outside_paths_option(CLI::App& cmd, bool& allow) {
  cmd.add_flag("--allow-outside-paths", allow,
               "Accept dataset files that resolve outside the dataset directory "
               "(../ or absolute paths in dataset.json, symlinks to elsewhere); they are refused "
               "by default");
}

// The check of a numeric option: each value must be a number of type T (a whole number for an
// integer T, never NaN or Inf) in [lo, hi], or in (lo, hi] with `lo_open`. It runs while the
// command line is parsed, so a bad value stops the command before it reads or writes anything;
// main() prints the error as `fdl: error: --flag: ...` and exits 1.
template <class T>
CLI::Validator in_range(T lo, T hi, bool lo_open = false) {
  std::ostringstream interval;
  interval << (lo_open ? "(" : "[") << lo << ", " << hi << "]";
  return CLI::Validator(
      [=, shown = interval.str()](std::string& word) -> std::string {
        T v{};
        const char* end = word.data() + word.size();
        const auto r = std::from_chars(word.data(), end, v);
        if (r.ec != std::errc() || r.ptr != end || !std::isfinite(double(v)))
          return "'" + word + "' is not " +
                 (std::is_floating_point_v<T> ? "a finite number"
                  : std::is_unsigned_v<T>     ? "a non-negative whole number"
                                              : "a whole number");
        if ((lo_open ? !(v > lo) : !(v >= lo)) || v > hi) return word + " is outside " + shown;
        return {};
      },
      "in " + interval.str());
}

}  // namespace fdl::app
