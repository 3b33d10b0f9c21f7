#include "chardev/file_chardev.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "base/errno_text.hpp"

namespace godwit {

Result<std::unique_ptr<FileChardev>> FileChardev::create(const ChardevConfig& config) {
  if (config.path.empty()) return fail("chardev '" + config.id + "': file: no path given");
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (config.append ? O_APPEND : O_TRUNC);
  const int fd = ::open(config.path.c_str(), flags, 0666);
  if (fd < 0) {
    return fail("chardev '" + config.id + "': file " + config.path + ": " + errno_text(errno));
  }
  return std::unique_ptr<FileChardev>(new FileChardev(config.id, config.path, fd));
}

FileChardev::~FileChardev() { ::close(fd_); }

void FileChardev::write(std::span<const uint8_t> bytes) {
  std::lock_guard lock(mutex_);
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // disk full or I/O error: the guest cannot be told; drop
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
}

}  // namespace godwit
