// TextFeaturizer save/load (bitwise round trip, strict rejection of damaged state files) and a
// smoke test on the real MELD transcripts.

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>

#include <gtest/gtest.h>
#include "test_labels.h"
#include <nlohmann/json.hpp>

#include "merc/core/error.h"
#include "merc/data/text_featurizer.h"

// A namespace of its own: the unity build compiles several test files as one translation unit.
namespace merc::data::text_featurizer_io_test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string temp_path(const std::string& name) {
  return (fs::path(::testing::TempDir()) / ("merc_text_featurizer_" + name)).string();
}

// Loading `path` throws a FormatError that names the file and says `problem`.
void expect_format_error(const std::string& path, const std::string& problem) {
  try {
    TextFeaturizer::load(path);
    ADD_FAILURE() << "no error for " << problem;
  } catch (const FormatError& e) {
    EXPECT_EQ(e.path(), path);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(problem), std::string::npos) << "want '" << problem << "' in: " << e.what();
  }
}

// A small fitted featurizer: 2^10 buckets, dim 4 (a 21 KB state file).
const TextFeaturizer& small_fitted() {
  static const TextFeaturizer f = [] {
    TextFeaturizerOptions o;
    o.dim = 4;
    o.hash_bits = 10;
    o.min_df = 1;
    o.seed = 77;
    return TextFeaturizer::fit({"oh my god", "what are you doing", "i am so sorry", "oh no", "okay fine",
                                "you are so annoying", "what", "are you okay"},
                               o);
  }();
  return f;
}

const std::vector<std::string> kEval = {"oh my", "What are you DOING?!", "", "completely unseen words"};

TEST(TextFeaturizerIo, SaveLoadIsBitwiseIdentical) {
  const std::string path = temp_path("roundtrip.safetensors");
  const TextFeaturizer& f = small_fitted();
  f.save(path);
  const TextFeaturizer g = TextFeaturizer::load(path);
  EXPECT_EQ(g.options().dim, 4);
  EXPECT_EQ(g.options().hash_bits, 10);
  EXPECT_EQ(g.options().min_df, 1);
  EXPECT_EQ(g.options().seed, 77u);
  EXPECT_EQ(g.options().char_ngram_min, f.options().char_ngram_min);
  EXPECT_EQ(g.options().sublinear_tf, f.options().sublinear_tf);
  EXPECT_EQ(g.explained_variance_ratio(), f.explained_variance_ratio());  // %.17g round-trips a double
  EXPECT_EQ(g.num_train_documents(), 8);
  EXPECT_EQ(g.idf(), f.idf());
  EXPECT_EQ(g.components(), f.components());
  EXPECT_EQ(g.singular_values(), f.singular_values());
  const FeatureMatrix a = f.transform(kEval), b = g.transform(kEval);
  ASSERT_EQ(a.values.size(), b.values.size());
  EXPECT_EQ(0, std::memcmp(a.values.data(), b.values.data(), a.values.size() * sizeof(float)));
  // Layout: u64 header length, JSON, data 8-byte aligned, tensors tiling the rest.
  const std::string bytes = read_bytes(path);
  uint64_t len = 0;
  std::memcpy(&len, bytes.data(), 8);
  EXPECT_EQ((8 + len) % 8, 0u);
  const json header = json::parse(bytes.substr(8, len));
  EXPECT_EQ(header["__metadata__"]["format"], "merc.text_featurizer");
  EXPECT_EQ(header["components"]["shape"], json({1024, 4}));
  EXPECT_EQ(bytes.size(), 8 + len + (1024 + 1024 * 4 + 4) * 4);
  fs::remove(path);
}

