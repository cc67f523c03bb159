// fdl: one binary, one subcommand per task. Errors reach the user as one line naming the
// file or argument at fault, with a non-zero exit.
#include <algorithm>
#include <cstdio>

#include "apps/command.h"
#include "engine/error.h"
#include "engine/memory_limit.h"

namespace fdl::app {

std::vector<Command>& commands() {
  static std::vector<Command> all;
  return all;
}

bool add_command(std::string name, std::string help, std::function<void(CLI::App&)> setup) {
  commands().push_back({std::move(name), std::move(help), std::move(setup)});
  return true;
}

}  // namespace fdl::app

int main(int argc, char** argv) {
  CLI::App app{"fdl: frequency disentangled learning for 3D medical image segmentation"};
  app.require_subcommand(1);
  app.fallthrough();  // --max-memory also after the subcommand
  app.add_option_function<std::string>(
         "--max-memory",
         [](const std::string& s) {
           fdl::set_memory_ceiling(fdl::parse_byte_size(s, "--max-memory"));
         },
         "The most memory one input (a volume, a weight file, a training batch) may claim, e.g. 8G "
         "(default: FDL_MAX_MEMORY, else half the physical memory); larger claims are errors")
      ->trigger_on_parse();
  auto& cmds = fdl::app::commands();
  std::sort(cmds.begin(), cmds.end(), [](auto& a, auto& b) { return a.name < b.name; });
  for (auto& c : cmds) c.setup(*app.add_subcommand(c.name, c.help));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const fdl::Error& e) {
    std::fprintf(stderr, "fdl: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fdl: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
