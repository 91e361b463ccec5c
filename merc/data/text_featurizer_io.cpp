// TextFeaturizer::save / load: the fitted state as a safetensors-compatible file (layout in
// text_featurizer.h). The encoding is private and minimal on purpose; it can move to a shared
// safetensors module without changing the file format.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include <nlohmann/json.hpp>

#include "merc/core/error.h"
#include "merc/data/text_featurizer.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "text_featurizer_io.cpp writes tensors in host byte order, which must be little-endian"
#endif

namespace merc::data {
namespace {



constexpr const char* kFeaturizerFormat = "merc.text_featurizer";
constexpr const char* kFeaturizerFormatVersion = "1";
// safetensors' own limit on the JSON header; ours is a few hundred bytes.
constexpr uint64_t kFeaturizerMaxHeaderBytes = 100'000'000;

nlohmann::json featurizer_options_to_json(const TextFeaturizerOptions& o) {
  return nlohmann::json{{"dim", o.dim},
              {"hash_bits", o.hash_bits},
              {"word_ngram_max", o.word_ngram_max},
              {"char_ngram_min", o.char_ngram_min},
              {"char_ngram_max", o.char_ngram_max},
              {"lowercase", o.lowercase},
              {"sublinear_tf", o.sublinear_tf},
              {"min_df", o.min_df},
              {"oversample", o.oversample},
              {"power_iterations", o.power_iterations},
              {"seed", o.seed}};
}

// An integer field of `j` that fits in T.
template <typename T>
T featurizer_json_integer(const nlohmann::json& j, const char* key, const std::string& path) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer())
    MERC_FORMAT_ERROR(path, "metadata 'options' needs an integer '{}'", key);
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<T>::max());
  constexpr auto kMin = static_cast<int64_t>(std::numeric_limits<T>::min());
  if (it->is_number_unsigned()) {
    const auto u = it->get<uint64_t>();
    if (u > kMax) MERC_FORMAT_ERROR(path, "metadata 'options' field '{}' = {} is out of range", key, u);
    return static_cast<T>(u);
  }
  const auto v = it->get<int64_t>();
  if (v < kMin || (v > 0 && static_cast<uint64_t>(v) > kMax))
    MERC_FORMAT_ERROR(path, "metadata 'options' field '{}' = {} is out of range", key, v);
  return static_cast<T>(v);
}

bool featurizer_json_boolean(const nlohmann::json& j, const char* key, const std::string& path) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_boolean()) MERC_FORMAT_ERROR(path, "metadata 'options' needs a boolean '{}'", key);
  return it->get<bool>();
}

// Every field must be present with the right JSON type; unknown fields are errors.
TextFeaturizerOptions featurizer_options_from_json(const nlohmann::json& j, const std::string& path) {
  if (!j.is_object()) MERC_FORMAT_ERROR(path, "metadata 'options' is not a JSON object");
  TextFeaturizerOptions o;
  o.dim = featurizer_json_integer<int64_t>(j, "dim", path);
  o.hash_bits = featurizer_json_integer<int>(j, "hash_bits", path);
  o.word_ngram_max = featurizer_json_integer<int>(j, "word_ngram_max", path);
  o.char_ngram_min = featurizer_json_integer<int>(j, "char_ngram_min", path);
  o.char_ngram_max = featurizer_json_integer<int>(j, "char_ngram_max", path);
  o.lowercase = featurizer_json_boolean(j, "lowercase", path);
  o.sublinear_tf = featurizer_json_boolean(j, "sublinear_tf", path);
  o.min_df = featurizer_json_integer<int64_t>(j, "min_df", path);
  o.oversample = featurizer_json_integer<int64_t>(j, "oversample", path);
  o.power_iterations = featurizer_json_integer<int>(j, "power_iterations", path);
  o.seed = featurizer_json_integer<uint64_t>(j, "seed", path);
  const nlohmann::json known = featurizer_options_to_json(o);
  for (const auto& item : j.items())
    if (!known.contains(item.key())) MERC_FORMAT_ERROR(path, "metadata 'options' has unknown field '{}'", item.key());
  try {
    o.validate();
  } catch (const Error& e) {
    MERC_FORMAT_ERROR(path, "metadata 'options' are invalid: {}", e.what());
  }
  return o;
}

