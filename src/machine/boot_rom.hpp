// The reset vector every hart starts at (0x1000), as QEMU's
// riscv_setup_rom_reset_vec writes it: a0 = mhartid, a1 = device tree
// address, a2 = address of OpenSBI's fw_dynamic_info block (right after the
// code and its two address words, at 0x1028), then a jump to the start
// address: the firmware's, or the kernel's with -bios none.
#pragma once

#include <cstdint>
#include <vector>

namespace godwit {

struct BootRomConfig {
  uint64_t start_address = 0;  // where every hart jumps
  uint64_t fdt_address = 0;    // a1
  // fw_dynamic_info.next_addr: where the firmware enters the kernel in
  // S-mode (the kernel's lowest address, as QEMU; 0 without a kernel).
  uint64_t next_address = 0;
};

// Returns the ROM contents (kMromSize bytes).
std::vector<uint8_t> build_boot_rom(const BootRomConfig& config);

}  // namespace godwit
