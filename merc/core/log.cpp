#include "merc/core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace merc {

void set_log_level(LogLevel level) {
  static const bool once = [] {
    auto logger = spdlog::stderr_color_mt("merc");
    logger->set_pattern("[%H:%M:%S] %^%l%$ %v");
    spdlog::set_default_logger(logger);
    return true;
  }();
  (void)once;
  switch (level) {
    case LogLevel::kQuiet: spdlog::set_level(spdlog::level::err); break;
    case LogLevel::kWarn: spdlog::set_level(spdlog::level::warn); break;
    case LogLevel::kInfo: spdlog::set_level(spdlog::level::info); break;
    case LogLevel::kDebug: spdlog::set_level(spdlog::level::debug); break;
  }
}

}  // namespace merc
