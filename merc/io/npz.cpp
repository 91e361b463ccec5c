#include "merc/io/npz.h"

#include "merc/core/error.h"
#include "merc/io/npy.h"
#include "merc/io/zip.h"

namespace merc::io {
namespace npz_internal {
namespace {

constexpr std::string_view kSuffix = ".npy";

bool is_array_member(const std::string& name) {
  return name.size() > kSuffix.size() && name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0;
}
std::string strip_suffix(const std::string& name) { return name.substr(0, name.size() - kSuffix.size()); }

NdArray parse_member(const ZipArchive& zip, const ZipEntry& e) {
  // The member's own name goes into the source so an error says which array was bad.
  return parse_npy(zip.read(e), zip.source() + "[" + e.name + "]");
}

}  // namespace
}  // namespace npz_internal

std::vector<std::string> npz_member_names(const std::string& path) {
  using namespace npz_internal;
  const ZipArchive zip = ZipArchive::open(path);
  std::vector<std::string> names;
  for (const auto& e : zip.entries())
    if (is_array_member(e.name)) names.push_back(strip_suffix(e.name));
  return names;
}

std::map<std::string, NdArray> read_npz_file(const std::string& path) {
  using namespace npz_internal;
  const ZipArchive zip = ZipArchive::open(path);
  std::map<std::string, NdArray> out;
  for (const auto& e : zip.entries())
    if (is_array_member(e.name)) out.emplace(strip_suffix(e.name), parse_member(zip, e));
  return out;
}

NdArray read_npz_member(const std::string& path, const std::string& name) {
  using namespace npz_internal;
  const ZipArchive zip = ZipArchive::open(path);
  const std::string full = is_array_member(name) ? name : name + std::string(kSuffix);
  if (const ZipEntry* e = zip.find(full)) return parse_member(zip, *e);
  std::string valid;
  for (const auto& e : zip.entries())
    if (is_array_member(e.name)) valid += (valid.empty() ? "" : ", ") + strip_suffix(e.name);
  MERC_FORMAT_ERROR(path, "no array '{}' in the archive (arrays: {})", name, valid.empty() ? "none" : valid);
}

}  // namespace merc::io
