#include "merc/io/safetensors.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "merc/core/error.h"

namespace merc::io {
namespace safetensors_internal {
namespace {

using nlohmann::json;
constexpr std::string_view kMetadataKey = "__metadata__";

struct DTypeRow { StDType dtype; const char* name; int64_t size; };
constexpr DTypeRow kDTypes[] = {
    {StDType::kBool, "BOOL", 1}, {StDType::kU8, "U8", 1},    {StDType::kI8, "I8", 1},
    {StDType::kF8E5M2, "F8_E5M2", 1}, {StDType::kF8E4M3, "F8_E4M3", 1},
    {StDType::kI16, "I16", 2},   {StDType::kU16, "U16", 2},  {StDType::kF16, "F16", 2},
    {StDType::kBF16, "BF16", 2}, {StDType::kI32, "I32", 4},  {StDType::kU32, "U32", 4},
    {StDType::kF32, "F32", 4},   {StDType::kF64, "F64", 8},  {StDType::kI64, "I64", 8},
    {StDType::kU64, "U64", 8},
};

// numel * itemsize with overflow detection; nullopt on overflow.
std::optional<uint64_t> checked_nbytes(const std::vector<int64_t>& shape, int64_t itemsize) {
  uint64_t n = static_cast<uint64_t>(itemsize);
  for (int64_t d : shape) {
    const auto ud = static_cast<uint64_t>(d);
    if (ud != 0 && n > std::numeric_limits<uint64_t>::max() / ud) return std::nullopt;
    n *= ud;
  }
  return n;
}

std::string join_shape(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Parses header JSON strictly; rejects duplicate keys at any depth (nlohmann would keep the last).
json parse_header_json(std::string_view text, const std::string& source, uint64_t base) {
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  auto on_event = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) open_objects.emplace_back();
    else if (event == json::parse_event_t::object_end && !open_objects.empty()) open_objects.pop_back();
    else if (event == json::parse_event_t::key && !open_objects.empty() &&
             !open_objects.back().insert(parsed.get<std::string>()).second && duplicate.empty())
      duplicate = parsed.get<std::string>();
    return true;
  };
  json j;
  try {
    j = json::parse(text.begin(), text.end(), on_event, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const json::exception& e) {
    MERC_FORMAT_ERROR(source, "byte {}: header is not valid JSON: {}", base, e.what());
  }
  if (!duplicate.empty()) MERC_FORMAT_ERROR(source, "byte {}: header has the key '{}' twice", base, duplicate);
  return j;
}

int64_t json_dim(const json& v, const std::string& source, const std::string& name, const char* field) {
  if (!v.is_number_unsigned() || v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    MERC_FORMAT_ERROR(source, "tensor '{}': {} entries must be non-negative integers, got {}", name, field, v.dump());
  return static_cast<int64_t>(v.get<uint64_t>());
}

struct RawEntry {
  TensorView view;
  uint64_t begin = 0, end = 0;
};

}  // namespace
}  // namespace safetensors_internal

const char* st_dtype_name(StDType dtype) {
  for (const auto& r : safetensors_internal::kDTypes)
    if (r.dtype == dtype) return r.name;
  return "?";
}

std::optional<StDType> parse_st_dtype(std::string_view name) {
  for (const auto& r : safetensors_internal::kDTypes)
    if (name == r.name) return r.dtype;
  return std::nullopt;
}

int64_t st_dtype_size(StDType dtype) {
  for (const auto& r : safetensors_internal::kDTypes)
    if (r.dtype == dtype) return r.size;
  return 1;
}

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string TensorView::shape_string() const { return safetensors_internal::join_shape(shape); }

SafetensorsFile SafetensorsFile::open(const std::string& path) { return parse(FileBytes::open(path), path); }

SafetensorsFile SafetensorsFile::parse(std::shared_ptr<const FileBytes> bytes, const std::string& source) {
  using namespace safetensors_internal;
  SafetensorsFile f;
  f.source_ = source;
  f.bytes_ = std::move(bytes);
  const uint8_t* base = f.bytes_->data();
  const uint64_t size = f.bytes_->size();

  // 1. Header length and bounds.
  if (size < 8) MERC_FORMAT_ERROR(source, "file is {} bytes, too short for the 8-byte header length", size);
  const uint64_t n = load_u64le(base);
  if (n > kMaxSafetensorsHeader)
    MERC_FORMAT_ERROR(source, "byte 0: header length {} exceeds the {}-byte limit", n, kMaxSafetensorsHeader);
  if (n > size - 8)
    MERC_FORMAT_ERROR(source, "byte 0: header length {} runs past the end of the file ({} bytes)", n, size);
  f.header_size_ = n;
  const std::string_view text(reinterpret_cast<const char*>(base + 8), static_cast<size_t>(n));
  if (text.empty() || text[0] != '{') MERC_FORMAT_ERROR(source, "byte 8: header does not start with '{{'");

  // 2. JSON: a top-level object of tensor entries plus optional __metadata__.
  const json header = parse_header_json(text, source, 8);
  if (!header.is_object()) MERC_FORMAT_ERROR(source, "byte 8: header is not a JSON object");
  std::vector<RawEntry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == kMetadataKey) {
      if (!value.is_object()) MERC_FORMAT_ERROR(source, "__metadata__ is not a JSON object");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string())
          MERC_FORMAT_ERROR(source, "__metadata__ value of '{}' is not a string (got {})", mk, mv.type_name());
        f.metadata_[mk] = mv.get<std::string>();
      }
      f.has_metadata_ = true;
      continue;
    }
    if (!value.is_object()) MERC_FORMAT_ERROR(source, "tensor '{}': entry is not a JSON object", key);
    for (const auto& [field, _] : value.items())
      if (field != "dtype" && field != "shape" && field != "data_offsets")
        MERC_FORMAT_ERROR(source, "tensor '{}': unexpected field '{}' (expected dtype, shape, data_offsets)", key, field);
    const auto dt = value.find("dtype");
    const auto sh = value.find("shape");
    const auto of = value.find("data_offsets");
    if (dt == value.end() || sh == value.end() || of == value.end())
      MERC_FORMAT_ERROR(source, "tensor '{}': entry needs dtype, shape and data_offsets", key);
    if (!dt->is_string()) MERC_FORMAT_ERROR(source, "tensor '{}': dtype is not a string", key);
    const auto dtype = parse_st_dtype(dt->get<std::string>());
    if (!dtype) MERC_FORMAT_ERROR(source, "tensor '{}': unknown dtype '{}'", key, dt->get<std::string>());
    if (!sh->is_array()) MERC_FORMAT_ERROR(source, "tensor '{}': shape is not an array", key);
    if (!of->is_array() || of->size() != 2)
      MERC_FORMAT_ERROR(source, "tensor '{}': data_offsets must be an array [begin, end]", key);
    RawEntry e;
    e.view.name = key;
    e.view.dtype = *dtype;
    for (const auto& d : *sh) e.view.shape.push_back(json_dim(d, source, key, "shape"));
    e.begin = static_cast<uint64_t>(json_dim((*of)[0], source, key, "data_offsets"));
    e.end = static_cast<uint64_t>(json_dim((*of)[1], source, key, "data_offsets"));
    entries.push_back(std::move(e));
  }

  // 3. Offsets must tile the buffer exactly, each span matching its dtype and shape.
  std::sort(entries.begin(), entries.end(), [](const RawEntry& a, const RawEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  const uint64_t buffer_size = size - 8 - n;
  uint64_t expected_begin = 0;
  for (const auto& e : entries) {
    const std::string& name = e.view.name;
    if (e.end < e.begin) MERC_FORMAT_ERROR(source, "tensor '{}': data_offsets [{}, {}] end before they begin", name, e.begin, e.end);
    if (e.begin > expected_begin)
      MERC_FORMAT_ERROR(source, "tensor '{}': data_offsets [{}, {}] leave a hole: the previous tensor ends at {}", name,
                        e.begin, e.end, expected_begin);
    if (e.begin < expected_begin)
      MERC_FORMAT_ERROR(source, "tensor '{}': data_offsets [{}, {}] overlap the previous tensor, which ends at {}", name,
                        e.begin, e.end, expected_begin);
    const auto nbytes = checked_nbytes(e.view.shape, st_dtype_size(e.view.dtype));
    if (!nbytes) MERC_FORMAT_ERROR(source, "tensor '{}': shape {} overflows", name, join_shape(e.view.shape));
    if (e.end - e.begin != *nbytes)
      MERC_FORMAT_ERROR(source, "tensor '{}': {} {} needs {} bytes but data_offsets [{}, {}] span {}", name,
                        st_dtype_name(e.view.dtype), join_shape(e.view.shape), *nbytes, e.begin, e.end, e.end - e.begin);
    if (e.end > buffer_size)
      MERC_FORMAT_ERROR(source, "tensor '{}': data_offsets [{}, {}] run past the end of the {}-byte buffer (byte {})",
                        name, e.begin, e.end, buffer_size, 8 + n + buffer_size);
    expected_begin = e.end;
  }
  if (expected_begin != buffer_size)
    MERC_FORMAT_ERROR(source, "byte {}: the tensors cover {} of the {} buffer bytes (trailing bytes not described "
                      "by the header)", 8 + n + expected_begin, expected_begin, buffer_size);

  // 4. Views into the file.
  const uint8_t* buffer = base + 8 + n;
  f.tensors_.reserve(entries.size());
  for (auto& e : entries) {
    e.view.data = buffer + e.begin;
    e.view.size = e.end - e.begin;
    e.view.owner = f.bytes_;
    f.tensors_.push_back(std::move(e.view));
  }
  return f;
}

const TensorView* SafetensorsFile::find(std::string_view name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

const TensorView& SafetensorsFile::tensor(std::string_view name) const {
  if (const TensorView* t = find(name)) return *t;
  std::string names;
  for (const auto& t : tensors_) names += (names.empty() ? "" : ", ") + t.name;
  MERC_FORMAT_ERROR(source_, "no tensor '{}' (tensors: {})", name, names.empty() ? "none" : names);
}

std::string serialize_safetensors(const std::vector<TensorToWrite>& tensors,
                                  const std::map<std::string, std::string>& metadata) {
  using namespace safetensors_internal;
  // Reference order: larger item sizes first, then by name, so every tensor stays aligned.
  std::vector<const TensorToWrite*> order;
  std::set<std::string> names;
  for (const auto& t : tensors) {
    MERC_CHECK(t.name != kMetadataKey, "'{}' is reserved and cannot name a tensor", kMetadataKey);
    MERC_CHECK(names.insert(t.name).second, "tensor name '{}' occurs twice", t.name);
    for (int64_t d : t.shape) MERC_CHECK(d >= 0, "tensor '{}': negative dimension in shape {}", t.name, join_shape(t.shape));
    const auto nbytes = checked_nbytes(t.shape, st_dtype_size(t.dtype));
    MERC_CHECK(nbytes && *nbytes == t.size, "tensor '{}': {} {} needs {} bytes, {} given", t.name,
               st_dtype_name(t.dtype), join_shape(t.shape), nbytes ? *nbytes : 0, t.size);
    MERC_CHECK(t.size == 0 || t.data != nullptr, "tensor '{}': no data", t.name);
    order.push_back(&t);
  }
  std::sort(order.begin(), order.end(), [](const TensorToWrite* a, const TensorToWrite* b) {
    const int64_t sa = st_dtype_size(a->dtype), sb = st_dtype_size(b->dtype);
    return sa != sb ? sa > sb : a->name < b->name;
  });

  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[std::string(kMetadataKey)] = metadata;
  uint64_t offset = 0;
  for (const TensorToWrite* t : order) {
    header[t->name] = {{"dtype", st_dtype_name(t->dtype)}, {"shape", t->shape}, {"data_offsets", {offset, offset + t->size}}};
    offset += t->size;
  }
  std::string text;
  try {
    text = header.dump();  // strict: invalid UTF-8 in a name or value throws
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("cannot write safetensors header: ") + e.what());
  }
  // Pad with spaces so the buffer (8 + N) starts 8-byte aligned. Also avoid N's low byte being
  // 0x80: the file's first byte would then equal the pickle PROTO opcode, and format sniffing
  // that looks for pickles by their first byte would take a merc file for a pickle.
  text.append((8 - text.size() % 8) % 8, ' ');
  if ((text.size() & 0xff) == 0x80) text.append(8, ' ');
  MERC_CHECK(text.size() <= kMaxSafetensorsHeader, "safetensors header of {} bytes exceeds the {}-byte limit",
             text.size(), kMaxSafetensorsHeader);

  std::string out;
  out.reserve(8 + text.size() + offset);
  append_u64le(out, text.size());
  out += text;
  for (const TensorToWrite* t : order) out.append(static_cast<const char*>(t->data), t->size);
  return out;
}

void write_safetensors_file(const std::string& path, const std::vector<TensorToWrite>& tensors,
                            const std::map<std::string, std::string>& metadata) {
  write_file_atomically(path, serialize_safetensors(tensors, metadata));
}

std::optional<std::map<std::string, std::string>> sniff_safetensors_metadata(const std::string& path) {
  try {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    in.seekg(0, std::ios::beg);
    uint8_t len[8];
    if (size < 8 || !in.read(reinterpret_cast<char*>(len), 8)) return std::nullopt;
    const uint64_t n = load_u64le(len);
    if (n == 0 || n > kMaxSafetensorsHeader || n > static_cast<uint64_t>(size) - 8) return std::nullopt;
    std::string text(static_cast<size_t>(n), '\0');
    if (!in.read(text.data(), static_cast<std::streamsize>(n)) || text[0] != '{') return std::nullopt;
    const auto header = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (header.is_discarded() || !header.is_object()) return std::nullopt;
    std::map<std::string, std::string> md;
    const auto it = header.find(std::string(safetensors_internal::kMetadataKey));
    if (it == header.end()) return md;
    if (!it->is_object()) return std::nullopt;
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string()) return std::nullopt;
      md[k] = v.get<std::string>();
    }
    return md;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace merc::io
