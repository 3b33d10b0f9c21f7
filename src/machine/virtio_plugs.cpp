#include "machine/virtio_plugs.hpp"

#include <memory>

#include "base/hex.hpp"
#include "virtio/entropy_source.hpp"
#include "virtio/virtio_blk.hpp"
#include "virtio/virtio_console.hpp"
#include "virtio/virtio_mmio_with.hpp"
#include "virtio/virtio_net.hpp"
#include "virtio/virtio_rng.hpp"

namespace godwit {

namespace {

template <class Backend>
VirtioPlug plug(std::unique_ptr<Backend> backend, GuestMemory memory) {
  return [backend = std::move(backend), memory](BoardDevices& devices, BoardDeviceInfo info, IrqLine irq,
                                                bool legacy) mutable {
    std::string label = "virtio-mmio@" + hex(info.base);
    devices.add(std::move(info), std::make_unique<VirtioMmioWith<Backend>>(irq, memory, std::move(backend), legacy,
                                                                            std::move(label)));
  };
}

Result<std::unique_ptr<EntropySource>> entropy_for(const MachineConfig& config, const DeviceConfig& device) {
  // QEMU's default without rng=: a builtin source of its own.
  if (device.rng.empty()) return make_builtin_entropy();
  for (const RngBackendConfig& rng : config.rng_backends) {
    if (rng.id != device.rng) continue;
    if (rng.builtin) return make_builtin_entropy();
    return with_context(open_entropy_file(rng.filename), "-object rng-random,id=" + rng.id);
  }
  return fail("-device " + device.argument + ": Property 'virtio-rng-device.rng' can't find value '" + device.rng + "'");
}

}  // namespace

Result<std::vector<VirtioPlug>> make_virtio_plugs(const MachineConfig& config, GuestMemory memory,
                                                  const std::function<CharBackend*(const std::string&)>& find_chardev,
                                                  const BlockImages& disks, const NetPlugContext& net) {
  std::vector<VirtioPlug> plugs;
  const auto& devices = config.devices;
  for (size_t i = 0; i < devices.size(); ++i) {
    const DeviceConfig& device = devices[i];
    if (device.driver == "virtio-blk-device") {
      // BlockImages keeps the block devices' order.
      const BlockImages::Disk& disk = disks.disks().at(static_cast<size_t>(device.block_device));
      VirtioBlk::Options options{.read_only = disk.plan.read_only,
                                 .write_cache = disk.plan.write_cache,
                                 .serial = disk.plan.device.serial};
      plugs.push_back(plug(std::make_unique<VirtioBlk>(*disk.image, memory, std::move(options)), memory));
    } else if (device.driver == "virtio-net-device") {
      const NicConfig& nic = config.net.nics.at(static_cast<size_t>(device.nic));
      NetBackend* backend = net.find_netdev(nic.netdev);
      if (backend == nullptr) {
        return fail(nic.origin + ": Property 'virtio-net-device.netdev' can't find value '" + nic.netdev + "'");
      }
      std::array<uint8_t, 6> mac;
      std::copy(std::begin(nic.mac), std::end(nic.mac), mac.begin());
      auto device = std::make_unique<VirtioNet>(*backend, net.loop, mac);
      if (net.nics != nullptr) net.nics->push_back(device.get());
      plugs.push_back(plug(std::move(device), memory));
    } else if (device.driver == "virtio-rng-device") {
      auto source = entropy_for(config, device);
      if (!source) return std::unexpected(std::move(source.error()));
      plugs.push_back(plug(std::make_unique<VirtioRng>(std::move(*source)), memory));
    } else if (device.driver == "virtio-serial-device") {
      std::vector<VirtioConsole::PortConfig> ports;
      for (size_t j = i + 1; j < devices.size() && devices[j].driver != "virtio-serial-device"; ++j) {
        const DeviceConfig& port = devices[j];
        if (port.driver != "virtconsole" && port.driver != "virtserialport") continue;
        CharBackend* chardev = port.chardev.empty() ? nullptr : find_chardev(port.chardev);
        if (!port.chardev.empty() && chardev == nullptr) {
          return fail("-device " + port.argument + ": Property '" + port.driver + ".chardev' can't find value '" +
                      port.chardev + "'");
        }
        ports.push_back({chardev, port.name, port.driver == "virtconsole"});
      }
      if (auto ids = VirtioConsole::assign_port_ids(ports); !ids) {
        return std::unexpected(std::move(ids.error()).context("-device " + device.argument));
      }
      plugs.push_back(plug(std::make_unique<VirtioConsole>(std::move(ports)), memory));
    }
  }
  return plugs;
}

}  // namespace godwit
