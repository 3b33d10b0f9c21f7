// Puts what the command line boots into guest memory the way QEMU's virt
// board does (virt_machine_done in hw/riscv/virt.c): the firmware (-bios) at
// the start of RAM, the kernel after it (boot_layout.hpp), the initrd above
// the kernel, /chosen fixed up, the device tree at the end of RAM; and says
// what the reset ROM must hold to start it all.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/mapped_file.hpp"
#include "machine/boot_rom.hpp"
#include "machine/elf_loader.hpp"
#include "machine/machine_config.hpp"
#include "memory/guest_memory.hpp"

namespace godwit {

// The files -bios, -kernel, -initrd and -dtb name, read once: a reset loads
// the same bytes again, as QEMU keeps its ROM blobs. An empty path: not given
// (for the firmware: -bios none).
//
// An incoming machine gets its RAM, images included, from the migration:
// it only needs to know where the images lie, which their headers and
// sizes say. Its files are mapped rather than read (`mapped`), so that
// reading a 30 MiB kernel is not part of a cpr-exec's pause; read_in()
// makes the bytes its own before a reset needs them all.
struct BootFile {
  std::string path;
  std::vector<uint8_t> bytes;
  std::shared_ptr<const MappedFile> mapped;

  std::span<const uint8_t> contents() const {
    return mapped ? mapped->bytes() : std::span<const uint8_t>(bytes);
  }
};
struct BootFiles {
  BootFile firmware;
  BootFile kernel;
  BootFile initrd;
  BootFile dtb;

  // Reads every mapped file into `bytes` and drops the mapping; fails,
  // naming the option and file, if one has shrunk since it was mapped.
  Status read_in();
};

enum class BootFileAccess { kRead, kMap };

// Finds the firmware (firmware_search.hpp) and reads (or maps) every file.
// No file may be larger than `ram_size_bytes`. Errors name the option and
// the file.
Result<BootFiles> read_boot_files(const MachineConfig& config, uint64_t ram_size_bytes,
                                  BootFileAccess access = BootFileAccess::kRead);

struct BootRequest {
  const BootFiles* files = nullptr;
  std::span<const uint8_t> board_tree;  // the board's device tree, unless -dtb gave one
  std::string append;                   // -append
  uint64_t ram_base = 0;
  uint64_t ram_size_bytes = 0;
};

struct BootSetup {
  BootRomConfig rom;
  LoadedKernel kernel;               // entry is 0 without -kernel
  std::vector<uint8_t> device_tree;  // as placed, /chosen fixed up
  uint64_t device_tree_address = 0;
  uint64_t initrd_start = 0;         // 0 without -initrd
  uint64_t initrd_end = 0;
};

// Places everything and returns where it went. With kRamFromMigration
// (RAM arrives with an incoming migration) nothing is written to RAM but the
// same addresses are computed. Errors name the option, the file and the
// addresses that do not fit.
Result<BootSetup> load_boot_images(const BootRequest& request, GuestMemory memory,
                                   KernelPlacement placement = KernelPlacement::kWrite);

}  // namespace godwit
