// Opening the sockets of -chardev socket: a unix path or a tcp host and port,
// listening or connecting. Errors read "unix socket /p: bind: Permission
// denied" or "tcp socket [::1]:4444: connect: Connection refused".
#pragma once

#include <cstdint>
#include <string>

#include "base/error.hpp"
#include "machine/machine_config.hpp"

namespace godwit {

// "unix:/path" or "tcp:host:port" (an IPv6 host in brackets), as QEMU's
// `info chardev` spells socket addresses.
std::string socket_address_text(const ChardevConfig& config);

// A listening, non-blocking, close-on-exec socket. A unix path that already
// holds a socket is replaced, as QEMU does; any other file there is an error.
// An empty tcp host listens on all addresses.
Result<int> listen_socket(const ChardevConfig& config);

// A connected, non-blocking, close-on-exec socket; an empty tcp host means
// the local host.
Result<int> connect_socket(const ChardevConfig& config);

// The tcp port a socket is bound to (0 for unix sockets).
uint16_t socket_bound_port(int fd);

// Whether `fd`, handed over by an old program, is the socket `config`
// describes: listening on its path or port (`listening`), or connected to
// it. A tcp server with port 0 takes any port.
bool socket_matches(int fd, const ChardevConfig& config, bool listening);

}  // namespace godwit
