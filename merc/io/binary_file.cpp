#include "merc/io/binary_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "merc/core/error.h"

namespace merc::io {

std::string read_file_bytes(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw_format_error(path, "is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_format_error(path, "cannot open file");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) throw_format_error(path, "cannot determine file size");
  in.seekg(0, std::ios::beg);
  std::string bytes(static_cast<size_t>(size), '\0');
  if (size > 0 && !in.read(bytes.data(), size)) throw_format_error(path, "read error");
  return bytes;
}

namespace {
// fsync of a file or directory; best effort (some file systems refuse it on directories).
void sync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}
}  // namespace

void write_file_atomically(const std::string& path, std::string_view bytes, bool durable) {
  namespace fs = std::filesystem;
  // A unique name in the same directory: rename() is only atomic within one file system.
  static std::atomic<uint64_t> counter{0};
  const fs::path target(path);
  fs::path tmp = target;
  tmp += fmt::format(".tmp.{}.{}", static_cast<long>(::getpid()), counter++);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(fmt::format("{}: cannot create temporary file {}", path, tmp.string()));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      out.close();
      std::error_code ec;
      fs::remove(tmp, ec);
      throw Error(fmt::format("{}: write failed (disk full?)", path));
    }
  }
  if (durable) sync_path(tmp.string());
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw Error(fmt::format("{}: cannot rename temporary file into place: {}", path, ec.message()));
  }
  if (durable) sync_path(target.parent_path().empty() ? std::string(".") : target.parent_path().string());
}

std::shared_ptr<const FileBytes> FileBytes::open(const std::string& path) {
  std::shared_ptr<FileBytes> fb(new FileBytes());
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_format_error(path, "cannot open file");
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw_format_error(path, "not a regular file");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size > 0) {
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
      fb->data_ = static_cast<const uint8_t*>(p);
      fb->size_ = size;
      fb->mapped_ = true;
    }
  }
  ::close(fd);  // the mapping stays valid after close
  if (!fb->mapped_) {
    fb->owned_ = read_file_bytes(path);
    fb->data_ = reinterpret_cast<const uint8_t*>(fb->owned_.data());
    fb->size_ = fb->owned_.size();
  }
  return fb;
}

std::shared_ptr<const FileBytes> FileBytes::from_string(std::string bytes) {
  std::shared_ptr<FileBytes> fb(new FileBytes());
  fb->owned_ = std::move(bytes);
  fb->data_ = reinterpret_cast<const uint8_t*>(fb->owned_.data());
  fb->size_ = fb->owned_.size();
  return fb;
}

FileBytes::~FileBytes() {
  if (mapped_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace merc::io
