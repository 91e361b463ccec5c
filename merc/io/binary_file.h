#pragma once
// Whole-file byte access shared by the binary readers and writers: read a file into memory,
// memory-map it read-only, write it atomically, and decode little-endian integers from bytes.
//
// merc only targets little-endian hosts (x86-64, aarch64): the on-disk formats it reads and writes
// are little-endian, so "native order" and "little-endian" are the same thing here.

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace merc::io {

static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE float/double expected");

// Reads the whole file. Throws merc::FormatError naming the path when it cannot be opened or read.
std::string read_file_bytes(const std::string& path);

// Writes `bytes` to a temporary file in the directory of `path` and renames it over `path`, so a
// reader never sees a half-written file and a failed write leaves any old file intact. Throws
// merc::Error naming the path on failure (the temporary file is removed). With `durable`, the
// temporary file is fsynced before the rename and the directory after it, so the new file also
// survives a power loss (as far as the file system honours fsync); without, it survives kill -9.
void write_file_atomically(const std::string& path, std::string_view bytes, bool durable = false);

// A read-only view of a whole file: memory-mapped when possible, else read into memory (e.g. on
// file systems that refuse mmap). Share it through shared_ptr so views into it keep it alive.
class FileBytes {
 public:
  // Throws merc::FormatError naming the path when the file cannot be opened or read.
  static std::shared_ptr<const FileBytes> open(const std::string& path);
  // Wraps bytes that are already in memory (tests, in-memory images).
  static std::shared_ptr<const FileBytes> from_string(std::string bytes);

  ~FileBytes();
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }
  bool is_mapped() const { return mapped_; }

 private:
  FileBytes() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  std::string owned_;  // the bytes when not mapped
};

// Little-endian loads from possibly unaligned memory.
inline uint16_t load_u16le(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline uint32_t load_u32le(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
inline uint64_t load_u64le(const uint8_t* p) {
  return static_cast<uint64_t>(load_u32le(p)) | (static_cast<uint64_t>(load_u32le(p + 4)) << 32);
}
inline void append_u16le(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}
inline void append_u32le(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void append_u64le(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace merc::io
