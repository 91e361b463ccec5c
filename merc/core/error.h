#pragma once
// Errors. Everything merc throws is a merc::Error (a std::runtime_error) so programs can catch one
// type and print its message. Problems with an input file are merc::FormatError, whose message
// always starts with the file's path: "path/to/file.pkl: byte 1234: forbidden global os.system".

#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>  // MERC_CHECK messages format tensor shapes (IntArrayRef) as ranges

namespace merc {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad input data: corrupt, truncated, hostile or inconsistent files. `path` names the file (or
// directory) and `what` says what was wrong with it.
class FormatError : public Error {
 public:
  FormatError(std::string path, std::string what);
  const std::string& path() const { return path_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string path_;
  std::string problem_;
};

// A name that is not in a registry; the message lists the valid names.
class UnknownNameError : public Error {
 public:
  using Error::Error;
};

[[noreturn]] void throw_format_error(const std::string& path, const std::string& what);

// fmt-style convenience: MERC_FORMAT_ERROR(path, "expected {} columns, got {}", a, b).
#define MERC_FORMAT_ERROR(path, ...) ::merc::throw_format_error((path), ::fmt::format(__VA_ARGS__))

// Internal invariant / argument check that names what was expected and what arrived.
#define MERC_CHECK(cond, ...)                                                        \
  do {                                                                               \
    if (!(cond)) throw ::merc::Error(::fmt::format(__VA_ARGS__));                   \
  } while (0)

}  // namespace merc
