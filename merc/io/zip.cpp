#include "merc/io/zip.h"

#include <zlib.h>

#include <algorithm>
#include <limits>
#include <unordered_set>

#include "merc/core/error.h"

namespace merc::io {
namespace zip_internal {
namespace {

// Record signatures and fixed sizes from the PKWARE APPNOTE (section 4.3).
constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEocdSig = 0x06054b50;
constexpr uint32_t kZip64EocdSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr size_t kLocalSize = 30;
constexpr size_t kCentralSize = 46;
constexpr size_t kEocdSize = 22;
constexpr size_t kZip64LocatorSize = 20;
constexpr size_t kZip64EocdSize = 56;
constexpr size_t kMaxComment = 65535;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint32_t k32Max = 0xFFFFFFFFu;
constexpr uint16_t k16Max = 0xFFFFu;
// Deflate cannot expand data by more than about 1032:1 (each 258-byte match costs >= 2 bits), so a
// declared size beyond this is a lie meant to make us allocate; refuse before allocating.
constexpr uint64_t kMaxDeflateRatio = 1040;

// Bounds-checked cursor over [begin, end) of the archive bytes.
struct Cursor {
  const uint8_t* base;
  uint64_t pos;
  uint64_t end;
  const std::string& source;
  const char* what;  // the record being read, for messages

