#include "net/netdev_options.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <vector>

namespace godwit {
namespace {

constexpr std::string_view kUserKeys[] = {"type", "id", "net", "host", "dns", "dhcpstart", "restrict", "hostname",
                                          "hostfwd", "ipv4", "ipv6"};
constexpr std::string_view kTapKeys[] = {"type", "id", "ifname", "fd", "script", "downscript", "vnet_hdr"};

Result<uint32_t> ipv4_address(std::string_view key, std::string_view text) {
  in_addr address{};
  const std::string copy(text);
  if (inet_pton(AF_INET, copy.c_str(), &address) != 1) {
    return fail("Parameter '" + std::string(key) + "' expects an IPv4 address, not '" + copy + "'");
  }
  return ntohl(address.s_addr);
}

Result<uint16_t> port_number(std::string_view text, const std::string& rule) {
  unsigned value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) {
    return fail("Invalid host forwarding rule '" + rule + "' (Bad port '" + std::string(text) + "')");
  }
  return static_cast<uint16_t>(value);
}

// [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT
Result<HostForward> host_forward(const std::string& rule) {
  HostForward forward;
  forward.text = rule;
  std::string_view rest = rule;
  const size_t colon = rest.find(':');
  if (colon == std::string_view::npos) return fail("Invalid host forwarding rule '" + rule + "' (No : separators)");
  const std::string_view protocol = rest.substr(0, colon);
  if (protocol == "udp") {
    forward.udp = true;
  } else if (!protocol.empty() && protocol != "tcp") {
    return fail("Invalid host forwarding rule '" + rule + "' (Bad protocol name)");
  }
  rest.remove_prefix(colon + 1);
  const size_t dash = rest.find('-');
  if (dash == std::string_view::npos) return fail("Invalid host forwarding rule '" + rule + "' (No - separator)");
  const auto split = [&](std::string_view part, uint32_t& address, uint16_t& port) -> Status {
    const size_t last = part.rfind(':');
    if (last == std::string_view::npos) return fail("Invalid host forwarding rule '" + rule + "' (No : separators)");
    if (last > 0) {
      auto parsed = ipv4_address("hostfwd", part.substr(0, last));
      if (!parsed) return fail("Invalid host forwarding rule '" + rule + "' (Bad address)");
      address = *parsed;
    }
    auto number = port_number(part.substr(last + 1), rule);
    if (!number) return std::unexpected(number.error());
    port = *number;
    return {};
  };
  if (auto status = split(rest.substr(0, dash), forward.host_address, forward.host_port); !status) {
    return std::unexpected(status.error());
  }
  if (auto status = split(rest.substr(dash + 1), forward.guest_address, forward.guest_port); !status) {
    return std::unexpected(status.error());
  }
  return forward;
}

// The user backend's options from `list` (keys already checked).
Status read_user_options(const KeyValueList& list, UserNetConfig& user) {
  if (auto net = list.get("net")) {
    // ADDR[/BITS] or ADDR/MASK; the default mask is /24, as QEMU's.
    std::string_view text = *net;
    const size_t slash = text.find('/');
    auto address = ipv4_address("net", text.substr(0, slash));
    if (!address) return std::unexpected(address.error());
    uint32_t mask = 0xffffff00;
    if (slash != std::string_view::npos) {
      const std::string_view suffix = text.substr(slash + 1);
      unsigned bits = 0;
      const auto [end, error] = std::from_chars(suffix.data(), suffix.data() + suffix.size(), bits);
      if (error == std::errc() && end == suffix.data() + suffix.size() && bits >= 1 && bits <= 30) {
        mask = ~uint32_t{0} << (32 - bits);
      } else {
        auto dotted = ipv4_address("net", suffix);
        if (!dotted) return fail("Parameter 'net' expects ADDR[/BITS] or ADDR/MASK, not '" + *net + "'");
        mask = *dotted;
      }
    }
    user.netmask = mask;
    user.network = *address & mask;
    // As QEMU: host, DNS and DHCP keep their places in the new network.
    user.host = user.network | 2;
    user.dns = user.network | 3;
    user.dhcp_start = user.network | 15;
  }
  for (auto [key, target] : {std::pair<std::string_view, uint32_t*>{"host", &user.host}, {"dns", &user.dns},
                             {"dhcpstart", &user.dhcp_start}}) {
    if (auto text = list.get(key)) {
      auto address = ipv4_address(key, *text);
      if (!address) return std::unexpected(address.error());
      if ((*address & user.netmask) != user.network) {
        return fail("Parameter '" + std::string(key) + "': " + *text + " is not in the guest network");
      }
      *target = *address;
    }
  }
  auto restricted = list.get_bool("restrict");
  if (!restricted) return std::unexpected(restricted.error());
  user.restricted = restricted->value_or(false);
  user.hostname = list.get("hostname").value_or("");
  if (auto ipv6 = list.get_bool("ipv6"); !ipv6) {
    return std::unexpected(ipv6.error());
  } else if (ipv6->value_or(false)) {
    return fail("Parameter 'ipv6': godwit's user networking is IPv4 only (ipv6=off)");
  }
  for (const auto& entry : list.entries()) {
    if (entry.key != "hostfwd") continue;
    auto forward = host_forward(entry.value);
    if (!forward) return std::unexpected(forward.error());
    user.forwards.push_back(std::move(*forward));
  }
  return {};
}

// The tap backend's options from `list` (keys already checked).
Status read_tap_options(const KeyValueList& list, TapNetConfig& tap) {
  tap.ifname = list.get("ifname").value_or("");
  if (tap.ifname.size() >= 16) return fail("Parameter 'ifname': '" + tap.ifname + "' is longer than 15 characters");
  if (auto text = list.get("fd")) {
    int fd = -1;
    const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), fd);
    if (error != std::errc() || end != text->data() + text->size() || fd < 0) {
      return fail("Parameter 'fd' expects a file descriptor number, not '" + *text + "'");
    }
    for (std::string_view key : {"ifname", "script", "downscript"}) {
      if (list.get(key)) return fail("ifname=, script= and downscript= are invalid with fd=");
    }
    tap.fd = fd;
    tap.script = "no";
    tap.downscript = "no";
  }
  if (auto script = list.get("script")) tap.script = *script;
  if (auto script = list.get("downscript")) tap.downscript = *script;
  auto vnet = list.get_bool("vnet_hdr");
  if (!vnet) return std::unexpected(vnet.error());
  if (vnet->has_value()) tap.vnet_hdr = **vnet ? TapNetConfig::VnetHeader::kOn : TapNetConfig::VnetHeader::kOff;
  return {};
}

}  // namespace

