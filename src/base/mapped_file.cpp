#include "base/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errno_text.hpp"

namespace godwit {

Result<std::unique_ptr<MappedFile>> MappedFile::open(const std::string& path, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail("could not open '" + path + "': " + errno_text(errno));
  struct stat st = {};
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return fail("could not stat '" + path + "': " + errno_text(err));
  }
  // Only a regular file has a size to map; a device or pipe has to be read.
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail("'" + path + "' is not a regular file");
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size > max_bytes) {
    ::close(fd);
    return fail("'" + path + "' is " + std::to_string(size) + " bytes, more than " + std::to_string(max_bytes));
  }
  if (size == 0) {
    ::close(fd);
    return fail("'" + path + "' is empty");
  }
  void* data = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (data == MAP_FAILED) {
    const int err = errno;
    ::close(fd);
    return fail("could not map '" + path + "': " + errno_text(err));
  }
  return std::unique_ptr<MappedFile>(new MappedFile(path, fd, static_cast<const uint8_t*>(data), size));
}

MappedFile::~MappedFile() {
  munmap(const_cast<uint8_t*>(data_), size_);
  ::close(fd_);
}

Status MappedFile::check_size() const {
  struct stat st = {};
  if (fstat(fd_, &st) != 0) return fail("could not stat '" + path_ + "': " + errno_text(errno));
  if (static_cast<uint64_t>(st.st_size) < size_) {
    return fail("'" + path_ + "' shrank from " + std::to_string(size_) + " to " + std::to_string(st.st_size) +
                " bytes since godwit mapped it");
  }
  return {};
}

}  // namespace godwit
