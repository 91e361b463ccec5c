#include "merc/io/npy.h"

#include <gtest/gtest.h>
#include "test_labels.h"

#include <cstring>
#include <limits>

#include "merc/core/error.h"
#include "io_test_helpers.h"

namespace merc::io {
namespace {

using test_helpers::npy_fixture;
using test_helpers::slurp;

// The fixtures hold these exact values (tests/fixtures/make_npy_fixtures.py, VALUES), shape (2, 3).
template <typename T>
void expect_exact(const std::string& file, DType dtype, const std::vector<T>& expected) {
  SCOPED_TRACE(file);
  const NdArray a = read_npy_file(npy_fixture(file));
  EXPECT_EQ(a.dtype, dtype);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  ASSERT_EQ(a.data.size(), expected.size() * sizeof(T));
  // Bitwise: floats too (0.1f, the largest finite and the smallest subnormal must survive exactly).
  EXPECT_EQ(std::memcmp(a.data.data(), expected.data(), a.data.size()), 0);
}

TEST(Npy, ReadsEveryDtypeWithExactValues) {
  expect_exact<uint8_t>("b1.npy", DType::kBool, {1, 0, 1, 1, 0, 0});
  expect_exact<int8_t>("i1.npy", DType::kInt8, {-128, -1, 0, 1, 2, 127});
  expect_exact<uint8_t>("u1.npy", DType::kUInt8, {0, 1, 2, 128, 254, 255});
  expect_exact<int16_t>("i2.npy", DType::kInt16, {-32768, -1, 0, 1, 300, 32767});
  expect_exact<uint16_t>("u2.npy", DType::kUInt16, {0, 1, 2, 300, 65534, 65535});
  expect_exact<int32_t>("i4.npy", DType::kInt32, {std::numeric_limits<int32_t>::min(), -1, 0, 1, 70000, 2147483647});
  expect_exact<uint32_t>("u4.npy", DType::kUInt32, {0, 1, 2, 70000, 4294967294u, 4294967295u});
  expect_exact<int64_t>("i8.npy", DType::kInt64,
                        {std::numeric_limits<int64_t>::min(), -1, 0, 1, 5000000000LL, std::numeric_limits<int64_t>::max()});
  expect_exact<uint64_t>("u8.npy", DType::kUInt64,
                         {0, 1, 2, 5000000000ULL, 18446744073709551614ULL, 18446744073709551615ULL});
  // IEEE half bit patterns of 0, 1, -2, 0.5, 65504 (largest finite), 2^-24 (smallest subnormal).
  expect_exact<uint16_t>("f2.npy", DType::kFloat16, {0x0000, 0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001});
  expect_exact<float>("f4.npy", DType::kFloat32,
                      {0.0f, 1.5f, -2.25f, 0.1f, std::numeric_limits<float>::max(), std::numeric_limits<float>::denorm_min()});
  expect_exact<double>("f8.npy", DType::kFloat64,
                       {0.0, 1.5, -2.25, 0.1, std::numeric_limits<double>::max(), std::numeric_limits<double>::denorm_min()});
}

TEST(Npy, HalfValuesDecode) {
  const NdArray a = read_npy_file(npy_fixture("f2.npy"));
  const std::vector<float> v = a.to_float32();
  EXPECT_EQ(v, (std::vector<float>{0.0f, 1.0f, -2.0f, 0.5f, 65504.0f, 5.9604644775390625e-08f}));
}

TEST(Npy, BigEndianIsSwappedToNative) {
  for (const char* code : {"i2", "u2", "i4", "i8", "f2", "f4", "f8"}) {
    SCOPED_TRACE(code);
    const NdArray be = read_npy_file(npy_fixture(std::string("be_") + code + ".npy"));
    const NdArray le = read_npy_file(npy_fixture(std::string(code) + ".npy"));
    EXPECT_EQ(be.dtype, le.dtype);
    EXPECT_EQ(be.shape, le.shape);
    EXPECT_EQ(be.data, le.data);  // le is checked against hand values above
  }
}

TEST(Npy, FortranOrderIsConvertedToCOrder) {
  const NdArray a = read_npy_file(npy_fixture("fortran_i4.npy"));
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3, 4}));
  std::vector<int64_t> expected(24);
  for (int i = 0; i < 24; ++i) expected[static_cast<size_t>(i)] = i;  // np.arange(24).reshape(2,3,4)
  EXPECT_EQ(a.to_int64(), expected);

  const NdArray b = read_npy_file(npy_fixture("fortran_be_f8.npy"));  // both conversions at once
  EXPECT_EQ(b.to_float64(), (std::vector<double>{0.0, 1.5, 3.0, 4.5, 6.0, 7.5}));
}

