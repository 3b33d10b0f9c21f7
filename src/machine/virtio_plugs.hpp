// The -device list turned into virtio backends, each ready to be put in a
// transport of the board (QEMU's order: the first -device goes to the
// highest transport). A virtconsole or virtserialport joins the
// virtio-serial-device before it on the command line.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "block/block_setup.hpp"
#include "chardev/char_backend.hpp"
#include "devices/irq_line.hpp"
#include "machine/board_devices.hpp"
#include "machine/machine_config.hpp"
#include "io/io_loop.hpp"
#include "memory/guest_memory.hpp"
#include "net/net_backend.hpp"

namespace godwit {

class VirtioNet;

// Adds the transport carrying one backend to the board's list, at `info`'s
// window with `irq`; `legacy` picks the register layout.
using VirtioPlug = std::move_only_function<void(BoardDevices&, BoardDeviceInfo, IrqLine, bool legacy)>;

// One plug per transport-level -device (virtio-blk-device, virtio-rng-device,
// virtio-serial-device, virtio-net-device), in command-line order;
// virtio-blk-device takes its
// image from `disks`. `find_chardev` returns the
// chardev named ID or nullptr. Fails naming the -device whose backend
// cannot be made (an rng-random file that does not open).
// What virtio-net-device needs: its -netdev by id (nullptr: none), and
// the I/O loop its frames go through.
// `nics` (when given) collects each NIC made, for the self-announcement
// after a migration.
struct NetPlugContext {
  std::function<NetBackend*(const std::string&)> find_netdev;
  IoLoop& loop;
  std::vector<VirtioNet*>* nics = nullptr;
};

Result<std::vector<VirtioPlug>> make_virtio_plugs(const MachineConfig& config, GuestMemory memory,
                                                  const std::function<CharBackend*(const std::string&)>& find_chardev,
                                                  const BlockImages& disks, const NetPlugContext& net);

}  // namespace godwit
