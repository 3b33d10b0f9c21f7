#include "chardev/socket_address.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>

#include "base/errno_text.hpp"

namespace godwit {
namespace {

bool is_unix(const ChardevConfig& config) { return !config.path.empty(); }

std::string tcp_host_text(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

std::string what(const ChardevConfig& config) {
  if (is_unix(config)) return "unix socket " + config.path;
  return "tcp socket " + tcp_host_text(config.host) + ":" + std::to_string(config.port);
}

std::unexpected<Error> socket_error(const ChardevConfig& config, const char* operation, int err) {
  return fail(what(config) + ": " + operation + ": " + errno_text(err));
}

Status set_nonblocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return fail("fcntl: " + errno_text(errno));
  }
  return {};
}

Result<sockaddr_un> unix_address(const ChardevConfig& config) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (config.path.size() >= sizeof address.sun_path) {
    return fail(what(config) + ": path longer than " + std::to_string(sizeof address.sun_path - 1) +
                " bytes");
  }
  std::memcpy(address.sun_path, config.path.c_str(), config.path.size() + 1);
  return address;
}

using AddrInfoPtr = std::unique_ptr<addrinfo, decltype(&freeaddrinfo)>;

Result<AddrInfoPtr> resolve(const ChardevConfig& config, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  addrinfo* list = nullptr;
  const std::string port = std::to_string(config.port);
  const int rc =
      getaddrinfo(config.host.empty() ? nullptr : config.host.c_str(), port.c_str(), &hints, &list);
  if (rc != 0) {
    return fail(what(config) + ": address resolution failed: " +
                (rc == EAI_SYSTEM ? errno_text(errno) : std::string(gai_strerror(rc))));
  }
  return AddrInfoPtr(list, freeaddrinfo);
}

Result<int> listen_unix(const ChardevConfig& config) {
  auto address = unix_address(config);
  if (!address) return std::unexpected(std::move(address.error()));
  struct stat st {};
  if (lstat(config.path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return fail(what(config) + ": exists and is not a socket");
    unlink(config.path.c_str());  // a stale socket from an earlier run
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return socket_error(config, "socket", errno);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&*address), sizeof *address) != 0) {
    const int err = errno;
    close(fd);
    return socket_error(config, "bind", err);
  }
  if (listen(fd, 1) != 0) {
    const int err = errno;
    close(fd);
    unlink(config.path.c_str());
    return socket_error(config, "listen", err);
  }
  return fd;
}

Result<int> listen_tcp(const ChardevConfig& config) {
  auto list = resolve(config, /*passive=*/true);
  if (!list) return std::unexpected(std::move(list.error()));
  int last_error = EADDRNOTAVAIL;
  const char* failed = "bind";
  for (const addrinfo* ai = list->get(); ai != nullptr; ai = ai->ai_next) {
    const int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
      last_error = errno;
      failed = "socket";
      continue;
    }
    // A restarted godwit can listen again at once on a port in TIME_WAIT.
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1) == 0) return fd;
    last_error = errno;
    failed = "bind";
    close(fd);
  }
  return socket_error(config, failed, last_error);
}

Result<int> connect_unix(const ChardevConfig& config) {
  auto address = unix_address(config);
  if (!address) return std::unexpected(std::move(address.error()));
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return socket_error(config, "socket", errno);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&*address), sizeof *address) != 0) {
    const int err = errno;
    close(fd);
    return socket_error(config, "connect", err);
  }
  return fd;
}

Result<int> connect_tcp(const ChardevConfig& config) {
  auto list = resolve(config, /*passive=*/false);
  if (!list) return std::unexpected(std::move(list.error()));
  int last_error = EADDRNOTAVAIL;
  for (const addrinfo* ai = list->get(); ai != nullptr; ai = ai->ai_next) {
    const int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_error = errno;
      continue;
    }
    int rc;
    do {
      rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    } while (rc != 0 && errno == EINTR);
    if (rc == 0) return fd;
    last_error = errno;
    close(fd);
  }
  return socket_error(config, "connect", last_error);
}

}  // namespace

std::string socket_address_text(const ChardevConfig& config) {
  if (is_unix(config)) return "unix:" + config.path;
  return "tcp:" + tcp_host_text(config.host) + ":" + std::to_string(config.port);
}

Result<int> listen_socket(const ChardevConfig& config) {
  return is_unix(config) ? listen_unix(config) : listen_tcp(config);
}

Result<int> connect_socket(const ChardevConfig& config) {
  auto fd = is_unix(config) ? connect_unix(config) : connect_tcp(config);
  if (!fd) return fd;
  if (auto status = set_nonblocking(*fd); !status) {
    close(*fd);
    return std::unexpected(std::move(status.error()).context(what(config)));
  }
  return fd;
}

uint16_t socket_bound_port(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  if (address.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
  }
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  }
  return 0;
}

bool socket_matches(int fd, const ChardevConfig& config, bool listening) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  auto* raw = reinterpret_cast<sockaddr*>(&address);
  if ((listening ? getsockname(fd, raw, &length) : getpeername(fd, raw, &length)) != 0) return false;
  int accepting = 0;
  socklen_t accepting_length = sizeof accepting;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &accepting_length) != 0) return false;
  if ((accepting != 0) != listening) return false;
  if (is_unix(config)) {
    if (address.ss_family != AF_UNIX) return false;
    const auto* un = reinterpret_cast<const sockaddr_un*>(&address);
    const size_t max = length > offsetof(sockaddr_un, sun_path) ? length - offsetof(sockaddr_un, sun_path) : 0;
    return std::string(un->sun_path, strnlen(un->sun_path, max)) == config.path;
  }
  uint16_t port = 0;
  if (address.ss_family == AF_INET) {
    port = ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
  } else if (address.ss_family == AF_INET6) {
    port = ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  } else {
    return false;
  }
  return config.port == 0 ? listening : port == config.port;
}

}  // namespace godwit