TEST(Npy, ScalarEmptyAndNewerVersions) {
  const NdArray s = read_npy_file(npy_fixture("scalar_f8.npy"));
  EXPECT_TRUE(s.shape.empty());
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(s.get_double(0), 3.5);

  const NdArray e = read_npy_file(npy_fixture("empty_f4.npy"));
  EXPECT_EQ(e.shape, (std::vector<int64_t>{0, 5}));
  EXPECT_TRUE(e.data.empty());

  const NdArray v2 = read_npy_file(npy_fixture("v2_i8.npy"));
  EXPECT_EQ(v2.to_int64(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  const NdArray v3 = read_npy_file(npy_fixture("v3_f4.npy"));
  EXPECT_EQ(v3.to_float32(), (std::vector<float>{1.25f, -0.5f}));
}

// Expects parse_npy to throw a FormatError whose message names `source` and contains `needle`.
void expect_format_error(std::string_view bytes, const std::string& needle, const std::string& source = "x.npy") {
  try {
    parse_npy(bytes, source);
    ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.path(), source);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Npy, ObjectAndStructuredArraysAreRefused) {
  expect_format_error(slurp(npy_fixture("object.npy")), "object arrays (dtype '|O') are not supported");
  expect_format_error(slurp(npy_fixture("structured.npy")), "structured dtypes");
}

TEST(Npy, BadMagicAndVersion) {
  std::string b = slurp(npy_fixture("f4.npy"));
  std::string bad = b;
  bad[1] = 'X';
  expect_format_error(bad, "magic");
  expect_format_error("PK\x03\x04 not npy", "magic");
  bad = b;
  bad[6] = 4;
  expect_format_error(bad, "unsupported .npy format version 4.0");
  bad = b;
  bad[7] = 1;
  expect_format_error(bad, "unsupported .npy format version 1.1");
}

TEST(Npy, EveryTruncationIsAFormatError) {
  for (const char* file : {"f8.npy", "v2_i8.npy", "v3_f4.npy", "fortran_i4.npy", "scalar_f8.npy"}) {
    const std::string b = slurp(npy_fixture(file));
    for (size_t len = 0; len < b.size(); ++len) {
      SCOPED_TRACE(std::string(file) + " cut at " + std::to_string(len));
      EXPECT_THROW(parse_npy(std::string_view(b).substr(0, len), file), FormatError);
    }
    EXPECT_NO_THROW(parse_npy(b, file));
  }
}

TEST(Npy, DataLongerOrShorterThanDeclared) {
  std::string b = slurp(npy_fixture("f4.npy"));
  expect_format_error(b + '\0', "data is longer than declared: shape (2, 3) of <f4 needs 24 bytes, the file has 25");
  expect_format_error(b.substr(0, b.size() - 1), "data is shorter than declared");
}

// A version 1.0 image with `dict` as header text and `data` as payload.
std::string npy_image(std::string dict, const std::string& data) {
  dict += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(dict.size() & 0xff));
  out.push_back(static_cast<char>(dict.size() >> 8));
  return out + dict + data;
}

TEST(Npy, HeaderDictVariants) {
  const std::string six_bytes(6, '\0');
  // Accepted: any key order, double quotes, Python 2 long suffix, no trailing comma, extra spaces.
  NdArray a = parse_npy(npy_image("{\"shape\": (2L, 3L), \"fortran_order\": False, \"descr\": \"|u1\"}", six_bytes), "x");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  a = parse_npy(npy_image("{ 'descr' : '<i2' , 'fortran_order' : False , 'shape' : ( 3 , ) , }", six_bytes), "x");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{3}));

  const std::string ok_descr = "'descr': '<f4', ";
  const std::string ok_fortran = "'fortran_order': False, ";
  const std::string ok_shape = "'shape': (1,), ";
  const std::string four(4, '\0');
  expect_format_error(npy_image("{" + ok_descr + ok_fortran + "}", four), "lacks the key 'shape'");
  expect_format_error(npy_image("{" + ok_fortran + ok_shape + "}", four), "lacks the key 'descr'");
  expect_format_error(npy_image("{" + ok_descr + ok_shape + "}", four), "lacks the key 'fortran_order'");
  expect_format_error(npy_image("{" + ok_descr + ok_descr + ok_fortran + ok_shape + "}", four), "'descr' occurs twice");
  expect_format_error(npy_image("{" + ok_descr + ok_fortran + ok_shape + "'extra': 1}", four), "unexpected key 'extra'");
  expect_format_error(npy_image("{'descr': '<c8', " + ok_fortran + ok_shape + "}", four), "unsupported dtype '<c8'");
  expect_format_error(npy_image("{'descr': '<U3', " + ok_fortran + ok_shape + "}", four), "unsupported dtype '<U3'");
  expect_format_error(npy_image("{'descr': 3, " + ok_fortran + ok_shape + "}", four), "expected a quoted string");
  expect_format_error(npy_image("{" + ok_descr + "'fortran_order': true, " + ok_shape + "}", four), "True or False");
  expect_format_error(npy_image("{" + ok_descr + ok_fortran + "'shape': (1), }", four), "1-d shape must be written as a tuple");
  expect_format_error(npy_image("{" + ok_descr + ok_fortran + "'shape': (-1,), }", four), "non-negative integers");
  expect_format_error(npy_image("{" + ok_descr + ok_fortran + "'shape': ('a',), }", four), "non-negative integers");
  expect_format_error(npy_image("{" + ok_descr + ok_fortran + "'shape': [1], }", four), "expected '('");
  expect_format_error(npy_image("{" + ok_descr + ok_fortran + "'shape': (99999999999999999999,), }", four), "overflows");
  expect_format_error(npy_image("{" + ok_descr + ok_fortran + "'shape': (4294967296, 4294967296, 4294967296), }", four),
                      "overflow");
  expect_format_error(npy_image("{'descr: '<f4', " + ok_fortran + ok_shape + "}", four), "");
  expect_format_error(npy_image("{" + ok_descr + ok_fortran + ok_shape, four), "expected a quoted string");
  expect_format_error(npy_image("{" + ok_descr + ok_fortran + ok_shape + "} junk", four), "unexpected text after");
  expect_format_error(npy_image("{'de\\x63r': '<f4', " + ok_fortran + ok_shape + "}", four), "escape");
  expect_format_error(npy_image("", ""), "expected '{'");
  // The error names the byte offset of the problem: 10 header bytes + position in the dict.
  expect_format_error(npy_image("{'descr': '<f4', 'fortran_order': Nope, 'shape': (1,), }", four), "byte 44:");
}

