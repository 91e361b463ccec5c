#include "merc/io/safetensors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "merc/core/error.h"
#include "io_test_helpers.h"

namespace merc::io {
namespace {

using test_helpers::slurp;

// A small set of tensors covering several dtypes, a scalar and an empty tensor.
struct Sample {
  std::vector<float> f32 = {1.5f, -2.0f, 0.1f, std::numeric_limits<float>::quiet_NaN(), -0.0f, 3e38f};
  std::vector<int64_t> i64 = {std::numeric_limits<int64_t>::min(), -1, 0, 42};
  std::vector<uint8_t> u8 = {0, 1, 2, 3, 4, 5, 6, 7, 255};
  std::vector<double> f64 = {2.718281828459045};
  std::vector<uint16_t> bf16 = {0x3f80, 0xc000};  // 1.0, -2.0 in bfloat16
  std::vector<uint8_t> flags = {1, 0, 1};

  std::vector<TensorToWrite> tensors() const {
    return {
        {"weights", StDType::kF32, {2, 3}, f32.data(), f32.size() * 4},
        {"ids", StDType::kI64, {4}, i64.data(), i64.size() * 8},
        {"bytes", StDType::kU8, {3, 3}, u8.data(), u8.size()},
        {"scalar", StDType::kF64, {}, f64.data(), 8},
        {"half", StDType::kBF16, {2}, bf16.data(), 4},
        {"flags", StDType::kBool, {3}, flags.data(), 3},
        {"empty", StDType::kF32, {0, 4}, nullptr, 0},
    };
  }
  std::map<std::string, std::string> metadata() const {
    return {{"format", "test"}, {"note", "caf\xc3\xa9 \xe2\x9c\x93 \"quoted\"\n"}};
  }
};

TEST(Safetensors, RoundTripKeepsBytesShapesAndMetadata) {
  const Sample s;
  test_helpers::TempDir dir;
  const std::string path = dir.file("a.safetensors");
  write_safetensors_file(path, s.tensors(), s.metadata());
  const SafetensorsFile f = SafetensorsFile::open(path);
  EXPECT_EQ(f.metadata(), s.metadata());
  ASSERT_EQ(f.tensors().size(), 7u);
  for (const auto& want : s.tensors()) {
    SCOPED_TRACE(want.name);
    const TensorView& t = f.tensor(want.name);
    EXPECT_EQ(t.dtype, want.dtype);
    EXPECT_EQ(t.shape, want.shape);
    ASSERT_EQ(t.size, want.size);
    if (t.size) {
      EXPECT_EQ(std::memcmp(t.data, want.data, t.size), 0);  // bitwise, NaN and -0.0 included
    }
  }
  EXPECT_EQ(f.find("missing"), nullptr);
  EXPECT_THROW(f.tensor("missing"), FormatError);
}

TEST(Safetensors, WriterOrderIsItemSizeDescendingThenName) {
  const Sample s;
  const std::string image = serialize_safetensors(s.tensors(), {});
  const SafetensorsFile f = SafetensorsFile::parse(FileBytes::from_string(image), "mem");
  std::vector<std::string> names;
  for (const auto& t : f.tensors()) names.push_back(t.name);
  // 8-byte: ids, scalar; 4-byte: empty, weights; 2-byte: half; 1-byte: bytes, flags.
  EXPECT_EQ(names, (std::vector<std::string>{"ids", "scalar", "empty", "weights", "half", "bytes", "flags"}));
}

// Checks a written file against the specification by parsing the raw bytes independently of the
// reader under test.
TEST(Safetensors, WrittenHeaderFollowsTheSpecification) {
  const Sample s;
  const std::string b = serialize_safetensors(s.tensors(), s.metadata());
  ASSERT_GE(b.size(), 8u);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(b[static_cast<size_t>(i)]);
  ASSERT_LE(8 + n, b.size());
  EXPECT_EQ((8 + n) % 8, 0u) << "buffer must start 8-byte aligned";
  EXPECT_NE(n & 0xff, 0x80u) << "first byte must not look like a pickle PROTO opcode";
  const std::string header = b.substr(8, n);
  EXPECT_EQ(header.front(), '{');
  const size_t last = header.find_last_not_of(' ');
  EXPECT_EQ(header[last], '}') << "only spaces may pad the header";
  const auto j = nlohmann::json::parse(header);
  ASSERT_TRUE(j.is_object());
  ASSERT_TRUE(j.contains("__metadata__"));
  for (const auto& [k, v] : j["__metadata__"].items()) EXPECT_TRUE(v.is_string()) << k;

  const std::map<std::string, int> sizes = {{"BOOL", 1}, {"U8", 1}, {"I8", 1}, {"I16", 2}, {"U16", 2}, {"F16", 2},
                                            {"BF16", 2}, {"I32", 4}, {"U32", 4}, {"F32", 4}, {"F64", 8}, {"I64", 8},
                                            {"U64", 8}};
  std::vector<std::pair<uint64_t, uint64_t>> spans;
  for (const auto& [name, info] : j.items()) {
    if (name == "__metadata__") continue;
    SCOPED_TRACE(name);
    ASSERT_EQ(info.size(), 3u);
    const std::string dtype = info.at("dtype").get<std::string>();
    ASSERT_TRUE(sizes.count(dtype)) << dtype;
    uint64_t numel = 1;
    for (const auto& d : info.at("shape")) numel *= d.get<uint64_t>();
    const auto off = info.at("data_offsets").get<std::vector<uint64_t>>();
    ASSERT_EQ(off.size(), 2u);
    EXPECT_EQ(off[1] - off[0], numel * static_cast<uint64_t>(sizes.at(dtype)));
    EXPECT_EQ((8 + n + off[0]) % static_cast<uint64_t>(sizes.at(dtype)), 0u) << "tensor start not aligned";
    spans.emplace_back(off[0], off[1]);
  }
  std::sort(spans.begin(), spans.end());
  uint64_t at = 0;
  for (const auto& [begin, end] : spans) {
    EXPECT_EQ(begin, at) << "hole or overlap";
    at = end;
  }
  EXPECT_EQ(8 + n + at, b.size()) << "tensors must cover the buffer to the end of the file";
}

TEST(Safetensors, ViewsKeepTheMappingAlive) {
  const Sample s;
  test_helpers::TempDir dir;
  const std::string path = dir.file("a.safetensors");
  write_safetensors_file(path, s.tensors(), {});
  TensorView view;
  {
    const SafetensorsFile f = SafetensorsFile::open(path);
    view = f.tensor("ids");
  }
  std::vector<int64_t> got(4);
  std::memcpy(got.data(), view.data, 32);
  EXPECT_EQ(got, s.i64);
  EXPECT_TRUE(view.owner->is_mapped());
}

TEST(Safetensors, EmptyFileWithoutTensors) {
  const std::string b = serialize_safetensors({}, {});
  EXPECT_EQ(b, std::string("\x08\0\0\0\0\0\0\0{}      ", 16));  // the reference writer's bytes
  const SafetensorsFile f = SafetensorsFile::parse(FileBytes::from_string(b), "mem");
  EXPECT_TRUE(f.tensors().empty());
  EXPECT_FALSE(f.has_metadata());
}

TEST(Safetensors, WriterRejectsInvalidInput) {
  const float x[2] = {1, 2};
  EXPECT_THROW(serialize_safetensors({{"a", StDType::kF32, {3}, x, 8}}, {}), Error);  // size mismatch
  EXPECT_THROW(serialize_safetensors({{"a", StDType::kF32, {2}, x, 8}, {"a", StDType::kF32, {2}, x, 8}}, {}), Error);
  EXPECT_THROW(serialize_safetensors({{"__metadata__", StDType::kF32, {2}, x, 8}}, {}), Error);
  EXPECT_THROW(serialize_safetensors({}, {{"k", "\xff\xfe not utf-8"}}), Error);
}

// A file image from raw header text (padded to 8) and a buffer of `buffer_size` bytes.
std::string image(std::string header, size_t buffer_size) {
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string out;
  append_u64le(out, header.size());
  return out + header + std::string(buffer_size, '\x01');
}

void expect_st_error(const std::string& bytes, const std::string& needle) {
  try {
    SafetensorsFile::parse(FileBytes::from_string(bytes), "bad.safetensors");
    ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.path(), "bad.safetensors");
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Safetensors, HostileFilesAreRejected) {
  const std::string t8 = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  EXPECT_NO_THROW(SafetensorsFile::parse(FileBytes::from_string(image("{" + t8 + "}", 8)), "ok"));

  expect_st_error("\x10\0\0\0", "too short");
  std::string b = image("{" + t8 + "}", 8);
  b[0] = static_cast<char>(0xf0);  // header length past the end of the file
  expect_st_error(b, "runs past the end of the file");
  b[5] = 0x7f;
  expect_st_error(b, "exceeds the 100000000-byte limit");
  expect_st_error(image("{\"a\": nope}", 0), "not valid JSON");
  expect_st_error(image("[1, 2]", 0), "does not start with '{'");
  expect_st_error(image("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} x", 4), "not valid JSON");
  expect_st_error(image("{\"caf\xc3\x28\":1}", 0), "not valid JSON");  // invalid UTF-8
  // Offsets: overlap, hole, past the end, trailing bytes, reversed.
  expect_st_error(image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
                  "overlap the previous tensor");
  expect_st_error(image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8), "leave a hole");
  expect_st_error(image(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8), "run past the end");
  expect_st_error(image("{" + t8 + "}", 12), "cover 8 of the 12 buffer bytes");
  expect_st_error(image(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 8), "end before they begin");
  // Shape and dtype against the span.
  expect_st_error(image(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), "needs 12 bytes");
  expect_st_error(image(R"({"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})", 8), "needs 16 bytes");
  expect_st_error(image(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}})", 8),
                  "overflows");
  expect_st_error(image(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8), "non-negative integers");
  expect_st_error(image(R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", 8), "non-negative integers");
  expect_st_error(image(R"({"a":{"dtype":"C64","shape":[2],"data_offsets":[0,8]}})", 8), "unknown dtype 'C64'");
  expect_st_error(image(R"({"a":{"dtype":"F32","shape":[2]}})", 8), "needs dtype, shape and data_offsets");
  expect_st_error(image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", 8), "unexpected field 'x'");
  expect_st_error(image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}})", 8), "[begin, end]");
  expect_st_error(image(R"({"a":[1]})", 0), "entry is not a JSON object");
  // Keys and metadata.
  expect_st_error(image("{" + t8 + "," + t8 + "}", 8), "key 'a' twice");
  expect_st_error(image(R"({"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8), "key 'dtype' twice");
  expect_st_error(image(R"({"__metadata__":{"n":1},)" + t8 + "}", 8), "__metadata__ value of 'n' is not a string");
  expect_st_error(image(R"({"__metadata__":{"n":{"x":"y"}}})", 0), "is not a string");
  expect_st_error(image(R"({"__metadata__":["x"]})", 0), "__metadata__ is not a JSON object");
}

