#include "merc/io/npy.h"

#include <cstring>
#include <limits>
#include <optional>

#include "merc/core/error.h"
#include "merc/io/binary_file.h"

namespace merc::io {
// Named inner namespace: the library is a unity build, so helpers of different .cpp files share
// one translation unit and must not collide.
namespace npy_internal {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
// numpy pads the header so the data starts at a multiple of this (ARRAY_ALIGN in format.py).
constexpr size_t kAlign = 64;

struct Header {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

// Strict recursive-descent parser for the header literal numpy writes:
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// Accepts: single- or double-quoted strings without escapes, True/False, tuples of non-negative
// integers (optionally with Python 2's 'L' suffix), arbitrary whitespace, trailing commas, keys in
// any order. Everything else (lists, nested dicts, structured dtypes) is an error.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& source, size_t base)
      : s_(text), source_(source), base_(base) {}

  Header parse() {
    Header h;
    bool have_descr = false, have_fortran = false, have_shape = false;
    skip_ws();
    expect('{');
    while (true) {
      skip_ws();
      if (peek() == '}') { ++pos_; break; }
      const std::string key = parse_string("a dict key");
      skip_ws();
      expect(':');
      skip_ws();
      if (key == "descr") {
        if (have_descr) fail("key 'descr' occurs twice");
        if (peek() == '[') fail("structured dtypes (a list 'descr') are not supported");
        h.descr = parse_string("the 'descr' value");
        have_descr = true;
      } else if (key == "fortran_order") {
        if (have_fortran) fail("key 'fortran_order' occurs twice");
        h.fortran_order = parse_bool();
        have_fortran = true;
      } else if (key == "shape") {
        if (have_shape) fail("key 'shape' occurs twice");
        h.shape = parse_shape();
        have_shape = true;
      } else {
        fail("unexpected key '" + key + "' (expected descr, fortran_order, shape)");
      }
      skip_ws();
      if (peek() == ',') { ++pos_; continue; }
      if (peek() == '}') { ++pos_; break; }
      fail("expected ',' or '}' in the header dict");
    }
    skip_ws();
    if (pos_ != s_.size()) fail("unexpected text after the header dict");
    if (!have_descr) fail("header dict lacks the key 'descr'");
    if (!have_fortran) fail("header dict lacks the key 'fortran_order'");
    if (!have_shape) fail("header dict lacks the key 'shape'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    MERC_FORMAT_ERROR(source_, "byte {}: bad .npy header: {}", base_ + pos_, what);
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  void expect(char c) {
    if (peek() != c) fail(fmt::format("expected '{}'", c));
    ++pos_;
  }
  std::string parse_string(const char* what) {
    const char q = peek();
    if (q != '\'' && q != '"') fail(fmt::format("expected a quoted string for {}", what));
    const size_t start = ++pos_;
    while (pos_ < s_.size() && s_[pos_] != q) {
      if (s_[pos_] == '\\') fail("escape sequences are not supported in header strings");
      ++pos_;
    }
    if (pos_ >= s_.size()) fail("unterminated string");
    return std::string(s_.substr(start, pos_++ - start));
  }
  bool parse_bool() {
    if (s_.substr(pos_, 4) == "True") { pos_ += 4; return true; }
    if (s_.substr(pos_, 5) == "False") { pos_ += 5; return false; }
    fail("'fortran_order' must be True or False");
  }
  std::vector<int64_t> parse_shape() {
    std::vector<int64_t> shape;
    expect('(');
    while (true) {
      skip_ws();
      if (peek() == ')') { ++pos_; break; }
      if (peek() < '0' || peek() > '9') fail("shape entries must be non-negative integers");
      int64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        const int d = peek() - '0';
        if (v > (std::numeric_limits<int64_t>::max() - d) / 10) fail("shape entry overflows int64");
        v = v * 10 + d;
        ++pos_;
      }
      if (peek() == 'L') ++pos_;  // Python 2 long literal, e.g. (3L, 4L)
      shape.push_back(v);
      skip_ws();
      if (peek() == ',') { ++pos_; continue; }
      if (peek() == ')') {
        // (3) is the int 3 in Python, not a tuple; numpy always writes a 1-d shape as (3,).
        if (shape.size() == 1) fail("a 1-d shape must be written as a tuple '(n,)'");
        ++pos_;
        break;
      }
      fail("expected ',' or ')' in the shape tuple");
    }
    return shape;
  }

  std::string_view s_;
  const std::string& source_;
  size_t base_;  // byte offset of the header text in the file, for messages
  size_t pos_ = 0;
};

}  // namespace
}  // namespace npy_internal

NdArray parse_npy(std::string_view bytes, const std::string& source) {
  using namespace npy_internal;
  const auto* u = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() < kMagicLen || std::memcmp(bytes.data(), kMagic, kMagicLen) != 0)
    MERC_FORMAT_ERROR(source, "byte 0: not an .npy file (magic \\x93NUMPY missing)");
  if (bytes.size() < kMagicLen + 2) MERC_FORMAT_ERROR(source, "byte {}: truncated before the version", bytes.size());
  const int major = u[6], minor = u[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0)
    MERC_FORMAT_ERROR(source, "byte 6: unsupported .npy format version {}.{} (supported: 1.0, 2.0, 3.0)", major, minor);
  const size_t len_bytes = major == 1 ? 2 : 4;
  const size_t header_start = 8 + len_bytes;
  if (bytes.size() < header_start)
    MERC_FORMAT_ERROR(source, "byte {}: truncated inside the header length field", bytes.size());
  const uint64_t header_len = major == 1 ? load_u16le(u + 8) : load_u32le(u + 8);
  if (header_len > bytes.size() - header_start)
    MERC_FORMAT_ERROR(source, "byte 8: header length {} runs past the end of the file ({} bytes)", header_len,
                      bytes.size());
  // Version 1.0/2.0 headers are latin-1 and 3.0 headers UTF-8. The encodings differ only outside
  // ASCII, which appears only in structured dtypes' field names, and those are refused anyway.
  const std::string_view text = bytes.substr(header_start, static_cast<size_t>(header_len));
  const Header h = HeaderParser(text, source, header_start).parse();

