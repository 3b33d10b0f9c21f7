// Creating the sockets behind a SocketAddress: resolving a tcp host,
// binding and listening, connecting, as util/qemu-sockets.c does for
// chardevs and migration alike. Sockets are close-on-exec.
//
// A failure names the step that failed and its errno; the caller words it
// (a chardev says "unix socket /p: bind: ...", migration says QEMU's
// "Failed to bind socket to /p: ..."), since both wordings are established.
//
// Threads: none kept; any thread.
#pragma once

#include <cstdint>
#include <expected>
#include <string>

#include "io/socket_address.hpp"

namespace godwit {

enum class SocketStep {
  resolve,        // getaddrinfo; `cause` holds its text
  path_too_long,  // a unix path past sun_path; `err` is 0
  not_a_socket,   // a listener's path holds another kind of file; `err` is 0
  unlink,         // removing a stale socket file
  socket,
  bind,
  listen,
  connect,
};

struct SocketFailure {
  SocketStep step;
  int err = 0;
  std::string cause;  // errno's text, or getaddrinfo's for resolve
};

template <class T>
using SocketResult = std::expected<T, SocketFailure>;

struct ListenOptions {
  int backlog = 1;
  // Accepting from a poll loop wants it; a thread that blocks in accept
  // does not.
  bool nonblocking = true;
  // QEMU unlinks whatever lies at a listener's path; a chardev refuses to
  // remove anything but a stale socket.
  bool replace_only_sockets = false;
};

// A listening socket. A unix path is replaced (see ListenOptions) and
// removed again if listening fails. With no host, tcp prefers one
// dual-stack IPv6 socket over an IPv4-only one, as QEMU does.
SocketResult<int> listen_socket(const SocketAddress& address, const ListenOptions& options);

// A connected, blocking socket; a connect interrupted by a signal is
// retried.
SocketResult<int> connect_socket(const SocketAddress& address);

// The tcp port a socket is bound to (0 for unix sockets).
uint16_t socket_bound_port(int fd);

// Whether `fd`, handed over by an old program, is the socket `address`
// describes: listening on its path or port (`listening`), or connected to
// it. A tcp listener asked for port 0 matches any port.
bool socket_matches(int fd, const SocketAddress& address, bool listening);

}  // namespace godwit
