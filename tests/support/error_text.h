#pragma once
// The message of the merc::Error that `f` throws ("" when it throws none), for tests that check
// what an error says.

#include <functional>
#include <string>

#include "merc/core/error.h"

namespace merc::testing_support {

inline std::string error_text(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace merc::testing_support