  NdArray arr;
  bool big_endian = false;
  if (h.descr == "O" || h.descr == "|O" || h.descr == "O8" || h.descr == "|O8" || h.descr == "<O" || h.descr == ">O")
    MERC_FORMAT_ERROR(source, "object arrays (dtype '{}') are not supported: they contain a pickle, which merc "
                      "never loads from .npy", h.descr);
  if (!parse_dtype_descr(h.descr, &arr.dtype, &big_endian) || arr.dtype == DType::kObject)
    MERC_FORMAT_ERROR(source, "byte {}: unsupported dtype '{}' (supported: b1 i1 u1 i2 u2 i4 u4 i8 u8 f2 f4 f8)",
                      header_start, h.descr);
  arr.shape = h.shape;

  const int64_t itemsize = dtype_itemsize(arr.dtype);
  uint64_t numel = 1;
  for (int64_t d : arr.shape) {
    if (d != 0 && numel > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d))
      MERC_FORMAT_ERROR(source, "shape {} overflows", arr.shape_string());
    numel *= static_cast<uint64_t>(d);
  }
  const uint64_t available = bytes.size() - header_start - header_len;
  const uint64_t isz = static_cast<uint64_t>(itemsize);
  if (numel > std::numeric_limits<uint64_t>::max() / isz)
    MERC_FORMAT_ERROR(source, "shape {} of {} overflows the addressable size", arr.shape_string(), h.descr);
  const uint64_t needed = numel * isz;
  if (needed != available)
    MERC_FORMAT_ERROR(source, "byte {}: data is {} than declared: shape {} of {} needs {} bytes, the file has {}",
                      header_start + header_len, needed > available ? "shorter" : "longer", arr.shape_string(),
                      h.descr, needed, available);
  const auto* data = u + header_start + header_len;
  arr.data.assign(data, data + needed);
  if (big_endian) byteswap_inplace(arr.data, itemsize);
  if (h.fortran_order) fortran_to_c_order(arr.data, arr.shape, itemsize);
  return arr;
}

NdArray read_npy_file(const std::string& path) { return parse_npy(read_file_bytes(path), path); }

std::string serialize_npy(const NdArray& array) {
  using namespace npy_internal;
  MERC_CHECK(array.dtype != DType::kObject, "cannot write an object (dtype 'O') array as .npy");
  const size_t expected = static_cast<size_t>(array.numel() * dtype_itemsize(array.dtype));
  MERC_CHECK(array.data.size() == expected, "NdArray of shape {} has {} data bytes, expected {}",
             array.shape_string(), array.data.size(), expected);
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                 dtype_descr(array.dtype), array.shape_string());
  int major = 1;
  size_t prefix = kMagicLen + 2 + 2;
  // +1 for the terminating newline.
  if (dict.size() + 1 + prefix > 65535 + prefix) {
    major = 2;
    prefix = kMagicLen + 2 + 4;
  }
  const size_t pad = (kAlign - (prefix + dict.size() + 1) % kAlign) % kAlign;
  dict.append(pad, ' ');
  dict.push_back('\n');
  std::string out(kMagic, kMagicLen);
  out.push_back(static_cast<char>(major));
  out.push_back('\0');
  if (major == 1) append_u16le(out, static_cast<uint16_t>(dict.size()));
  else append_u32le(out, static_cast<uint32_t>(dict.size()));
  out += dict;
  out.append(reinterpret_cast<const char*>(array.data.data()), array.data.size());
  return out;
}

void write_npy_file(const std::string& path, const NdArray& array) {
  write_file_atomically(path, serialize_npy(array));
}

}  // namespace merc::io
