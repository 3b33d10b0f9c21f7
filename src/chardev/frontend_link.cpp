#include "chardev/frontend_link.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

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

FrontendLink::ReadOutcome FrontendLink::pump_socket(int fd) {
  if (frontend_ == nullptr) return ReadOutcome::kBlocked;
  const size_t room = frontend_->can_receive();
  if (room == 0) return ReadOutcome::kBlocked;

  constexpr size_t kMaxFds = 16;
  std::array<uint8_t, 4096> buffer;
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int) * kMaxFds)> control;
  iovec iov{buffer.data(), std::min(room, buffer.size())};
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control.data();
  message.msg_controllen = control.size();
  const ssize_t n = ::recvmsg(fd, &message, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return ReadOutcome::kDelivered;
    return ReadOutcome::kClosed;
  }
  std::vector<int> fds;
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int received;
      std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      fds.push_back(received);
    }
  }
  if (!fds.empty()) frontend_->receive_fds(std::move(fds));
  if (n == 0) return ReadOutcome::kClosed;
  frontend_->receive(std::span<const uint8_t>(buffer.data(), static_cast<size_t>(n)));
  return ReadOutcome::kDelivered;
}

}  // namespace godwit
