#include "merc/core/error.h"

#include <utility>

namespace merc {

FormatError::FormatError(std::string path, std::string what)
    : Error(path + ": " + what), path_(std::move(path)), problem_(std::move(what)) {}

void throw_format_error(const std::string& path, const std::string& what) {
  throw FormatError(path, what);
}

}  // namespace merc