Status read_netdev_backend(KeyValueList& list, std::span<const std::string_view> extra_keys, NetdevConfig& netdev) {
  const std::string type = list.get("type").value_or("");
  std::vector<std::string_view> keys(extra_keys.begin(), extra_keys.end());
  if (type == "user") {
    keys.insert(keys.end(), std::begin(kUserKeys), std::end(kUserKeys));
    if (auto status = list.check_keys(keys); !status) return status;
    netdev.kind = NetdevConfig::Kind::kUser;
    return read_user_options(list, netdev.user);
  }
  if (type == "tap") {
    keys.insert(keys.end(), std::begin(kTapKeys), std::end(kTapKeys));
    if (auto status = list.check_keys(keys); !status) return status;
    netdev.kind = NetdevConfig::Kind::kTap;
    return read_tap_options(list, netdev.tap);
  }
  return fail("Parameter 'type' does not accept value '" + type + "' (godwit's backends: user, tap)");
}


Result<NetdevConfig> read_netdev(KeyValueList& list, std::string origin) {
  NetdevConfig netdev;
  if (auto status = read_netdev_backend(list, {}, netdev); !status) return std::unexpected(std::move(status.error()));
  netdev.id = list.get("id").value_or("");
  if (netdev.id.empty()) return fail("Parameter 'id' is missing");
  netdev.origin = std::move(origin);
  return netdev;
}

}  // namespace godwit