struct FeaturizerTensor {
  std::string name;
  std::vector<int64_t> shape;
  const std::vector<float>* data = nullptr;  // save: the values written
  std::vector<float>* out = nullptr;         // load: where the values go
};

std::string featurizer_metadata_string(const nlohmann::json& meta, const char* key, const std::string& path) {
  const auto it = meta.find(key);
  if (it == meta.end() || !it->is_string()) MERC_FORMAT_ERROR(path, "__metadata__ needs a string '{}'", key);
  return it->get<std::string>();
}

}  // namespace

void TextFeaturizer::save(const std::string& path) const {
  const int64_t buckets = int64_t{1} << options_.hash_bits;
  const std::vector<FeaturizerTensor> tensors = {{"idf", {buckets}, &idf_},
                                           {"components", {buckets, options_.dim}, &components_},
                                           {"singular_values", {options_.dim}, &singular_values_}};
  nlohmann::json header;
  header["__metadata__"] = {{"format", kFeaturizerFormat},
                            {"format_version", kFeaturizerFormatVersion},
                            {"options", featurizer_options_to_json(options_).dump()},
                            {"explained_variance_ratio", fmt::format("{:.17g}", explained_variance_ratio_)},
                            {"num_train_documents", std::to_string(num_train_documents_)}};
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    const uint64_t bytes = t.data->size() * sizeof(float);
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  // Pad with spaces so the tensor data starts 8-byte aligned (as safetensors writers do).
  while ((8 + text.size()) % 8 != 0) text.push_back(' ');
  const uint64_t len = text.size();
  unsigned char len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(len >> (8 * i));

  // Write to a sibling file and rename, so a crash never leaves a half-written state at `path`.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(fmt::format("{}: cannot open for writing", tmp));
    out.write(reinterpret_cast<const char*>(len_bytes), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& t : tensors)
      out.write(reinterpret_cast<const char*>(t.data->data()),
                static_cast<std::streamsize>(t.data->size() * sizeof(float)));
    out.close();
    if (!out) throw Error(fmt::format("{}: write failed", tmp));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw Error(fmt::format("{}: cannot rename to {}: {}", tmp, path, ec.message()));
}

