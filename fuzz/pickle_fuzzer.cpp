// libFuzzer target for the safe pickle reader: any input must either parse or throw merc::Error;
// crashes, sanitizer reports, leaks, hangs and other exception types are bugs. The parsed tree is
// also rendered and queried, since readers call repr / get / key_to_string on hostile data too.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "merc/core/error.h"
#include "merc/io/pickle.h"

namespace {

void exercise(const merc::io::PyValue& v) {
  (void)v.repr(300);
  (void)v.type_name();
  if (v.is_dict() && v.size() > 0) {
    const auto& first = *v.dict_items().front().first;
    (void)v.get(first);
    try {
      (void)merc::io::key_to_string(first);
    } catch (const merc::Error&) {
    }
  }
  if (v.is_collection() && v.size() > 0) (void)v.items().front()->equals(*v.items().back());
  if (v.is_array() && v.as_array().dtype != merc::io::DType::kObject && v.as_array().numel() > 0)
    (void)v.as_array().get_double(v.as_array().numel() - 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto root = merc::io::parse_pickle(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz-input");
    exercise(*root);
  } catch (const merc::Error&) {
    // Rejected input: the expected outcome for most mutations.
  }
  return 0;
}
