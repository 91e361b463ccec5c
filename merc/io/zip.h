#pragma once
// A read-only zip archive reader, enough for .npz files (numpy.savez / savez_compressed) and
// other zips that Python's zipfile writes.
//
// Supported: stored (method 0) and deflated (method 8) members, zip64 (end-of-central-directory
// record and extra fields where a size or offset is 0xFFFFFFFF), data descriptors (general
// purpose flag bit 3: the central directory is authoritative). Not supported: encryption,
// multi-disk archives, other compression methods (clear FormatError).
//
// The central directory is found from the end (EOCD record) and every offset and size read from
// the file is bounds-checked before use, so a hostile archive yields merc::FormatError, never an
// out-of-range read. Decompression stops at the declared size, and each member's CRC-32 is
// verified.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "merc/io/binary_file.h"

namespace merc::io {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;        // 0 stored, 8 deflated
  uint16_t flags = 0;         // general purpose bit flags
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_header_offset = 0;
};

class ZipArchive {
 public:
  // Parses the central directory of `bytes`. `source` prefixes error messages.
  ZipArchive(std::shared_ptr<const FileBytes> bytes, std::string source);
  static ZipArchive open(const std::string& path);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(std::string_view name) const;  // nullptr when absent
  // The member's uncompressed bytes, CRC-checked. Throws merc::FormatError.
  std::string read(const ZipEntry& entry) const;
  const std::string& source() const { return source_; }

 private:
  void parse_central_directory();

  std::shared_ptr<const FileBytes> bytes_;
  std::string source_;
  std::vector<ZipEntry> entries_;
};

}  // namespace merc::io
