#include "base/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "base/errno_text.hpp"

namespace godwit {

Result<std::vector<uint8_t>> read_file(const std::string& path, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail("could not open '" + path + "': " + errno_text(errno));
  std::vector<uint8_t> data;
  struct stat st;
  if (fstat(fd, &st) == 0 && st.st_size > 0) {
    if (static_cast<uint64_t>(st.st_size) > max_bytes) {
      ::close(fd);
      return fail("'" + path + "' is " + std::to_string(st.st_size) + " bytes, more than " + std::to_string(max_bytes));
    }
    data.reserve(static_cast<size_t>(st.st_size));
  }
  uint8_t buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return fail("could not read '" + path + "': " + errno_text(err));
    }
    if (n == 0) break;
    if (static_cast<size_t>(n) > max_bytes - data.size()) {
      ::close(fd);
      return fail("'" + path + "' holds more than " + std::to_string(max_bytes) + " bytes");
    }
    data.insert(data.end(), buffer, buffer + n);
  }
  ::close(fd);
  return data;
}

Status write_file(const std::string& path, std::span<const uint8_t> data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail("could not open '" + path + "': " + errno_text(errno));
  const uint8_t* bytes = data.data();
  const size_t size = data.size();
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, bytes + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return fail("could not write '" + path + "': " + errno_text(err));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return fail("could not write '" + path + "': " + errno_text(errno));
  return {};
}

}  // namespace godwit