  void need(uint64_t n) const {
    if (n > end - pos)
      MERC_FORMAT_ERROR(source, "byte {}: {} is truncated (needs {} more bytes, {} left)", pos, what, n, end - pos);
  }
  uint16_t u16() { need(2); const uint16_t v = load_u16le(base + pos); pos += 2; return v; }
  uint32_t u32() { need(4); const uint32_t v = load_u32le(base + pos); pos += 4; return v; }
  uint64_t u64() { need(8); const uint64_t v = load_u64le(base + pos); pos += 8; return v; }
  std::string bytes(uint64_t n) {
    need(n);
    std::string s(reinterpret_cast<const char*>(base + pos), static_cast<size_t>(n));
    pos += n;
    return s;
  }
};

}  // namespace
}  // namespace zip_internal

ZipArchive::ZipArchive(std::shared_ptr<const FileBytes> bytes, std::string source)
    : bytes_(std::move(bytes)), source_(std::move(source)) {
  parse_central_directory();
}

ZipArchive ZipArchive::open(const std::string& path) { return ZipArchive(FileBytes::open(path), path); }

const ZipEntry* ZipArchive::find(std::string_view name) const {
  for (const auto& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

void ZipArchive::parse_central_directory() {
  using namespace zip_internal;
  const uint8_t* base = bytes_->data();
  const uint64_t size = bytes_->size();
  if (size < kEocdSize) MERC_FORMAT_ERROR(source_, "byte 0: not a zip archive ({} bytes, too short)", size);

  // 1. The end-of-central-directory record: the last signature whose comment fits in the file.
  uint64_t eocd = std::numeric_limits<uint64_t>::max();
  const uint64_t lowest = size - kEocdSize > kMaxComment ? size - kEocdSize - kMaxComment : 0;
  for (uint64_t p = size - kEocdSize + 1; p-- > lowest;) {
    if (load_u32le(base + p) == kEocdSig && p + kEocdSize + load_u16le(base + p + 20) <= size) {
      eocd = p;
      break;
    }
  }
  if (eocd == std::numeric_limits<uint64_t>::max())
    MERC_FORMAT_ERROR(source_, "not a zip archive (no end-of-central-directory record in the last {} bytes)",
                      size - lowest);
  Cursor c{base, eocd + 4, size, source_, "the end-of-central-directory record"};
  const uint16_t disk = c.u16(), cd_disk = c.u16();
  uint64_t entries_on_disk = c.u16(), total_entries = c.u16();
  uint64_t cd_size = c.u32(), cd_offset = c.u32();
  uint64_t cd_limit = eocd;  // the central directory must end before the record that describes it

  // 2. zip64: any saturated field means the real values are in the zip64 EOCD record, found
  //    through the locator just before the classic record.
  if (entries_on_disk == k16Max || total_entries == k16Max || cd_size == k32Max || cd_offset == k32Max) {
    if (eocd < kZip64LocatorSize || load_u32le(base + eocd - kZip64LocatorSize) != kZip64LocatorSig)
      MERC_FORMAT_ERROR(source_, "byte {}: zip64 values announced but no zip64 locator precedes the "
                        "end-of-central-directory record", eocd);
    Cursor loc{base, eocd - kZip64LocatorSize + 8, eocd, source_, "the zip64 locator"};
    const uint64_t z64 = loc.u64();
    if (z64 > eocd - kZip64LocatorSize || eocd - kZip64LocatorSize - z64 < kZip64EocdSize)
      MERC_FORMAT_ERROR(source_, "byte {}: zip64 end record offset {} is out of range", eocd - kZip64LocatorSize + 8, z64);
    Cursor r{base, z64, eocd - kZip64LocatorSize, source_, "the zip64 end-of-central-directory record"};
    if (r.u32() != kZip64EocdSig) MERC_FORMAT_ERROR(source_, "byte {}: bad zip64 end record signature", z64);
    r.u64();  // record size
    r.u16();  // version made by
    r.u16();  // version needed
    if (r.u32() != 0 || r.u32() != 0) MERC_FORMAT_ERROR(source_, "multi-disk zip archives are not supported");
    entries_on_disk = r.u64();
    total_entries = r.u64();
    cd_size = r.u64();
    cd_offset = r.u64();
    cd_limit = z64;
  } else if (disk != 0 || cd_disk != 0) {
    MERC_FORMAT_ERROR(source_, "multi-disk zip archives are not supported");
  }
  if (entries_on_disk != total_entries) MERC_FORMAT_ERROR(source_, "multi-disk zip archives are not supported");
  if (cd_offset > cd_limit || cd_size > cd_limit - cd_offset)
    MERC_FORMAT_ERROR(source_, "byte {}: central directory (offset {}, {} bytes) lies outside the archive", eocd,
                      cd_offset, cd_size);
  if (total_entries > cd_size / kCentralSize)
    MERC_FORMAT_ERROR(source_, "byte {}: {} entries cannot fit in a {}-byte central directory", eocd, total_entries,
                      cd_size);

  // 3. The central directory entries.
  entries_.reserve(static_cast<size_t>(total_entries));
  std::unordered_set<std::string> names;
  Cursor cd{base, cd_offset, cd_offset + cd_size, source_, "a central directory entry"};
  for (uint64_t i = 0; i < total_entries; ++i) {
    const uint64_t at = cd.pos;
    if (cd.u32() != kCentralSig) MERC_FORMAT_ERROR(source_, "byte {}: bad central directory entry signature", at);
    ZipEntry e;
    cd.u16();  // version made by
    cd.u16();  // version needed
    e.flags = cd.u16();
    e.method = cd.u16();
    cd.u32();  // time, date
    e.crc32 = cd.u32();
    e.compressed_size = cd.u32();
    e.uncompressed_size = cd.u32();
    const uint16_t name_len = cd.u16(), extra_len = cd.u16(), comment_len = cd.u16();
    const uint16_t start_disk = cd.u16();
    cd.u16();  // internal attributes
    cd.u32();  // external attributes
    e.local_header_offset = cd.u32();
    e.name = cd.bytes(name_len);
    const uint64_t extra_end = cd.pos + extra_len;
    cd.need(extra_len);
    // zip64 extra field: 8-byte values, present only for the fields saturated above, in this order.
    Cursor ex{base, cd.pos, extra_end, source_, "a zip64 extra field"};
    while (ex.end - ex.pos >= 4) {
      const uint16_t id = ex.u16(), len = ex.u16();
      ex.need(len);
      if (id == kZip64ExtraId) {
        Cursor z{base, ex.pos, ex.pos + len, source_, "a zip64 extra field"};
        if (e.uncompressed_size == k32Max) e.uncompressed_size = z.u64();
        if (e.compressed_size == k32Max) e.compressed_size = z.u64();
        if (e.local_header_offset == k32Max) e.local_header_offset = z.u64();
      }
      ex.pos += len;
    }
    cd.pos = extra_end;
    cd.bytes(comment_len);
    if (start_disk != 0 && start_disk != k16Max) MERC_FORMAT_ERROR(source_, "multi-disk zip archives are not supported");
    if (!names.insert(e.name).second) MERC_FORMAT_ERROR(source_, "byte {}: member '{}' occurs twice", at, e.name);
    entries_.push_back(std::move(e));
  }
}

std::string ZipArchive::read(const ZipEntry& e) const {
  using namespace zip_internal;
  const uint8_t* base = bytes_->data();
  const uint64_t size = bytes_->size();
  if (e.flags & 0x1) MERC_FORMAT_ERROR(source_, "member '{}' is encrypted (not supported)", e.name);
  if (e.method != 0 && e.method != 8)
    MERC_FORMAT_ERROR(source_, "member '{}' uses compression method {} (supported: 0 stored, 8 deflate)", e.name,
                      e.method);
  Cursor lh{base, e.local_header_offset, size, source_, "a local file header"};
  if (e.local_header_offset > size) lh.pos = size;  // let need() report it
  lh.need(kLocalSize);
  if (lh.u32() != kLocalSig)
    MERC_FORMAT_ERROR(source_, "byte {}: member '{}': bad local header signature", e.local_header_offset, e.name);
  lh.pos += 22;  // version, flags, method, time, date, crc, sizes: the central directory is authoritative
  const uint16_t name_len = lh.u16(), extra_len = lh.u16();
  if (lh.bytes(name_len) != e.name)
    MERC_FORMAT_ERROR(source_, "byte {}: member '{}': local header names a different file", e.local_header_offset,
                      e.name);
  lh.need(extra_len);
  lh.pos += extra_len;
  const uint64_t data_at = lh.pos;
  if (e.compressed_size > size - data_at)
    MERC_FORMAT_ERROR(source_, "byte {}: member '{}': {} compressed bytes run past the end of the archive", data_at,
                      e.name, e.compressed_size);
  const uint8_t* in = base + data_at;

  std::string out;
  if (e.method == 0) {
    if (e.compressed_size != e.uncompressed_size)
      MERC_FORMAT_ERROR(source_, "member '{}': stored member with different compressed ({}) and uncompressed ({}) "
                        "sizes", e.name, e.compressed_size, e.uncompressed_size);
    out.assign(reinterpret_cast<const char*>(in), static_cast<size_t>(e.compressed_size));
  } else {
    if (e.uncompressed_size / kMaxDeflateRatio > e.compressed_size + 1)
      MERC_FORMAT_ERROR(source_, "member '{}': declared size {} is impossible for {} deflated bytes", e.name,
                        e.uncompressed_size, e.compressed_size);
    // One spare byte: if the stream fills it, it inflates to more than the declared size. The
    // buffer grows (doubling) as data actually arrives, so a hostile directory that declares a huge
    // size for a small stream cannot make us allocate it up front.
    const uint64_t target = e.uncompressed_size + 1;
    constexpr uint64_t kInitialOut = uint64_t{64} << 20;
    out.resize(static_cast<size_t>(std::min(target, kInitialOut)));
    z_stream zs{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) MERC_FORMAT_ERROR(source_, "member '{}': zlib inflateInit2 failed", e.name);
    uint64_t in_left = e.compressed_size, out_left = out.size();
    zs.next_in = const_cast<Bytef*>(in);
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    int ret = Z_OK;
    // avail_in/avail_out are 32-bit: feed at most 1 GiB at a time.
    constexpr uint64_t kChunk = uint64_t{1} << 30;
    while (ret == Z_OK) {
      if (zs.avail_in == 0 && in_left > 0) {
        zs.avail_in = static_cast<uInt>(std::min(in_left, kChunk));
        in_left -= zs.avail_in;
      }
      if (zs.avail_out == 0 && out_left == 0 && out.size() < target) {
        const uint64_t old_size = out.size();  // == zs.total_out: the buffer is full
        out.resize(static_cast<size_t>(std::min(target, 2 * old_size)));
        zs.next_out = reinterpret_cast<Bytef*>(out.data()) + old_size;
        out_left = out.size() - old_size;
      }
      if (zs.avail_out == 0 && out_left > 0) {
        zs.avail_out = static_cast<uInt>(std::min(out_left, kChunk));
        out_left -= zs.avail_out;
      }
      ret = inflate(&zs, Z_NO_FLUSH);
      // Z_BUF_ERROR = no progress possible: go on only if a buffer can be refilled; otherwise the
      // input ended early (truncated) or the output is full (too long), both judged below.
      if (ret == Z_BUF_ERROR && ((zs.avail_in == 0 && in_left > 0) ||
                                 (zs.avail_out == 0 && (out_left > 0 || out.size() < target))))
        ret = Z_OK;
    }
    const std::string msg = zs.msg ? zs.msg : "";
    const uint64_t produced = zs.total_out;
    inflateEnd(&zs);
    if (ret == Z_DATA_ERROR || ret == Z_NEED_DICT || ret == Z_MEM_ERROR || ret == Z_STREAM_ERROR)
      MERC_FORMAT_ERROR(source_, "byte {}: member '{}': corrupt deflate data ({})", data_at, e.name,
                        msg.empty() ? "zlib error " + std::to_string(ret) : msg);
    if (produced > e.uncompressed_size)
      MERC_FORMAT_ERROR(source_, "member '{}': inflates to more than the declared {} bytes", e.name,
                        e.uncompressed_size);
    if (ret != Z_STREAM_END)
      MERC_FORMAT_ERROR(source_, "byte {}: member '{}': deflate stream is truncated", data_at, e.name);
    if (produced != e.uncompressed_size)
      MERC_FORMAT_ERROR(source_, "member '{}': inflates to {} bytes, the directory declares {}", e.name, produced,
                        e.uncompressed_size);
    out.resize(static_cast<size_t>(produced));
  }
  const uint32_t crc = static_cast<uint32_t>(
      crc32_z(0L, reinterpret_cast<const Bytef*>(out.data()), static_cast<z_size_t>(out.size())));
  if (crc != e.crc32)
    MERC_FORMAT_ERROR(source_, "member '{}': CRC-32 mismatch (computed {:08x}, stored {:08x})", e.name, crc, e.crc32);
  return out;
}

}  // namespace merc::io