TEST(Npy, HeaderLengthPastEnd) {
  std::string b = slurp(npy_fixture("f4.npy"));
  b[8] = static_cast<char>(0xff);
  b[9] = static_cast<char>(0xff);
  expect_format_error(b, "header length 65535 runs past the end");
}

TEST(Npy, ReadErrorsNameTheFile) {
  try {
    read_npy_file("/nonexistent/dir/a.npy");
    FAIL() << "expected a throw";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.path(), "/nonexistent/dir/a.npy");
  }
  try {
    read_npy_file(npy_fixture("object.npy"));
    FAIL() << "expected a throw";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.path(), npy_fixture("object.npy"));
  }
}

TEST(Npy, WriteThenReadRoundTripsEveryDtype) {
  test_helpers::TempDir dir;
  for (const char* file : {"b1.npy", "i1.npy", "u1.npy", "i2.npy", "u2.npy", "i4.npy", "u4.npy", "i8.npy", "u8.npy",
                           "f2.npy", "f4.npy", "f8.npy", "fortran_i4.npy", "scalar_f8.npy", "empty_f4.npy"}) {
    SCOPED_TRACE(file);
    const NdArray a = read_npy_file(npy_fixture(file));
    const std::string out = dir.file(file);
    write_npy_file(out, a);
    const std::string bytes = slurp(out);
    // Header layout as numpy writes it: version 1.0, data 64-byte aligned, header ends in '\n'.
    EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
    const size_t hlen = static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
    EXPECT_EQ((10 + hlen) % 64, 0u);
    EXPECT_EQ(bytes[10 + hlen - 1], '\n');
    const NdArray b = read_npy_file(out);
    EXPECT_EQ(b.dtype, a.dtype);
    EXPECT_EQ(b.shape, a.shape);
    EXPECT_EQ(b.data, a.data);
  }
}

TEST(Npy, WrittenFilesLoadInNumpy) {
  MERC_REQUIRE_PREREQUISITE(test_helpers::python_numpy_available(), "/usr/bin/python3 with numpy (Debian python3-numpy)");
  test_helpers::TempDir dir;
  NdArray a;
  a.dtype = DType::kFloat32;
  a.shape = {2, 2};
  const float v[4] = {1.5f, -0.25f, 0.1f, 1e30f};
  a.data.resize(sizeof v);
  std::memcpy(a.data.data(), v, sizeof v);
  write_npy_file(dir.file("a.npy"), a);
  const std::string cmd = "/usr/bin/python3 -c \"import numpy as np, sys; a = np.load(sys.argv[1]); "
                          "sys.exit(0 if a.dtype == np.float32 and a.shape == (2, 2) and "
                          "a.tolist() == np.array([[1.5, -0.25], [0.1, 1e30]], np.float32).tolist() else 1)\" " +
                          dir.file("a.npy");
  EXPECT_EQ(std::system(cmd.c_str()), 0);
}

TEST(Npy, WritingObjectArraysIsRefused) {
  NdArray a;
  a.dtype = DType::kObject;
  a.shape = {1};
  EXPECT_THROW(serialize_npy(a), Error);
}

}  // namespace
}  // namespace merc::io
