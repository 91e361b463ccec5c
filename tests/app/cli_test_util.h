#pragma once
// `merc` through run_cli, in-process, with its exit code and both output streams: shared by the
// CLI command tests.

#include <sstream>
#include <string>
#include <vector>

#include "merc/app/cli.h"

namespace merc::app::testing {

struct CliResult {
  int code;
  std::string out, err;
};

inline CliResult cli(std::vector<std::string> args) {
  std::ostringstream out, err;
  const int code = run_cli(args, out, err);
  return {code, out.str(), err.str()};
}

}  // namespace merc::app::testing
