// The sockets of -chardev socket, opened through io/socket_setup, with the
// chardev's wording: "unix socket /p: bind: Permission denied" or
// "tcp socket [::1]:4444: connect: Connection refused".
#pragma once

#include <cstdint>
#include <string>

#include "base/error.hpp"
#include "chardev/chardev_config.hpp"
#include "io/socket_address.hpp"

namespace godwit {

// The address a socket chardev's path, host and port give.
SocketAddress socket_address_of(const ChardevConfig& config);

// "unix:/path" or "tcp:host:port" (an IPv6 host in brackets), as QEMU's
// `info chardev` spells socket addresses.
std::string socket_address_text(const ChardevConfig& config);

// A listening, non-blocking socket. A unix path that already holds a
// socket is replaced, as QEMU does; any other file there is an error.
// An empty tcp host listens on all addresses.
Result<int> listen_socket(const ChardevConfig& config);

// A connected, non-blocking socket; an empty tcp host means the local host.
Result<int> connect_socket(const ChardevConfig& config);

}  // namespace godwit
