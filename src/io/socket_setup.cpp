#include "io/socket_setup.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>
#include <vector>

#include "base/errno_text.hpp"

namespace godwit {
namespace {

std::unexpected<SocketFailure> failure(SocketStep step, int err) {
  return std::unexpected(SocketFailure{step, err, err != 0 ? errno_text(err) : std::string()});
}

SocketResult<sockaddr_un> unix_socket_address(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return failure(SocketStep::path_too_long, 0);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

using AddrInfoPtr = std::unique_ptr<addrinfo, decltype(&freeaddrinfo)>;

SocketResult<AddrInfoPtr> resolve(const InetAddress& inet, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  addrinfo* list = nullptr;
  const std::string port = std::to_string(inet.port);
  const int rc =
      getaddrinfo(inet.host.empty() ? nullptr : inet.host.c_str(), port.c_str(), &hints, &list);
  if (rc != 0) {
    const int err = rc == EAI_SYSTEM ? errno : 0;
    return std::unexpected(SocketFailure{SocketStep::resolve, err,
                                         err != 0 ? errno_text(err) : gai_strerror(rc)});
  }
  return AddrInfoPtr(list, freeaddrinfo);
}

int socket_flags(const ListenOptions& options) {
  return SOCK_CLOEXEC | (options.nonblocking ? SOCK_NONBLOCK : 0);
}

SocketResult<int> listen_unix(const UnixAddress& unix_address, const ListenOptions& options) {
  const std::string& path = unix_address.path;
  auto address = unix_socket_address(path);
  if (!address) return std::unexpected(std::move(address.error()));
  // unix_listen_saddr removes a stale socket file first.
  if (options.replace_only_sockets) {
    struct stat st {};
    if (lstat(path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) return failure(SocketStep::not_a_socket, 0);
      ::unlink(path.c_str());
    }
  } else if (::unlink(path.c_str()) < 0 && errno != ENOENT) {
    return failure(SocketStep::unlink, errno);
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | socket_flags(options), 0);
  if (fd < 0) return failure(SocketStep::socket, errno);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&*address), sizeof *address) != 0) {
    const int err = errno;
    ::close(fd);
    return failure(SocketStep::bind, err);
  }
  if (::listen(fd, options.backlog) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return failure(SocketStep::listen, err);
  }
  return fd;
}

SocketResult<int> listen_inet(const InetAddress& inet, const ListenOptions& options) {
  auto list = resolve(inet, /*passive=*/true);
  if (!list) return std::unexpected(std::move(list.error()));
  // With no host, prefer one dual-stack IPv6 socket over an IPv4-only one.
  std::vector<const addrinfo*> candidates;
  for (const addrinfo* ai = list->get(); ai != nullptr; ai = ai->ai_next) candidates.push_back(ai);
  std::stable_sort(candidates.begin(), candidates.end(), [](const addrinfo* a, const addrinfo* b) {
    return a->ai_family == AF_INET6 && b->ai_family != AF_INET6;
  });
  SocketStep failed = SocketStep::bind;
  int last_error = EADDRNOTAVAIL;
  for (const addrinfo* ai : candidates) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | socket_flags(options), ai->ai_protocol);
    if (fd < 0) {
      last_error = errno;
      failed = SocketStep::socket;
      continue;
    }
    // A restarted godwit can listen again at once on a port in TIME_WAIT.
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (ai->ai_family == AF_INET6 && inet.host.empty()) {
      const int off = 0;
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    }
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      last_error = errno;
      failed = SocketStep::bind;
      ::close(fd);
      continue;
    }
    if (::listen(fd, options.backlog) != 0) {
      const int err = errno;
      ::close(fd);
      return failure(SocketStep::listen, err);
    }
    return fd;
  }
  return failure(failed, last_error);
}

int connect_retrying(int fd, const sockaddr* address, socklen_t length) {
  int rc;
  do {
    rc = ::connect(fd, address, length);
  } while (rc != 0 && errno == EINTR);
  return rc;
}

SocketResult<int> connect_unix(const UnixAddress& unix_address) {
  auto address = unix_socket_address(unix_address.path);
  if (!address) return std::unexpected(std::move(address.error()));
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return failure(SocketStep::socket, errno);
  if (connect_retrying(fd, reinterpret_cast<const sockaddr*>(&*address), sizeof *address) != 0) {
    const int err = errno;
    ::close(fd);
    return failure(SocketStep::connect, err);
  }
  return fd;
}

SocketResult<int> connect_inet(const InetAddress& inet) {
  auto list = resolve(inet, /*passive=*/false);
  if (!list) return std::unexpected(std::move(list.error()));
  int last_error = ECONNREFUSED;
  for (const addrinfo* ai = list->get(); ai != nullptr; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_error = errno;
      continue;
    }
    if (connect_retrying(fd, ai->ai_addr, ai->ai_addrlen) == 0) return fd;
    last_error = errno;
    ::close(fd);
  }
  return failure(SocketStep::connect, last_error);
}

uint16_t port_of(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
  }
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  }
  return 0;
}

}  // namespace

SocketResult<int> listen_socket(const SocketAddress& address, const ListenOptions& options) {
  if (const auto* unix_address = std::get_if<UnixAddress>(&address)) {
    return listen_unix(*unix_address, options);
  }
  return listen_inet(std::get<InetAddress>(address), options);
}

SocketResult<int> connect_socket(const SocketAddress& address) {
  if (const auto* unix_address = std::get_if<UnixAddress>(&address)) {
    return connect_unix(*unix_address);
  }
  return connect_inet(std::get<InetAddress>(address));
}

uint16_t socket_bound_port(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  return port_of(address);
}

bool socket_matches(int fd, const SocketAddress& wanted, bool listening) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  auto* raw = reinterpret_cast<sockaddr*>(&address);
  if ((listening ? getsockname(fd, raw, &length) : getpeername(fd, raw, &length)) != 0) return false;
  int accepting = 0;
  socklen_t accepting_length = sizeof accepting;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &accepting_length) != 0) return false;
  if ((accepting != 0) != listening) return false;
  if (const auto* unix_address = std::get_if<UnixAddress>(&wanted)) {
    if (address.ss_family != AF_UNIX) return false;
    const auto* un = reinterpret_cast<const sockaddr_un*>(&address);
    const size_t offset = offsetof(sockaddr_un, sun_path);
    const size_t max = length > offset ? length - offset : 0;
    return std::string(un->sun_path, strnlen(un->sun_path, max)) == unix_address->path;
  }
  if (address.ss_family != AF_INET && address.ss_family != AF_INET6) return false;
  const uint16_t port = std::get<InetAddress>(wanted).port;
  return port == 0 ? listening : port_of(address) == port;
}

}  // namespace godwit
