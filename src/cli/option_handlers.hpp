// The handlers behind the option table in command_line.cpp, grouped by what
// they configure. Each reads one option's argument into ParseState; errors
// say what is wrong with the argument, and the caller prefixes the option.
#pragma once

#include <string_view>

#include "base/error.hpp"
#include "cli/command_line.hpp"
#include "base/key_value_list.hpp"

namespace godwit {

struct ParseState {
  CommandLine command_line;
  MachineConfig& config() { return command_line.config; }
  bool serial_given = false;  // any -serial, even "none": no default serial
  unsigned serial_index = 0;  // names the next anonymous chardev "serial<N>"
  unsigned monitor_index = 0;  // names the next "compat_monitor<N>"
  unsigned virtio_drive_index = 0;  // names the next -drive if=virtio without id "virtio<N>"
  unsigned none_drive_index = 0;    // and if=none "none<N>", as QEMU
  unsigned nic_index = 0;           // names the next -nic's netdev "__org.qemu.nic<N>"
  bool done = false;          // -version, -help, -machine help: stop parsing
};

using OptionHandler = Status (*)(ParseState& state, std::string_view argument);

// machine_options.cpp
Status handle_machine(ParseState& state, std::string_view argument);
Status handle_memory_size(ParseState& state, std::string_view argument);
Status handle_smp(ParseState& state, std::string_view argument);
Status handle_bios(ParseState& state, std::string_view argument);
Status handle_data_dir(ParseState& state, std::string_view argument);
Status handle_kernel(ParseState& state, std::string_view argument);
Status handle_initrd(ParseState& state, std::string_view argument);
Status handle_dtb(ParseState& state, std::string_view argument);
Status handle_append(ParseState& state, std::string_view argument);
Status handle_name(ParseState& state, std::string_view argument);
Status handle_display(ParseState& state, std::string_view argument);
Status handle_pidfile(ParseState& state, std::string_view argument);
Status handle_nographic(ParseState& state, std::string_view argument);
Status handle_start_paused(ParseState& state, std::string_view argument);
Status handle_no_shutdown(ParseState& state, std::string_view argument);
Status handle_incoming(ParseState& state, std::string_view argument);
Status handle_version(ParseState& state, std::string_view argument);
Status handle_help(ParseState& state, std::string_view argument);

// chardev_options.cpp
Status handle_chardev(ParseState& state, std::string_view argument);
Status handle_serial(ParseState& state, std::string_view argument);
// The legacy chardev syntax of -serial, -qmp and -monitor (stdio, null,
// file:PATH, unix:PATH[,server=on,wait=off], tcp:HOST:PORT[,...]) as a
// chardev named `id`.
Result<ChardevConfig> legacy_chardev(std::string_view argument, std::string id);

// monitor_options.cpp
Status handle_qmp(ParseState& state, std::string_view argument);
Status handle_monitor(ParseState& state, std::string_view argument);
Status handle_mon(ParseState& state, std::string_view argument);

// object_options.cpp
Status handle_object(ParseState& state, std::string_view argument);

// block_options.cpp
Status handle_drive(ParseState& state, std::string_view argument);
Status handle_blockdev(ParseState& state, std::string_view argument);
// The properties of -device virtio-blk-device into a BlockDeviceConfig.
Result<BlockDeviceConfig> virtio_blk_device(const KeyValueList& list, std::string_view argument);
// After parsing: the drives, nodes and devices form a graph godwit can
// open; each -drive if=virtio gets its device after the -device ones, as
// QEMU creates them.
Status check_block_devices(ParseState& state);
// -blockdev and -device take QEMU's keyval form or, starting with '{', JSON.
Result<KeyValueList> parse_options(std::string_view argument, std::string_view implied_key);

// net_options.cpp
Status handle_netdev(ParseState& state, std::string_view argument);
Status handle_nic(ParseState& state, std::string_view argument);
// The properties of -device virtio-net-device into a NicConfig.
Result<NicConfig> virtio_net_device(const KeyValueList& list);
// After parsing: each NIC's netdev exists and serves no other NIC; NICs
// without mac= get QEMU's 52:54:00:12:34:56 upwards.
Status check_nics(MachineConfig& config);

// device_options.cpp
Status handle_device(ParseState& state, std::string_view argument);
Status handle_global(ParseState& state, std::string_view argument);
// After parsing: what each -device refers to exists (chardevs, rng
// objects, a virtio-serial bus) and the eight transports suffice.
Status check_devices(MachineConfig& config);

}  // namespace godwit
