#include "chardev/socket_address.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <sys/un.h>

#include "base/errno_text.hpp"
#include "io/socket_setup.hpp"

namespace godwit {
namespace {

bool is_unix(const ChardevConfig& config) { return !config.path.empty(); }

std::string what(const ChardevConfig& config) {
  if (is_unix(config)) return "unix socket " + config.path;
  return "tcp socket " + host_port_text(config.host, config.port);
}

std::unexpected<Error> socket_error(const ChardevConfig& config, const SocketFailure& failure) {
  const std::string prefix = what(config) + ": ";
  switch (failure.step) {
    case SocketStep::resolve: return fail(prefix + "address resolution failed: " + failure.cause);
    case SocketStep::path_too_long:
      return fail(prefix + "path longer than " + std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) +
                  " bytes");
    case SocketStep::not_a_socket: return fail(prefix + "exists and is not a socket");
    case SocketStep::unlink: return fail(prefix + "unlink: " + failure.cause);
    case SocketStep::socket: return fail(prefix + "socket: " + failure.cause);
    case SocketStep::bind: return fail(prefix + "bind: " + failure.cause);
    case SocketStep::listen: return fail(prefix + "listen: " + failure.cause);
    case SocketStep::connect: return fail(prefix + "connect: " + failure.cause);
  }
  return fail(prefix + failure.cause);
}

Status set_nonblocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return fail("fcntl: " + errno_text(errno));
  }
  return {};
}

}  // namespace

SocketAddress socket_address_of(const ChardevConfig& config) {
  if (is_unix(config)) return UnixAddress{config.path};
  return InetAddress{config.host, config.port};
}

std::string socket_address_text(const ChardevConfig& config) {
  if (is_unix(config)) return "unix:" + config.path;
  return "tcp:" + host_port_text(config.host, config.port);
}

Result<int> listen_socket(const ChardevConfig& config) {
  auto fd = godwit::listen_socket(socket_address_of(config),
                                  ListenOptions{.backlog = 1, .nonblocking = true,
                                                .replace_only_sockets = true});
  if (!fd) return socket_error(config, fd.error());
  return *fd;
}

Result<int> connect_socket(const ChardevConfig& config) {
  auto fd = godwit::connect_socket(socket_address_of(config));
  if (!fd) return socket_error(config, fd.error());
  if (auto status = set_nonblocking(*fd); !status) {
    close(*fd);
    return std::unexpected(std::move(status.error()).context(what(config)));
  }
  return *fd;
}

}  // namespace godwit