TEST(TextFeaturizerIo, MissingAndTruncatedFiles) {
  expect_format_error(temp_path("does_not_exist.safetensors"), "cannot open");
  const std::string good_path = temp_path("good.safetensors");
  small_fitted().save(good_path);
  const std::string good = read_bytes(good_path);
  uint64_t len = 0;
  std::memcpy(&len, good.data(), 8);
  const std::string path = temp_path("truncated.safetensors");
  write_bytes(path, "");
  expect_format_error(path, "too short");
  write_bytes(path, good.substr(0, 5));
  expect_format_error(path, "too short");
  write_bytes(path, good.substr(0, 8 + len / 2));  // cut inside the header
  expect_format_error(path, "exceeds the file");
  write_bytes(path, good.substr(0, good.size() - 4));  // last float missing
  expect_format_error(path, "data_offsets");
  write_bytes(path, good + "junk");  // trailing bytes no tensor owns
  expect_format_error(path, "tensors cover");
  std::string huge = good;
  std::memset(huge.data(), 0xff, 8);
  write_bytes(path, huge);
  expect_format_error(path, "byte 0: header length");
  std::string not_json = good;
  not_json[8] = 'x';
  write_bytes(path, not_json);
  expect_format_error(path, "byte 8: header is not valid JSON");
  fs::remove(good_path);
  fs::remove(path);
}

// Rewrites the JSON header of a good state file through `edit` and loads the result.
void expect_header_error(const std::function<void(json&)>& edit, const std::string& problem) {
  const std::string good_path = temp_path("header_good.safetensors");
  small_fitted().save(good_path);
  const std::string good = read_bytes(good_path);
  uint64_t len = 0;
  std::memcpy(&len, good.data(), 8);
  json header = json::parse(good.substr(8, len));
  edit(header);
  const std::string text = header.dump();
  std::string bytes(8, '\0');
  const uint64_t new_len = text.size();
  std::memcpy(bytes.data(), &new_len, 8);
  bytes += text + good.substr(8 + len);
  const std::string path = temp_path("header_bad.safetensors");
  write_bytes(path, bytes);
  SCOPED_TRACE(problem);
  expect_format_error(path, problem);
  fs::remove(path);
  fs::remove(good_path);
}

void edit_options(json& h, const std::function<void(json&)>& edit) {
  json o = json::parse(h["__metadata__"]["options"].get<std::string>());
  edit(o);
  h["__metadata__"]["options"] = o.dump();
}

TEST(TextFeaturizerIo, InconsistentHeadersAreRejected) {
  expect_header_error([](json& h) { h = json::array(); }, "not a JSON object");
  expect_header_error([](json& h) { h.erase("__metadata__"); }, "no __metadata__");
  expect_header_error([](json& h) { h["__metadata__"]["format"] = "other"; }, "format is 'other'");
  expect_header_error([](json& h) { h["__metadata__"]["format_version"] = "2"; }, "unsupported format_version '2'");
  expect_header_error([](json& h) { h["__metadata__"]["options"] = "{"; }, "'options' is not valid JSON");
  expect_header_error([](json& h) { edit_options(h, [](json& o) { o.erase("dim"); }); }, "needs an integer 'dim'");
  expect_header_error([](json& h) { edit_options(h, [](json& o) { o["dim"] = "4"; }); }, "needs an integer 'dim'");
  expect_header_error([](json& h) { edit_options(h, [](json& o) { o["lowercase"] = 1; }); }, "boolean 'lowercase'");
  expect_header_error([](json& h) { edit_options(h, [](json& o) { o["extra"] = 1; }); }, "unknown field 'extra'");
  expect_header_error([](json& h) { edit_options(h, [](json& o) { o["hash_bits"] = 99; }); }, "hash_bits must be in");
  expect_header_error([](json& h) { edit_options(h, [](json& o) { o["hash_bits"] = 4294967306LL; }); }, "out of range");
  expect_header_error([](json& h) { edit_options(h, [](json& o) { o["seed"] = -1; }); }, "out of range");
  // dim 5 in the options no longer matches the stored [1024, 4] components.
  expect_header_error([](json& h) { edit_options(h, [](json& o) { o["dim"] = 5; }); }, "expected [1024,5]");
  expect_header_error([](json& h) { h["__metadata__"]["explained_variance_ratio"] = "abc"; }, "explained_variance_ratio");
  expect_header_error([](json& h) { h["__metadata__"]["num_train_documents"] = "0"; }, "num_train_documents");
  expect_header_error([](json& h) { h["idf"]["dtype"] = "F16"; }, "'idf' must have dtype F32");
  expect_header_error([](json& h) { h["idf"]["shape"] = {512}; }, "'idf' has shape [512]");
  expect_header_error([](json& h) { h.erase("singular_values"); }, "no tensor 'singular_values'");
  expect_header_error([](json& h) { h["bias"] = h["idf"]; }, "unexpected tensor 'bias'");
  expect_header_error([](json& h) { h["idf"]["data_offsets"] = {0, 8}; }, "'idf' data_offsets [0, 8]");
  expect_header_error([](json& h) { h["singular_values"]["data_offsets"] = {0, 16}; }, "overlaps or leaves a gap");
}

