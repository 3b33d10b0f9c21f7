// Socket addresses as QEMU writes them (util/qemu-sockets.c): a tcp host and
// port, or a unix path. Chardevs, the monitor and migration all read them
// here; each words a malformed address its own way, so the parser says what
// was wrong and leaves the message to the caller.
//
// Threads: plain values and pure functions; any thread.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace godwit {

// A tcp endpoint. The host is kept without the brackets of an IPv6
// literal; an empty host means "any" when listening and the loopback
// address when connecting, as getaddrinfo gives them.
struct InetAddress {
  std::string host;
  uint16_t port = 0;  // 0 only when listening: the kernel picks one
  bool operator==(const InetAddress&) const = default;
};

struct UnixAddress {
  std::string path;
  bool operator==(const UnixAddress&) const = default;
};

using SocketAddress = std::variant<InetAddress, UnixAddress>;

// A decimal port, 0 to 65535 (godwit takes no service names).
std::optional<uint16_t> parse_port(std::string_view text);

// "host:port" with an IPv6 host in brackets: "[::1]:4444".
std::string host_port_text(const std::string& host, uint16_t port);

// The pieces of "HOST:PORT", "[V6]:PORT" or ":PORT", then ",options".
struct HostPortText {
  std::string host;
  std::string port;     // not yet checked to be a number
  std::string options;  // from the first comma after the port, or empty
};

// QEMU's three inet_parse failures: "error parsing address",
// "error parsing IPv6 address", "error parsing port in address".
enum class HostPortError { address, ipv6_address, port };

// inet_parse's split: the host ends at the first colon (at most 64
// characters) unless it is bracketed; the port may not be empty.
std::expected<HostPortText, HostPortError> split_host_port(std::string_view text);

}  // namespace godwit
