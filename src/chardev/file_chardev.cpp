#include "chardev/file_chardev.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/errno_text.hpp"

namespace godwit {

Result<std::unique_ptr<FileChardev>> FileChardev::create(const ChardevConfig& config, const TakeHandedOverFd& take_fd) {
  if (config.path.empty()) return fail("chardev '" + config.id + "': file: no path given");
  if (take_fd) {
    const int fd = take_fd("chardev:" + config.id + ":file");
    struct stat handed {}, named {};
    if (fd >= 0 && fstat(fd, &handed) == 0 && ::stat(config.path.c_str(), &named) == 0 &&
        handed.st_dev == named.st_dev && handed.st_ino == named.st_ino) {
      return std::unique_ptr<FileChardev>(new FileChardev(config.id, config.path, fd, true));
    }
    if (fd >= 0) ::close(fd);  // another file: opened afresh below
  }
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (config.append ? O_APPEND : O_TRUNC);
  const int fd = ::open(config.path.c_str(), flags, 0666);
  if (fd < 0) {
    return fail("chardev '" + config.id + "': file " + config.path + ": " + errno_text(errno));
  }
  return std::unique_ptr<FileChardev>(new FileChardev(config.id, config.path, fd, false));
}

FileChardev::~FileChardev() {
  if (fd_ >= 0) ::close(fd_);
}

std::vector<ChardevFd> FileChardev::connection_fds() const {
  std::lock_guard lock(mutex_);
  if (fd_ < 0) return {};
  return {{"chardev:" + id_ + ":file", fd_}};
}

void FileChardev::release_connection() {
  std::lock_guard lock(mutex_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void FileChardev::write(std::span<const uint8_t> bytes) {
  std::lock_guard lock(mutex_);
  if (fd_ < 0) return;
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // disk full or I/O error: the guest cannot be told; drop
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
}

}  // namespace godwit
