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

}  // namespace fdl::app
