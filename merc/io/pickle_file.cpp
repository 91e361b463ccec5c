// load_pickle_file: maps the file read-only (no copy; the page cache is the buffer) and parses it.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "merc/core/error.h"
#include "merc/io/pickle.h"

namespace merc::io {

namespace {

// Owns an mmap of a whole file; unmapped (and the descriptor closed) on scope exit, including
// when parsing throws.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) MERC_FORMAT_ERROR(path, "cannot open: {}", std::strerror(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0) fail(path, "cannot stat");
    if (!S_ISREG(st.st_mode)) fail(path, "not a regular file");
    size_ = static_cast<size_t>(st.st_size);
    if (size_ == 0) return;
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (p == MAP_FAILED) fail(path, "cannot map");
    data_ = static_cast<const char*>(p);
    ::madvise(p, size_, MADV_SEQUENTIAL);  // the VM reads front to back once
  }
  ~MappedFile() {
    if (data_) ::munmap(const_cast<char*>(data_), size_);
    if (fd_ >= 0) ::close(fd_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view bytes() const { return {data_ ? data_ : "", size_}; }

 private:
  // The destructor does not run when the constructor throws: close the descriptor here.
  [[noreturn]] void fail(const std::string& path, const char* what) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    MERC_FORMAT_ERROR(path, "{}: {}", what, std::strerror(err));
  }

  int fd_ = -1;
  const char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace

PyRef load_pickle_file(const std::string& path, const PickleOptions& options) {
  MappedFile file(path);
  return parse_pickle(file.bytes(), path, options);
}

}  // namespace merc::io