TEST(Safetensors, EveryTruncationIsAFormatError) {
  const Sample s;
  const std::string b = serialize_safetensors(s.tensors(), s.metadata());
  for (size_t len = 0; len < b.size(); ++len) {
    SCOPED_TRACE(len);
    EXPECT_THROW(SafetensorsFile::parse(FileBytes::from_string(b.substr(0, len)), "t"), FormatError);
  }
  EXPECT_NO_THROW(SafetensorsFile::parse(FileBytes::from_string(b), "t"));
}

TEST(Safetensors, SniffReadsOnlyMetadataAndNeverThrows) {
  const Sample s;
  test_helpers::TempDir dir;
  const std::string path = dir.file("a.safetensors");
  write_safetensors_file(path, s.tensors(), s.metadata());
  const auto md = sniff_safetensors_metadata(path);
  ASSERT_TRUE(md.has_value());
  EXPECT_EQ(*md, s.metadata());
  test_helpers::spit(dir.file("junk"), "\x80\x04junk");
  EXPECT_FALSE(sniff_safetensors_metadata(dir.file("junk")).has_value());
  EXPECT_FALSE(sniff_safetensors_metadata(dir.file("missing")).has_value());
  EXPECT_FALSE(sniff_safetensors_metadata(dir.path().string()).has_value());  // a directory
}

TEST(Safetensors, DTypeNames) {
  for (const char* name : {"BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32",
                           "F64", "I64", "U64"}) {
    const auto d = parse_st_dtype(name);
    ASSERT_TRUE(d.has_value()) << name;
    EXPECT_STREQ(st_dtype_name(*d), name);
  }
  EXPECT_FALSE(parse_st_dtype("f32").has_value());
  EXPECT_EQ(st_dtype_size(StDType::kBF16), 2);
  EXPECT_EQ(st_dtype_size(StDType::kU64), 8);
}

}  // namespace
}  // namespace merc::io
