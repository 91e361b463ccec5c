#include "merc/app/cli.h"

#include <iostream>

#include <CLI/CLI.hpp>

#include "merc/core/error.h"
#include "merc/version.h"

namespace merc::app {

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CLI::App app{"merc: multimodal emotion recognition in conversation"};
  app.set_version_flag("--version", std::string("merc ") + MERC_VERSION);
  app.require_subcommand(0, 1);
  std::vector<std::string> rev(args.rbegin(), args.rend());
  try {
    app.parse(rev);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return 0;
  } catch (const CLI::CallForVersion&) {
    out << "merc " << MERC_VERSION << "\n";
    return 0;
  } catch (const CLI::ParseError& e) {
    err << "merc: " << e.what() << "\n";
    return 2;
  }
  try {
    if (app.get_subcommands().empty()) out << app.help();
  } catch (const merc::Error& e) {
    err << "merc: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

int run_cli(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return run_cli(args, std::cout, std::cerr);
}

}  // namespace merc::app
