#include "merc/io/npz.h"

#include <gtest/gtest.h>

#include "merc/core/error.h"
#include "merc/io/npy.h"
#include "merc/io/zip.h"
#include "io_test_helpers.h"

namespace merc::io {
namespace {

using test_helpers::npy_fixture;
using test_helpers::slurp;

// The arrays every fixture archive holds (tests/fixtures/make_npy_fixtures.py).
void expect_a_and_b(const std::map<std::string, NdArray>& arrays) {
  ASSERT_TRUE(arrays.count("a"));
  ASSERT_TRUE(arrays.count("b"));
  const NdArray& a = arrays.at("a");
  EXPECT_EQ(a.dtype, DType::kInt32);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.to_int64(), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  const NdArray& b = arrays.at("b");
  EXPECT_EQ(b.dtype, DType::kFloat64);
  EXPECT_EQ(b.to_float64(), (std::vector<double>{0.5, -1.0}));
}

TEST(Npz, StoredArchiveFromSavez) {
  const std::string path = npy_fixture("plain.npz");
  EXPECT_EQ(npz_member_names(path), (std::vector<std::string>{"a", "b"}));
  const auto arrays = read_npz_file(path);
  EXPECT_EQ(arrays.size(), 2u);
  expect_a_and_b(arrays);
}

TEST(Npz, DeflatedArchiveFromSavezCompressed) {
  const std::string path = npy_fixture("compressed.npz");
  EXPECT_EQ(npz_member_names(path), (std::vector<std::string>{"a", "b", "z"}));
  const auto arrays = read_npz_file(path);
  expect_a_and_b(arrays);
  const std::vector<float> z = arrays.at("z").to_float32();
  ASSERT_EQ(z.size(), 1000u);
  for (size_t i = 0; i < z.size(); ++i) ASSERT_EQ(z[i], static_cast<float>(i % 7)) << i;  // np.arange(1000) % 7
}

TEST(Npz, DataDescriptorsAndNonArrayMembers) {
  const std::string path = npy_fixture("descriptor.npz");
  // readme.txt is not an .npy member: not listed, not read.
  EXPECT_EQ(npz_member_names(path), (std::vector<std::string>{"a", "b"}));
  const auto arrays = read_npz_file(path);
  EXPECT_EQ(arrays.size(), 2u);
  expect_a_and_b(arrays);
  const ZipArchive zip = ZipArchive::open(path);
  ASSERT_EQ(zip.entries().size(), 3u);
  EXPECT_TRUE(zip.entries()[0].flags & 0x8);  // the fixture really uses data descriptors
  EXPECT_EQ(zip.read(zip.entries()[2]), "not an array");
}

TEST(Npz, Zip64EndRecordAndExtraFields) {
  const std::string path = npy_fixture("zip64.npz");
  const std::string bytes = slurp(path);
  // The classic end record is saturated, so the reader must have used the zip64 records.
  const size_t eocd = bytes.rfind(std::string("PK\x05\x06", 4));
  ASSERT_NE(eocd, std::string::npos);
  EXPECT_EQ(bytes.substr(eocd + 8, 12), std::string(12, '\xff'));
  expect_a_and_b(read_npz_file(path));
}

TEST(Npz, SingleMemberWithOrWithoutSuffix) {
  const std::string path = npy_fixture("compressed.npz");
  EXPECT_EQ(read_npz_member(path, "b").to_float64(), (std::vector<double>{0.5, -1.0}));
  EXPECT_EQ(read_npz_member(path, "b.npy").to_float64(), (std::vector<double>{0.5, -1.0}));
  try {
    read_npz_member(path, "nope");
    FAIL() << "expected a throw";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.path(), path);
    EXPECT_NE(std::string(e.what()).find("no array 'nope' in the archive (arrays: a, b, z)"), std::string::npos);
  }
}

// Writes `bytes` to a temp file and expects read_npz_file to throw a FormatError naming it whose
// message contains `needle`.
void expect_npz_error(const std::string& bytes, const std::string& needle) {
  test_helpers::TempDir dir;
  const std::string path = dir.file("bad.npz");
  test_helpers::spit(path, bytes);
  try {
    read_npz_file(path);
    ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.path().substr(0, path.size()), path);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

size_t central_entry(const std::string& zip, int index) {
  size_t at = 0;
  for (int i = 0; i <= index; ++i) at = zip.find(std::string("PK\x01\x02", 4), i == 0 ? 0 : at + 4);
  return at;
}

void put_u32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
}

TEST(Npz, BadCrcIsDetected) {
  std::string b = slurp(npy_fixture("plain.npz"));
  const size_t npy = b.find("\x93NUMPY");
  ASSERT_NE(npy, std::string::npos);
  b[npy + 128 + 4] ^= 0x01;  // inside a.npy's data (its header is 128 bytes)
  expect_npz_error(b, "member 'a.npy': CRC-32 mismatch");
}

TEST(Npz, CorruptDeflateStream) {
  std::string b = slurp(npy_fixture("compressed.npz"));
  const size_t z = central_entry(b, 2);
  const uint32_t local = load_u32le(reinterpret_cast<const uint8_t*>(b.data()) + z + 42);
  const auto* u = reinterpret_cast<const uint8_t*>(b.data());
  const size_t data = local + 30 + load_u16le(u + local + 26) + load_u16le(u + local + 28);
  // Overwrite the first deflate block header with a reserved block type (BFINAL=1, BTYPE=11).
  b[data] = static_cast<char>(0x07);
  expect_npz_error(b, "member 'z.npy': corrupt deflate data (invalid block type)");
}

TEST(Npz, HostileSizesAndOffsets) {
  const std::string good = slurp(npy_fixture("compressed.npz"));
  const size_t e0 = central_entry(good, 0);
  std::string b = good;
  put_u32(b, e0 + 42, 0x7fffffff);  // local header offset far beyond EOF
  expect_npz_error(b, "local file header is truncated");
  b = good;
  put_u32(b, e0 + 24, 0xfffffff0);  // absurd uncompressed size for a few hundred deflated bytes
  expect_npz_error(b, "impossible");
  b = good;
  put_u32(b, e0 + 24, 10);  // smaller than what the stream inflates to
  expect_npz_error(b, "inflates to more than the declared 10 bytes");
  b = good;
  put_u32(b, e0 + 20, 0x7fff0000);  // compressed size past the end
  expect_npz_error(b, "run past the end of the archive");
  b = good;
  b[e0 + 10] = 12;  // compression method 12 (bzip2)
  expect_npz_error(b, "compression method 12");
  b = good;
  b[e0 + 8] |= 0x01;  // encrypted
  expect_npz_error(b, "encrypted");

  const size_t eocd = good.rfind(std::string("PK\x05\x06", 4));
  b = good;
  put_u32(b, eocd + 12, 0x00ffffff);  // central directory size past the record
  expect_npz_error(b, "central directory");
  b = good;
  b[eocd + 10] = static_cast<char>(0xfe);  // 254 entries cannot fit
  b[eocd + 8] = static_cast<char>(0xfe);
  expect_npz_error(b, "cannot fit");
  expect_npz_error("this is not a zip archive at all, just text", "no end-of-central-directory record");
  expect_npz_error("", "too short");
}

TEST(Npz, DuplicateMemberNames) {
  std::string b = slurp(npy_fixture("plain.npz"));
  const size_t e1 = central_entry(b, 1);
  b[e1 + 46] = 'a';  // "b.npy" -> "a.npy" in the central directory
  expect_npz_error(b, "member 'a.npy' occurs twice");
}

// What read_npz_file does, on bytes in memory (fast enough to try every truncation).
void read_all_members(const std::string& bytes) {
  const ZipArchive zip(FileBytes::from_string(bytes), "mem.npz");
  for (const auto& e : zip.entries()) parse_npy(zip.read(e), "mem.npz[" + e.name + "]");
}

TEST(Npz, EveryTruncationIsAFormatError) {
  for (const char* file : {"plain.npz", "compressed.npz", "descriptor.npz", "zip64.npz"}) {
    const std::string b = slurp(npy_fixture(file));
    for (size_t len = 0; len < b.size(); ++len) {
      SCOPED_TRACE(std::string(file) + " cut at " + std::to_string(len));
      EXPECT_THROW(read_all_members(b.substr(0, len)), FormatError);
    }
  }
  // And a few through the file API.
  const std::string b = slurp(npy_fixture("compressed.npz"));
  for (size_t len : {size_t{0}, size_t{4}, size_t{21}, b.size() / 2, b.size() - 22, b.size() - 1})
    expect_npz_error(b.substr(0, len), "");
}

TEST(Npz, EverySingleByteFlipIsHandled) {
  // Flipping any one byte must give the right arrays (bytes that do not matter, e.g. timestamps)
  // or a FormatError: never a crash, never wrong values (the CRC catches payload changes).
  for (const char* file : {"plain.npz", "compressed.npz"}) {
    const std::string good = slurp(npy_fixture(file));
    for (size_t i = 0; i < good.size(); ++i) {
      std::string b = good;
      b[i] ^= 0x5a;
      try {
        const ZipArchive zip(FileBytes::from_string(b), "flip");
        const ZipEntry* a = zip.find("a.npy");
        if (!a) continue;
        const NdArray arr = parse_npy(zip.read(*a), "flip");
        EXPECT_EQ(arr.to_int64(), (std::vector<int64_t>{0, 1, 2, 3, 4, 5})) << file << " byte " << i;
      } catch (const FormatError&) {
      }
    }
  }
}

}  // namespace
}  // namespace merc::io

namespace merc::io {
namespace {

// tests/fixtures/npy/large_member.zip was written once with Python's zipfile (deflate level 9):
// member big.bin = 70 MiB of bytes i % 251. Larger than the reader's 64 MiB initial inflate buffer,
// so the output buffer must grow (and keep what was already inflated) to read it.
TEST(Npz, LargeMemberGrowsItsBufferAsItInflates) {
  const ZipArchive zip = ZipArchive::open(std::string(MERC_FIXTURE_DIR) + "/npy/large_member.zip");
  const ZipEntry* e = zip.find("big.bin");
  ASSERT_NE(e, nullptr);
  const std::string out = zip.read(*e);
  ASSERT_EQ(out.size(), size_t{70} << 20);
  for (size_t i : {size_t{0}, size_t{1} << 20, (size_t{64} << 20) - 1, size_t{64} << 20, out.size() - 1})
    ASSERT_EQ(static_cast<unsigned char>(out[i]), i % 251) << "at " << i;
}

}  // namespace
}  // namespace merc::io
