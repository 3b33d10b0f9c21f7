// What the command line says about the machine to build, as plain data; the
// chardevs, memory backends and disks it lists are described beside the code that
// opens them.
// The CLI fills it; Machine::create() checks the parts that need the host
// (files exist, sizes fit) and builds the machine from it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "block/block_config.hpp"
#include "net/net_config.hpp"
#include "chardev/chardev_config.hpp"
#include "memory/memory_backend_config.hpp"

namespace godwit {

// -mon chardev=ID[,mode=readline|control][,pretty=on|off]. -qmp and
// -monitor create one each, with a chardev named "compat_monitor<N>" as QEMU.
// It stays with the machine, not in monitor/: the board reads it too (after
// a CPR handover, a process whose every monitor left exits), and monitor/
// is built on machine/.
struct MonitorConfig {
  std::string chardev_id;
  bool control = false;  // mode=control: QMP; readline (the default): HMP
  bool pretty = false;   // QMP replies indented, as QEMU's pretty=on
};

// -device DRIVER[,PROP=VALUE...] for the virtio devices godwit has:
// virtio-rng-device[,rng=ID], virtio-serial-device, virtconsole and
// virtserialport (chardev=ID, name=NAME), in command-line order.
struct DeviceConfig {
  std::string driver;
  std::string id;       // id=
  std::string rng;      // virtio-rng-device: rng=ID of an -object rng-*
  std::string chardev;  // virtconsole, virtserialport
  std::string name;     // virtconsole, virtserialport: the port's name
  std::string argument;  // as given, for messages ("-device virtconsole,chardev=x: ...")
  // virtio-blk-device: its disk, an index into MachineConfig::block.devices
  // (-drive if=virtio adds one of these too).
  int block_device = -1;
  // virtio-net-device: its NIC, an index into MachineConfig::net.nics
  // (-nic adds one of these too).
  int nic = -1;
};

// -object rng-builtin,id=ID or rng-random,id=ID[,filename=F].
struct RngBackendConfig {
  std::string id;
  bool builtin = true;
  std::string filename = "/dev/urandom";  // rng-random's default, as QEMU's
};

struct MachineConfig {
  // -machine / -M
  std::string machine_type = "virt";
  std::string memory_backend_id;  // memory-backend=ID
  bool aux_ram_share = false;     // aux-ram-share=on|off
  std::string dumpdtb_path;       // dumpdtb=FILE: write the device tree and exit

  uint64_t ram_size_bytes = 128ull << 20;  // -m; QEMU virt's default is 128 MiB
  bool ram_size_given = false;
  unsigned smp = 1;                        // -smp N, 1..8

  // -bios: "default" (QEMU's default: OpenSBI fw_dynamic, found as QEMU
  // finds it), "none" (the ROM jumps to the kernel) or a firmware file.
  std::string bios = "default";
  std::vector<std::string> data_dirs;  // -L: searched for firmware before the built-in places
  std::string kernel_path;    // -kernel
  std::string initrd_path;    // -initrd
  std::string dtb_path;       // -dtb: the device tree to pass instead of the board's own
  std::string append;         // -append, becomes /chosen/bootargs

  // -serial: the chardev id of each serial port, in order (only serial0 is
  // wired, to the one UART of virt). -serial stdio etc. create anonymous
  // chardevs named "serial0", ... in `chardevs`.
  std::vector<std::string> serial_chardev_ids;
  std::vector<ChardevConfig> chardevs;
  std::vector<MemoryBackendConfig> memory_backends;
  std::vector<MonitorConfig> monitors;
  std::vector<DeviceConfig> devices;
  std::vector<RngBackendConfig> rng_backends;
  // -global virtio-mmio.force-legacy=on|off: QEMU 10's default is legacy.
  bool virtio_mmio_force_legacy = true;
  BlockConfig block;  // -drive, -blockdev and what virtio-blk-device reads
  NetConfig net;      // -netdev, -nic and what virtio-net-device reads

  bool start_paused = false;  // -S
  std::string incoming;       // -incoming URI (or main channel JSON), or "defer" (wait for migrate-incoming)
  // -incoming {"channel-type": "cpr", ...}: where a cpr-transfer's old
  // godwit hands over its descriptors, read before the machine is built.
  std::string cpr_incoming;
  bool nographic = false;
  std::string display = "none";
  std::string name;           // -name
  std::string pidfile_path;   // -pidfile
  bool no_shutdown = false;   // -no-shutdown: stay in shutdown state instead of exiting
};

}  // namespace godwit
