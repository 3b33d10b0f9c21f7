#include "cli/command_line.hpp"

#include <algorithm>
#include <array>
#include <set>

#include "base/size_parse.hpp"
#include "base/version.hpp"
#include "cli/option_handlers.hpp"

namespace godwit {
namespace {

struct OptionSpec {
  std::string_view name;
  bool takes_argument;
  OptionHandler handler;
  std::string_view help;  // "" keeps an alias out of help_text()
  std::string_view argument_help = "";
};

// Every option godwit knows. A new option is one row here and a handler.
constexpr auto kOptions = std::to_array<OptionSpec>({
    {"machine", true, handle_machine, "select the board; virt is the only one",
     "virt[,memory-backend=ID][,aux-ram-share=on|off][,dumpdtb=FILE]"},
    {"M", true, handle_machine, ""},
    {"m", true, handle_memory_size, "guest RAM size; a plain number is MiB, suffixes B K M G T",
     "[size=]SIZE"},
    {"smp", true, handle_smp, "number of harts, 1 to 8", "[cpus=]N"},
    {"bios", true, handle_bios,
     "firmware: default (OpenSBI fw_dynamic), none (enter the kernel in M-mode) or a file", "default|none|FILE"},
    {"L", true, handle_data_dir, "a directory to search for -bios firmware first (repeatable)", "DIR"},
    {"kernel", true, handle_kernel, "kernel to load: an ELF, a Linux Image or a raw binary", "FILE"},
    {"initrd", true, handle_initrd, "initial ram disk (/chosen/linux,initrd-start and -end)", "FILE"},
    {"dtb", true, handle_dtb, "device tree to pass instead of the board's own", "FILE"},
    {"append", true, handle_append, "kernel command line (/chosen/bootargs)", "STRING"},
    {"serial", true, handle_serial, "connect the serial port (repeatable)",
     "stdio|null|none|file:PATH|unix:PATH[,server=on,wait=off]|tcp:HOST:PORT[,...]|chardev:ID"},
    {"chardev", true, handle_chardev, "define a character device",
     "stdio|null|file|socket,id=ID[,path=P][,host=H,port=N][,server=on|off][,wait=on|off]"},
    {"qmp", true, handle_qmp, "a QMP monitor on a socket (repeatable)",
     "unix:PATH[,server=on,wait=off]|tcp:HOST:PORT[,server=on,wait=off]|stdio"},
    {"monitor", true, handle_monitor, "a human monitor (HMP) (repeatable)",
     "stdio|unix:PATH[,server=on,wait=off]|tcp:HOST:PORT[,...]|none"},
    {"mon", true, handle_mon, "a monitor on a -chardev",
     "[chardev=]ID[,mode=readline|control][,pretty=on|off]"},
    {"object", true, handle_object, "define a guest RAM backend or an entropy source",
     "memory-backend-ram|memory-backend-memfd|memory-backend-file,id=ID,size=SIZE[,share=on|off][,"
     "mem-path=P] | rng-builtin,id=ID | rng-random,id=ID[,filename=F]"},
    {"drive", true, handle_drive, "a disk image, and with if=virtio (the default) its virtio-blk device",
     "file=FILE[,format=raw][,if=virtio|none][,id=ID][,readonly=on|off][,cache=writeback|none|writethrough|"
     "directsync|unsafe][,discard=ignore|unmap]"},
    {"blockdev", true, handle_blockdev, "a block node: a file, or raw over a file node (or JSON)",
     "driver=file,node-name=N,filename=FILE[,read-only=on][,cache.direct=on][,discard=unmap]|"
     "driver=raw,node-name=N,file=NODE"},
    {"device", true, handle_device, "add a virtio device (repeatable; or JSON)",
     "virtio-blk-device,drive=ID|NODE[,serial=S][,share-rw=on|off]|virtio-rng-device[,rng=ID]|"
     "virtio-serial-device|virtconsole,chardev=ID[,name=N]|virtserialport,...|"
     "virtio-net-device,netdev=ID[,mac=MAC]"},
    {"netdev", true, handle_netdev, "a network backend for a NIC: user networking (libslirp)",
     "user,id=ID[,net=ADDR[/MASK]][,host=ADDR][,dns=ADDR][,dhcpstart=ADDR][,restrict=on|off][,hostname=NAME]"
     "[,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]..."},
    {"nic", true, handle_nic, "a NIC and its backend in one: -netdev options plus model= and mac=",
     "user[,model=virtio-net-device][,mac=MAC][,-netdev user options]"},
    {"global", true, handle_global, "set a device property default", "virtio-mmio.force-legacy=on|off"},
    {"nographic", false, handle_nographic,
     "no display; the serial port on a stdio console with C-a escapes"},
    {"display", true, handle_display, "display type; only none", "none"},
    {"S", false, handle_start_paused, "do not start the harts until told to (monitor cont)"},
    {"incoming", true, handle_incoming, "wait for a migration stream (or defer: for migrate-incoming)",
     "tcp:HOST:PORT|unix:PATH|fd:N|exec:CMD|file:PATH[,offset=N]|defer"},
    {"name", true, handle_name, "guest name", "[guest=]NAME"},
    {"pidfile", true, handle_pidfile, "write the process id to FILE", "FILE"},
    {"no-shutdown", false, handle_no_shutdown, "stay in the shutdown state instead of exiting"},
    {"version", false, handle_version, "print the version and exit"},
    {"h", false, handle_help, ""},
    {"help", false, handle_help, "print this help and exit"},
});

const OptionSpec* find_option(std::string_view name) {
  for (const OptionSpec& spec : kOptions) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

Status check_chardevs(ParseState& state) {
  MachineConfig& config = state.config();
  if (!state.serial_given) {
    // QEMU's default serial: the terminal; -nographic multiplexes it with
    // C-a escapes and passes Ctrl-C to the guest.
    ChardevConfig stdio;
    stdio.id = "serial0";
    stdio.kind = ChardevKind::kStdio;
    stdio.mux = config.nographic;
    stdio.signal = !config.nographic;
    config.chardevs.push_back(stdio);
    config.serial_chardev_ids.push_back(stdio.id);
  }
  std::set<std::string> ids;
  unsigned stdio_count = 0;
  for (const ChardevConfig& chardev : config.chardevs) {
    if (!ids.insert(chardev.id).second) {
      return fail("-chardev: duplicate ID '" + chardev.id + "' for chardev");
    }
    if (chardev.kind == ChardevKind::kStdio) ++stdio_count;
  }
  if (stdio_count > 1) return fail("-chardev: cannot use stdio by multiple character devices");
  for (const std::string& id : config.serial_chardev_ids) {
    if (!ids.contains(id))
      return fail("-serial chardev:" + id + ": chardev '" + id + "' not found");
  }
  std::set<std::string> monitored;
  for (const MonitorConfig& monitor : config.monitors) {
    if (!ids.contains(monitor.chardev_id)) {
      return fail("-mon: chardev '" + monitor.chardev_id + "' not found");
    }
    if (!monitored.insert(monitor.chardev_id).second) {
      return fail("-mon: chardev '" + monitor.chardev_id + "' is already in use by a monitor");
    }
  }
  return {};
}

Status check_memory(MachineConfig& config) {
  std::set<std::string> ids;
  for (const MemoryBackendConfig& backend : config.memory_backends) {
    if (!ids.insert(backend.id).second) {
      return fail("-object: duplicate ID '" + backend.id + "' for object");
    }
  }
  if (config.memory_backend_id.empty()) return {};
  auto it =
      std::find_if(config.memory_backends.begin(), config.memory_backends.end(),
                   [&](const auto& backend) { return backend.id == config.memory_backend_id; });
  if (it == config.memory_backends.end()) {
    return fail("-machine: memory backend '" + config.memory_backend_id + "' not found");
  }
  if (config.ram_size_given && config.ram_size_bytes != it->size_bytes) {
    // QEMU: "Machine memory size does not match the size of the memory backend".
    return fail("-m: machine memory size " + format_size(config.ram_size_bytes) +
                " does not match the size " + format_size(it->size_bytes) + " of memory backend '" +
                it->id + "'");
  }
  config.ram_size_bytes = it->size_bytes;
  return {};
}

// QEMU's own checks (qemu_validate_options), in its words.
Status check_boot(const MachineConfig& config) {
  if (!config.kernel_path.empty()) return {};
  if (!config.append.empty()) return fail("-append only allowed with -kernel option");
  if (!config.initrd_path.empty()) return fail("-initrd only allowed with -kernel option");
  return {};
}

}  // namespace

Result<CommandLine> parse_command_line(std::span<const std::string> args) {
  ParseState state;
  for (size_t i = 0; i < args.size() && !state.done; ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg[0] != '-') {
      return fail("'" + arg + "': unexpected argument (options start with '-')");
    }
    // QEMU accepts "--m" as well as "-m".
    const std::string_view name = std::string_view(arg).substr(arg[1] == '-' ? 2 : 1);
    const OptionSpec* spec = find_option(name);
    if (spec == nullptr) return fail(arg + ": invalid option");
    std::string_view argument;
    if (spec->takes_argument) {
      if (i + 1 >= args.size()) return fail(arg + ": requires an argument");
      argument = args[++i];
    }
    if (auto status = spec->handler(state, argument); !status) {
      // Named as typed ("-M", "--machine"), as QEMU does; -device and
      // -global with their argument too, as QEMU names them.
      const bool whole = spec->name == "device" || spec->name == "global" || spec->name == "netdev" ||
                         spec->name == "nic";
      return std::unexpected(std::move(status.error()).context(whole ? arg + " " + std::string(argument) : arg));
    }
  }
  if (state.command_line.action == CommandLine::Action::kRun) {
    if (auto status = check_chardevs(state); !status) return std::unexpected(status.error());
    if (auto status = check_memory(state.config()); !status) return std::unexpected(status.error());
    if (auto status = check_boot(state.config()); !status) return std::unexpected(status.error());
    if (auto status = check_block_devices(state); !status) return std::unexpected(status.error());
    if (auto status = check_nics(state.config()); !status) return std::unexpected(status.error());
    if (auto status = check_devices(state.config()); !status) return std::unexpected(status.error());
  }
  return std::move(state.command_line);
}

std::string version_text() { return "godwit version " + std::string(kGodwitVersion) + "\n"; }

std::string machine_list_text() {
  return "Supported machines are:\n"
         "virt                 RISC-V VirtIO board (default)\n";
}

std::string help_text() {
  std::string text =
      "usage: godwit [options]\n"
      "A RISC-V (RV64) virtual machine monitor.\n\n";
  for (const OptionSpec& spec : kOptions) {
    if (spec.help.empty()) continue;
    text += '-';
    text += spec.name;
    if (!spec.argument_help.empty()) {
      text += ' ';
      text += spec.argument_help;
    }
    text += "\n        ";
    text += spec.help;
    text += '\n';
  }
  text += "\nOptions take one or two dashes. -M is -machine, -h is -help.\n";
  return text;
}

}  // namespace godwit
