#include "chardev/frontend_link.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

namespace godwit {

FrontendLink::ReadOutcome FrontendLink::pump(int fd, const Filter& filter) {
  if (frontend_ == nullptr) return ReadOutcome::kBlocked;
  const size_t room = frontend_->can_receive();
  if (room == 0) return ReadOutcome::kBlocked;

  std::array<uint8_t, 4096> buffer;
  const ssize_t n = ::read(fd, buffer.data(), std::min(room, buffer.size()));
  if (n == 0) return ReadOutcome::kClosed;
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return ReadOutcome::kDelivered;
    return ReadOutcome::kClosed;
  }
  const std::span<const uint8_t> bytes(buffer.data(), static_cast<size_t>(n));
  if (filter) {
    const std::vector<uint8_t> filtered = filter(bytes);
    if (!filtered.empty()) frontend_->receive(filtered);
  } else {
    frontend_->receive(bytes);
  }
  return ReadOutcome::kDelivered;
}

}  // namespace godwit