TextFeaturizer TextFeaturizer::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) MERC_FORMAT_ERROR(path, "cannot open file");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 8) MERC_FORMAT_ERROR(path, "file is {} bytes, too short for the 8-byte header length", bytes.size());
  uint64_t header_len = 0;
  for (int i = 0; i < 8; ++i) header_len |= uint64_t{static_cast<unsigned char>(bytes[static_cast<size_t>(i)])} << (8 * i);
  if (header_len > kFeaturizerMaxHeaderBytes || header_len > bytes.size() - 8)
    MERC_FORMAT_ERROR(path, "byte 0: header length {} exceeds the file ({} bytes) or the {} byte limit", header_len,
                      bytes.size(), kFeaturizerMaxHeaderBytes);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(header_len));
  } catch (const nlohmann::json::exception& e) {
    MERC_FORMAT_ERROR(path, "byte 8: header is not valid JSON: {}", e.what());
  }
  if (!header.is_object()) MERC_FORMAT_ERROR(path, "byte 8: header is not a JSON object");

  // Metadata first: the options fix the expected tensor shapes.
  const auto meta_it = header.find("__metadata__");
  if (meta_it == header.end() || !meta_it->is_object()) MERC_FORMAT_ERROR(path, "header has no __metadata__ object");
  const nlohmann::json& meta = *meta_it;
  const std::string format = featurizer_metadata_string(meta, "format", path);
  if (format != kFeaturizerFormat) MERC_FORMAT_ERROR(path, "__metadata__ format is '{}', expected '{}'", format, kFeaturizerFormat);
  const std::string version = featurizer_metadata_string(meta, "format_version", path);
  if (version != kFeaturizerFormatVersion)
    MERC_FORMAT_ERROR(path, "unsupported format_version '{}' (this build reads '{}')", version, kFeaturizerFormatVersion);
  TextFeaturizer f;
  try {
    f.options_ = featurizer_options_from_json(nlohmann::json::parse(featurizer_metadata_string(meta, "options", path)), path);
  } catch (const nlohmann::json::exception& e) {
    MERC_FORMAT_ERROR(path, "metadata 'options' is not valid JSON: {}", e.what());
  }
  const std::string evr = featurizer_metadata_string(meta, "explained_variance_ratio", path);
  const std::string ndocs = featurizer_metadata_string(meta, "num_train_documents", path);
  char* end = nullptr;
  f.explained_variance_ratio_ = std::strtod(evr.c_str(), &end);
  if (evr.empty() || *end != '\0' || !(f.explained_variance_ratio_ >= 0.0 && f.explained_variance_ratio_ <= 1.0 + 1e-6))
    MERC_FORMAT_ERROR(path, "metadata explained_variance_ratio '{}' is not a number in [0, 1]", evr);
  f.num_train_documents_ = std::strtoll(ndocs.c_str(), &end, 10);
  if (ndocs.empty() || *end != '\0' || f.num_train_documents_ < 1)
    MERC_FORMAT_ERROR(path, "metadata num_train_documents '{}' is not a positive integer", ndocs);

  const int64_t buckets = int64_t{1} << f.options_.hash_bits;
  const std::vector<FeaturizerTensor> tensors = {
      {"idf", {buckets}, nullptr, &f.idf_},
      {"components", {buckets, f.options_.dim}, nullptr, &f.components_},
      {"singular_values", {f.options_.dim}, nullptr, &f.singular_values_}};
  for (const auto& item : header.items())
    if (item.key() != "__metadata__" && item.key() != "idf" && item.key() != "components" &&
        item.key() != "singular_values")
      MERC_FORMAT_ERROR(path, "header has unexpected tensor '{}'", item.key());

  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = bytes.size() - data_start;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& t : tensors) {
    const auto it = header.find(t.name);
    if (it == header.end() || !it->is_object()) MERC_FORMAT_ERROR(path, "header has no tensor '{}'", t.name);
    const nlohmann::json& e = *it;
    if (!e.contains("dtype") || e["dtype"] != "F32")
      MERC_FORMAT_ERROR(path, "tensor '{}' must have dtype F32", t.name);
    if (!e.contains("shape") || e["shape"] != nlohmann::json(t.shape))
      MERC_FORMAT_ERROR(path, "tensor '{}' has shape {}, expected {} from the options", t.name,
                        e.contains("shape") ? e["shape"].dump() : "(none)", nlohmann::json(t.shape).dump());
    const auto off = e.find("data_offsets");
    if (off == e.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned())
      MERC_FORMAT_ERROR(path, "tensor '{}' needs data_offsets [begin, end]", t.name);
    const uint64_t b = (*off)[0].get<uint64_t>(), en = (*off)[1].get<uint64_t>();
    uint64_t numel = 1;
    for (int64_t d : t.shape) numel *= static_cast<uint64_t>(d);
    if (b > en || en > data_size || en - b != numel * sizeof(float))
      MERC_FORMAT_ERROR(path, "tensor '{}' data_offsets [{}, {}] do not hold {} float32 values in the {} data bytes",
                        t.name, b, en, numel, data_size);
    ranges.emplace_back(b, en);
    std::vector<float>& values = *t.out;
    values.resize(static_cast<size_t>(numel));
    std::memcpy(values.data(), bytes.data() + data_start + b, static_cast<size_t>(numel * sizeof(float)));
    for (size_t i = 0; i < values.size(); ++i) {
      if (!std::isfinite(values[i]) || (t.name != "components" && values[i] < 0.0f))
        MERC_FORMAT_ERROR(path, "byte {}: tensor '{}' element {} is {}", data_start + b + i * sizeof(float), t.name,
                          i, values[i]);
    }
  }
  // safetensors rule: the tensors tile the data section exactly, without gaps or overlap.
  std::sort(ranges.begin(), ranges.end());
  uint64_t expect = 0;
  for (const auto& [b, en] : ranges) {
    if (b != expect) MERC_FORMAT_ERROR(path, "byte {}: tensor data overlaps or leaves a gap", data_start + b);
    expect = en;
  }
  if (expect != data_size)
    MERC_FORMAT_ERROR(path, "file has {} data bytes after the header, tensors cover {}", data_size, expect);
  return f;
}

}  // namespace merc::data
