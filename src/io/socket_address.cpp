#include "io/socket_address.hpp"

namespace godwit {

std::optional<uint16_t> parse_port(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint32_t>(c - '0');
    if (value > 65535) return std::nullopt;
  }
  return static_cast<uint16_t>(value);
}

std::string host_port_text(const std::string& host, uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::expected<HostPortText, HostPortError> split_host_port(std::string_view text) {
  HostPortText parts;
  size_t port_begin = 0;
  if (text.starts_with(":")) {
    port_begin = 1;
    if (port_begin >= text.size() || text[port_begin] == ',') {
      return std::unexpected(HostPortError::port);
    }
  } else if (text.starts_with("[")) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close == 1 || close + 1 >= text.size() ||
        text[close + 1] != ':' || close + 2 >= text.size() || text[close + 2] == ',') {
      return std::unexpected(HostPortError::ipv6_address);
    }
    parts.host = text.substr(1, close - 1);
    port_begin = close + 2;
  } else {
    const size_t colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 64 || colon + 1 >= text.size() ||
        text[colon + 1] == ',') {
      return std::unexpected(HostPortError::address);
    }
    parts.host = text.substr(0, colon);
    port_begin = colon + 1;
  }
  const size_t comma = text.find(',', port_begin);
  parts.port = text.substr(port_begin, comma - port_begin);
  if (comma != std::string_view::npos) parts.options = text.substr(comma);
  return parts;
}

}  // namespace godwit
