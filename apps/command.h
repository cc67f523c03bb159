#pragma once
// Subcommands register themselves here, one file each (apps/<name>.cpp):
//   static const bool registered = fdl::app::add_command("bench", "Time kernels",
//       [](CLI::App& cmd) { ...options...; cmd.callback([&] { ... }); });
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
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
  cmd.add_flag("--overwrite", overwrite, "Write into an output directory that holds files fdl did not write "
               "(an output replaces a file of its name; the others stay). A directory that is, lies inside or "
               "contains an input is refused even so");
}

}  // namespace fdl::app