TEST(TextFeaturizerIo, NonFiniteValuesAreRejectedWithOffset) {
  const std::string path = temp_path("nan.safetensors");
  small_fitted().save(path);
  std::string bytes = read_bytes(path);
  uint64_t len = 0;
  std::memcpy(&len, bytes.data(), 8);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const size_t at = 8 + len + 3 * sizeof(float);  // idf element 3
  std::memcpy(bytes.data() + at, &nan, sizeof(float));
  write_bytes(path, bytes);
  expect_format_error(path, fmt::format("byte {}: tensor 'idf' element 3", at));
  fs::remove(path);
}

// Column `column` of every record of a CSV file (RFC 4180: quoted fields may hold commas, doubled
// quotes and newlines; records end with \n or \r\n), header row dropped. Minimal on purpose: the
// project's CSV reader lives elsewhere.
std::vector<std::string> csv_column(const std::string& path, size_t column) {
  const std::string text = read_bytes(path);
  std::vector<std::string> out, record;
  std::string field;
  bool quoted = false, header = true;
  auto end_record = [&] {
    record.push_back(field);
    field.clear();
    if (!header && record.size() > column) out.push_back(record[column]);
    header = false;
    record.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field.push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      record.push_back(field);
      field.clear();
    } else if (c == '\n') {
      end_record();
    } else if (c != '\r') {
      field.push_back(c);
    }
  }
  if (!field.empty() || !record.empty()) end_record();
  return out;
}

const std::string kMeldTrain = std::string(MERC_SHARED_DATA_DIR) + "/meld/train_sent_emo.csv";

// Fit and transform on real MELD utterances: sane features, no timing (a wall-clock bound in a test
// is flaky on a loaded machine; the fit time is benchmarks/text_featurizer_bench.cpp).
TEST(TextFeaturizerMeld, FitsFirst3000Utterances) {
  MERC_REQUIRE_PREREQUISITE(fs::exists(kMeldTrain), kMeldTrain);
  std::vector<std::string> utterances = csv_column(kMeldTrain, 1);
  ASSERT_EQ(utterances.size(), 9989u);  // data/README.md: 9989 train utterances
  EXPECT_EQ(utterances[0], "also I was the point person on my company\u2019s transition from the KL-5 to GR-6 system.");
  utterances.resize(3000);
  TextFeaturizerOptions o;
  o.dim = 64;
  const TextFeaturizer f = TextFeaturizer::fit(utterances, o);
  const FeatureMatrix z = f.transform(utterances);
  ASSERT_EQ(z.rows, 3000);
  ASSERT_EQ(z.cols, 64);
  for (float v : z.values) ASSERT_TRUE(std::isfinite(v));
  EXPECT_GT(f.explained_variance_ratio(), 0.05);
  EXPECT_LT(f.explained_variance_ratio(), 1.0);
  // Spelling variants that tokenise identically get identical features.
  const FeatureMatrix same = f.transform({"I don\u2019t know!", "i don't KNOW..."});
  EXPECT_EQ(0, std::memcmp(same.row(0), same.row(1), 64 * sizeof(float)));
}

}  // namespace
}  // namespace merc::data::text_featurizer_io_test
