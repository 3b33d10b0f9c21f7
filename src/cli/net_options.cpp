// -netdev, -nic and the NIC side of -device virtio-net-device, in QEMU's
// words. Errors say what is wrong; the caller prefixes the whole option.
#include <charconv>
#include <set>

#include "cli/option_handlers.hpp"
#include "net/netdev_options.hpp"

namespace godwit {
namespace {

Status add_netdev(ParseState& state, NetdevConfig netdev) {
  for (const NetdevConfig& other : state.config().net.netdevs) {
    if (other.id == netdev.id) return fail("Duplicate ID '" + netdev.id + "' for netdev");
  }
  state.config().net.netdevs.push_back(std::move(netdev));
  return {};
}

Result<std::array<uint8_t, 6>> parse_mac(std::string_view text) {
  std::array<uint8_t, 6> mac{};
  const auto bad = [&] { return fail("Property 'virtio-net-device.mac' doesn't take value '" + std::string(text) + "'"); };
  if (text.size() != 17) return bad();
  for (size_t i = 0; i < 6; ++i) {
    if (i > 0 && text[i * 3 - 1] != ':') return bad();
    unsigned value = 0;
    const char* first = text.data() + i * 3;
    const auto [end, error] = std::from_chars(first, first + 2, value, 16);
    if (error != std::errc() || end != first + 2) return bad();
    mac[i] = static_cast<uint8_t>(value);
  }
  return mac;
}

}  // namespace

Status handle_netdev(ParseState& state, std::string_view argument) {
  auto list = KeyValueList::parse(argument, "type");
  if (!list) return std::unexpected(std::move(list.error()));
  auto netdev = read_netdev(*list, "-netdev " + std::string(argument));
  if (!netdev) return std::unexpected(std::move(netdev.error()));
  return add_netdev(state, std::move(*netdev));
}

Status handle_nic(ParseState& state, std::string_view argument) {
  auto list = KeyValueList::parse(argument, "type");
  if (!list) return std::unexpected(std::move(list.error()));
  constexpr std::string_view kNicKeys[] = {"model", "mac"};
  NetdevConfig netdev;
  if (auto status = read_netdev_backend(*list, kNicKeys, netdev); !status) return status;
  const std::string model = list->get("model").value_or("virtio-net-device");
  if (model != "virtio-net-device" && model != "virtio") {
    return fail("unsupported NIC model '" + model + "' (godwit's virt board has virtio-net-device)");
  }
  netdev.id = list->get("id").value_or("__org.qemu.nic" + std::to_string(state.nic_index++));
  netdev.origin = "-nic " + std::string(argument);
  NicConfig nic;
  nic.netdev = netdev.id;
  nic.origin = netdev.origin;
  if (auto text = list->get("mac")) {
    auto mac = parse_mac(*text);
    if (!mac) return std::unexpected(mac.error());
    std::copy(mac->begin(), mac->end(), nic.mac);
    nic.mac_given = true;
  }
  if (auto status = add_netdev(state, std::move(netdev)); !status) return status;
  DeviceConfig device;
  device.driver = "virtio-net-device";
  device.argument = "virtio-net-device (-nic " + std::string(argument) + ")";
  device.nic = static_cast<int>(state.config().net.nics.size());
  state.config().net.nics.push_back(std::move(nic));
  state.config().devices.push_back(std::move(device));
  return {};
}

Result<NicConfig> virtio_net_device(const KeyValueList& list) {
  NicConfig nic;
  nic.netdev = list.get("netdev").value_or("");
  if (nic.netdev.empty()) {
    return fail("Property 'virtio-net-device.netdev' is required (godwit has no NIC without a backend)");
  }
  if (auto text = list.get("mac")) {
    auto mac = parse_mac(*text);
    if (!mac) return std::unexpected(mac.error());
    std::copy(mac->begin(), mac->end(), nic.mac);
    nic.mac_given = true;
  }
  return nic;
}

Status check_nics(MachineConfig& config) {
  std::set<std::string> netdevs;
  for (const NetdevConfig& netdev : config.net.netdevs) netdevs.insert(netdev.id);
  std::set<std::string> used;
  uint8_t next = 0x56;
  for (NicConfig& nic : config.net.nics) {
    if (!netdevs.contains(nic.netdev)) {
      return fail(nic.origin + ": Property 'virtio-net-device.netdev' can't find value '" + nic.netdev + "'");
    }
    if (!used.insert(nic.netdev).second) {
      return fail(nic.origin + ": Property 'virtio-net-device.netdev' can't take value '" + nic.netdev +
                  "', it's in use");
    }
    // QEMU's default MACs: 52:54:00:12:34:56, then :57, ... per NIC.
    if (!nic.mac_given) nic.mac[5] = next++;
  }
  return {};
}

}  // namespace godwit
