#include "merc/app/default_dataset.h"

#include <cstdlib>
#include <string>
#include <system_error>

#include "merc/core/error.h"

namespace merc::app {

namespace {
constexpr const char* kDefaultFile = "mosi.safetensors";

std::filesystem::path executable_dir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : exe.parent_path();
}
}  // namespace

std::vector<std::filesystem::path> default_dataset_candidates() {
  std::vector<std::filesystem::path> out;
  if (const char* env = std::getenv("MERC_DEFAULT_DATASET"); env && *env) out.emplace_back(env);
  const auto exe_dir = executable_dir();
  if (!exe_dir.empty()) {
    out.push_back(exe_dir / ".." / "share" / "merc" / kDefaultFile);
    out.push_back(exe_dir / ".." / "data" / kDefaultFile);
  }
  out.push_back(std::filesystem::path(MERC_SOURCE_DIR) / "data" / kDefaultFile);
  return out;
}

std::filesystem::path default_dataset_path() {
  std::string tried;
  for (const auto& p : default_dataset_candidates()) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(p, ec)) return p.lexically_normal();
    tried += "\n  " + p.string();
  }
  throw Error("the embedded default dataset was not found; looked in:" + tried +
              "\n(set MERC_DEFAULT_DATASET or pass a dataset path)");
}

}  // namespace merc::app
