// Loads a -kernel or -bios image into guest memory, as QEMU's
// riscv_load_kernel and riscv_load_firmware: an ELF64 RISC-V executable goes
// to its segments' physical addresses; anything else is copied raw to the
// address the caller gives (a Linux Image is such a raw file).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <span>
#include <vector>

#include "base/error.hpp"
#include "base/file_io.hpp"
#include "machine/virt_memory_map.hpp"
#include "memory/guest_memory.hpp"

namespace godwit {

struct LoadedKernel {
  uint64_t entry = 0;
  // Spike's host-target interface: present when the ELF defines these symbols.
  std::optional<uint64_t> tohost;
  std::optional<uint64_t> fromhost;
  uint64_t lowest_address = 0;   // the first loaded byte (where firmware enters a kernel)
  uint64_t highest_address = 0;  // one past the last loaded byte
};

// Where the image's bytes go.
enum class KernelPlacement {
  kWrite,           // into RAM and ROM
  kRamFromMigration,  // RAM arrives with an incoming migration (and shared RAM
                    // may already hold the guest): only ROM is written, RAM
                    // is only checked
};

// Parses `image` and writes it into `memory`. Every segment must lie in RAM
// or ROM; the error names the segment and its address otherwise.
Result<LoadedKernel> load_kernel(std::span<const uint8_t> image, GuestMemory memory,
                                 KernelPlacement placement = KernelPlacement::kWrite,
                                 uint64_t raw_address = virt::kDramBase);

}  // namespace godwit
