// Everything the command line says about the machine to build, as plain data.
// The CLI fills it; Machine::create() checks the parts that need the host
// (files exist, sizes fit) and builds the machine from it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace godwit {

enum class MemoryBackendKind { kRam, kMemfd, kFile };

// -object memory-backend-{ram,memfd,file},id=ID,size=SIZE[,share=on|off][,mem-path=PATH]
struct MemoryBackendConfig {
  std::string id;
  MemoryBackendKind kind = MemoryBackendKind::kRam;
  uint64_t size_bytes = 0;
  // QEMU's defaults: memory-backend-memfd shares, the others do not.
  bool share = false;
  std::string mem_path;  // memory-backend-file only; a directory gets a temporary file
};

enum class ChardevKind { kStdio, kNull, kFile, kSocket };

// -chardev KIND,id=ID,... and the anonymous chardevs that -serial creates.
struct ChardevConfig {
  std::string id;
  ChardevKind kind = ChardevKind::kNull;
  std::string path;        // file: path=; socket: path= for unix sockets
  std::string host;        // socket: host= for tcp
  uint16_t port = 0;       // socket: port= for tcp
  bool server = false;     // socket: server=on
  bool wait = true;        // socket: wait=off to not block until a client connects
  bool append = false;     // file: append=on
  bool signal = true;      // stdio: signal=off stops Ctrl-C from killing godwit
  bool mux = false;        // stdio with -nographic: Ctrl-A escapes as QEMU's mux
};

// -mon chardev=ID[,mode=readline|control][,pretty=on|off]. -qmp and
// -monitor create one each, with a chardev named "compat_monitor<N>" as QEMU.
struct MonitorConfig {
  std::string chardev_id;
  bool control = false;  // mode=control: QMP; readline (the default): HMP
  bool pretty = false;   // QMP replies indented, as QEMU's pretty=on
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

  std::string bios = "none";  // -bios; only "none" exists (no firmware is bundled)
  std::string kernel_path;    // -kernel
  std::string append;         // -append, becomes /chosen/bootargs

  // -serial: the chardev id of each serial port, in order (only serial0 is
  // wired, to the one UART of virt). -serial stdio etc. create anonymous
  // chardevs named "serial0", ... in `chardevs`.
  std::vector<std::string> serial_chardev_ids;
  std::vector<ChardevConfig> chardevs;
  std::vector<MemoryBackendConfig> memory_backends;
  std::vector<MonitorConfig> monitors;

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
