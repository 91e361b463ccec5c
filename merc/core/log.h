#pragma once
// Logging goes through spdlog's default logger (stderr). Programs set the level once; the library
// logs progress at info and recoverable data defects at warn.

#include <spdlog/spdlog.h>

namespace merc {

enum class LogLevel { kQuiet, kWarn, kInfo, kDebug };
void set_log_level(LogLevel level);

}  // namespace merc
