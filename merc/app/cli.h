#pragma once
// The `merc` command line as a library function, so every path is testable in-process.

#include <iosfwd>
#include <string>
#include <vector>

namespace merc::app {

// Runs the CLI with argv; returns the process exit code (0 ok, 1 error, 2 usage).
int run_cli(int argc, char** argv);
// Same with explicit output streams, for tests.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace merc::app
