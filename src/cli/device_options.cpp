// -device and -global for the virtio devices, in QEMU's words: errors are
// prefixed with the whole option ("-device foo: 'foo' is not a valid device
// model name") by the caller.
#include <algorithm>
#include <array>
#include <set>

#include "base/key_value_list.hpp"
#include "cli/option_handlers.hpp"

namespace godwit {
namespace {

struct DeviceModel {
  std::string_view driver;
  std::initializer_list<std::string_view> properties;
};

// The -device models godwit has, with the properties each takes.
const std::array<DeviceModel, 6> kDeviceModels = {{
    {"virtio-net-device", {"driver", "id", "netdev", "mac"}},
    {"virtio-blk-device", {"driver", "id", "drive", "serial", "share-rw"}},
    {"virtio-rng-device", {"driver", "id", "rng"}},
    {"virtio-serial-device", {"driver", "id"}},
    {"virtconsole", {"driver", "id", "chardev", "name"}},
    {"virtserialport", {"driver", "id", "chardev", "name"}},
}};

// Transports on QEMU's virt board: eight, filled from the highest down.
constexpr unsigned kVirtioTransports = 8;

bool is_port(std::string_view driver) { return driver == "virtconsole" || driver == "virtserialport"; }

Status device_error(const DeviceConfig& device, const std::string& message) {
  return fail("-device " + device.argument + ": " + message);
}

}  // namespace

Status handle_device(ParseState& state, std::string_view argument) {
  auto list = parse_options(argument, "driver");
  if (!list) return std::unexpected(std::move(list.error()));
  DeviceConfig device;
  device.driver = list->get("driver").value_or("");
  device.argument = std::string(argument);
  if (device.driver.empty()) return fail("Parameter 'driver' is missing");
  const DeviceModel* model = nullptr;
  for (const DeviceModel& candidate : kDeviceModels) {
    if (candidate.driver == device.driver) model = &candidate;
  }
  if (model == nullptr) return fail("'" + device.driver + "' is not a valid device model name");
  for (const auto& entry : list->entries()) {
    if (std::find(model->properties.begin(), model->properties.end(), entry.key) == model->properties.end()) {
      return fail("Property '" + device.driver + "." + entry.key + "' not found");
    }
  }
  device.id = list->get("id").value_or("");
  device.rng = list->get("rng").value_or("");
  device.chardev = list->get("chardev").value_or("");
  device.name = list->get("name").value_or("");
  if (device.driver == "virtio-blk-device") {
    auto disk = virtio_blk_device(*list, argument);
    if (!disk) return std::unexpected(std::move(disk.error()));
    device.block_device = static_cast<int>(state.config().block.devices.size());
    state.config().block.devices.push_back(std::move(*disk));
  }
  if (device.driver == "virtio-net-device") {
    auto nic = virtio_net_device(*list);
    if (!nic) return std::unexpected(std::move(nic.error()));
    nic->origin = "-device " + std::string(argument);
    device.nic = static_cast<int>(state.config().net.nics.size());
    state.config().net.nics.push_back(std::move(*nic));
  }
  state.config().devices.push_back(std::move(device));
  return {};
}

Status handle_global(ParseState& state, std::string_view argument) {
  // DRIVER.PROP=VALUE, QEMU's short form.
  const size_t equals = argument.find('=');
  const size_t dot = argument.substr(0, equals).rfind('.');
  if (equals == std::string_view::npos || dot == std::string_view::npos) {
    return fail("Invalid parameter '" + std::string(argument) + "' (expected DRIVER.PROPERTY=VALUE)");
  }
  const std::string driver(argument.substr(0, dot));
  const std::string property(argument.substr(dot + 1, equals - dot - 1));
  const std::string_view value = argument.substr(equals + 1);
  if (driver != "virtio-mmio") {
    return fail("driver '" + driver + "' has no global properties in godwit (virtio-mmio.force-legacy)");
  }
  if (property != "force-legacy") return fail("Property 'virtio-mmio." + property + "' not found");
  auto legacy = parse_bool(property, value);
  if (!legacy) return std::unexpected(std::move(legacy.error()));
  state.config().virtio_mmio_force_legacy = *legacy;
  return {};
}

Status check_devices(MachineConfig& config) {
  std::set<std::string> chardevs;
  for (const ChardevConfig& chardev : config.chardevs) chardevs.insert(chardev.id);
  std::set<std::string> rngs;
  for (const RngBackendConfig& rng : config.rng_backends) {
    if (!rngs.insert(rng.id).second) return fail("-object: duplicate ID '" + rng.id + "' for object");
    for (const MemoryBackendConfig& memory : config.memory_backends) {
      if (memory.id == rng.id) return fail("-object: duplicate ID '" + rng.id + "' for object");
    }
  }
  unsigned transports = 0;
  bool serial_bus = false;
  std::set<std::string> used_chardevs;
  for (const MonitorConfig& monitor : config.monitors) used_chardevs.insert(monitor.chardev_id);
  for (const std::string& id : config.serial_chardev_ids) used_chardevs.insert(id);
  for (const DeviceConfig& device : config.devices) {
    if (is_port(device.driver)) {
      if (!serial_bus) return device_error(device, "No 'virtio-serial-bus' bus found for device '" + device.driver + "'");
      if (!device.chardev.empty()) {
        if (!chardevs.contains(device.chardev)) {
          return device_error(device, "Property '" + device.driver + ".chardev' can't find value '" + device.chardev + "'");
        }
        if (!used_chardevs.insert(device.chardev).second) {
          return device_error(device, "Property '" + device.driver + ".chardev' can't take value '" + device.chardev +
                                          "': Device '" + device.chardev + "' is in use");
        }
      }
      continue;
    }
    if (++transports > kVirtioTransports) {
      return device_error(device, "No 'virtio-bus' bus found for device '" + device.driver + "'");
    }
    if (device.driver == "virtio-serial-device") serial_bus = true;
    if (!device.rng.empty() && !rngs.contains(device.rng)) {
      return device_error(device, "Property 'virtio-rng-device.rng' can't find value '" + device.rng + "'");
    }
  }
  return {};
}

}  // namespace godwit
