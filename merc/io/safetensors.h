#pragma once
// A safetensors-compatible container (huggingface safetensors format), read zero-copy.
//
// File layout: an 8-byte little-endian unsigned header length N; N bytes of UTF-8 JSON mapping each
// tensor name to {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]} plus an optional
// "__metadata__" object whose values are all strings; then the byte buffer. Offsets are relative
// to the start of the buffer; tensors are little-endian, C order.
//
// Rules enforced on read (as the reference implementation validates them) and kept on write:
//  - the header is at most kMaxSafetensorsHeader bytes, valid UTF-8 JSON starting with '{', may be
//    padded with trailing spaces, and has no duplicate keys;
//  - sorted by offset, the tensors tile the buffer exactly: the first starts at 0, each starts where
//    the previous ended, the last ends at the end of the file (no holes, overlap or trailing bytes);
//  - end - begin == numel(shape) * itemsize(dtype), computed without overflow;
//  - __metadata__ values are strings; tensor entries have exactly dtype, shape and data_offsets.
// Writer order: like the reference serializer, by descending item size then by name, so with the
// header padded to a multiple of 8 bytes every tensor starts aligned to its item size (and the
// buffer to 8 bytes) in a mapped file. Readers must not rely on the order: any order whose offsets
// tile the buffer is valid.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "merc/io/binary_file.h"

namespace merc::io {

inline constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;  // the reference's MAX_HEADER_SIZE

enum class StDType { kBool, kU8, kI8, kF8E5M2, kF8E4M3, kI16, kU16, kF16, kBF16, kI32, kU32, kF32, kF64,
                     kI64, kU64 };

const char* st_dtype_name(StDType dtype);            // "F32", "BOOL", "F8_E4M3", ...
std::optional<StDType> parse_st_dtype(std::string_view name);
int64_t st_dtype_size(StDType dtype);                // bytes per element

// A tensor inside an open file: points into the file's bytes, which `owner` keeps alive (so a
// view stays valid after the SafetensorsFile that produced it is gone).
struct TensorView {
  std::string name;
  StDType dtype = StDType::kF32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // may be unaligned in files from other writers: memcpy out
  uint64_t size = 0;              // bytes = numel * itemsize
  std::shared_ptr<const FileBytes> owner;

  int64_t numel() const;
  std::string shape_string() const;  // "[2, 3]"
};

class SafetensorsFile {
 public:
  // Memory-maps `path` (falls back to reading it) and validates the header. Throws
  // merc::FormatError naming the path and the problem (with the byte offset where it applies).
  static SafetensorsFile open(const std::string& path);
  // Parses an in-memory image; `source` names it in errors.
  static SafetensorsFile parse(std::shared_ptr<const FileBytes> bytes, const std::string& source);

  const std::string& source() const { return source_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool has_metadata() const { return has_metadata_; }
  // All tensors in offset order.
  const std::vector<TensorView>& tensors() const { return tensors_; }
  const TensorView* find(std::string_view name) const;  // nullptr when absent
  // Throws merc::FormatError naming the file and the missing tensor.
  const TensorView& tensor(std::string_view name) const;
  uint64_t header_size() const { return header_size_; }

 private:
  std::string source_;
  std::shared_ptr<const FileBytes> bytes_;
  std::map<std::string, std::string> metadata_;
  bool has_metadata_ = false;
  std::vector<TensorView> tensors_;
  uint64_t header_size_ = 0;
};

// A tensor to write; `data` must hold numel(shape) * itemsize bytes, little-endian, C order.
struct TensorToWrite {
  std::string name;
  StDType dtype = StDType::kF32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  uint64_t size = 0;
};

// The whole file image. Throws merc::Error for invalid input (duplicate or reserved names, size
// not matching the shape, strings that are not valid UTF-8).
std::string serialize_safetensors(const std::vector<TensorToWrite>& tensors,
                                  const std::map<std::string, std::string>& metadata);
// Writes serialize_safetensors(...) atomically (temporary file + rename).
void write_safetensors_file(const std::string& path, const std::vector<TensorToWrite>& tensors,
                            const std::map<std::string, std::string>& metadata);

// Reads only the 8-byte length and the header JSON (not the buffer) and returns __metadata__, or
// nullopt when `path` is not a readable safetensors file. Never throws: for cheap format sniffing.
std::optional<std::map<std::string, std::string>> sniff_safetensors_metadata(const std::string& path);

}  // namespace merc::io
