#include "apps/command.h"

#include <algorithm>

namespace fdl::app {

std::vector<Command>& commands() {
  static std::vector<Command> all;
  return all;
}

bool add_command(std::string name, std::string help, std::function<void(CLI::App&)> setup) {
  commands().push_back({std::move(name), std::move(help), std::move(setup)});
  return true;
}

void add_commands(CLI::App& app) {
  app.require_subcommand(1);
  auto& cmds = commands();
  std::sort(cmds.begin(), cmds.end(), [](auto& a, auto& b) { return a.name < b.name; });
  for (auto& c : cmds) c.setup(*app.add_subcommand(c.name, c.help));
}

}  // namespace fdl::app
