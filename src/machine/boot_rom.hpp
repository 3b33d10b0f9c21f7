// The reset vector every hart starts at (0x1000), following QEMU's riscv
// convention (riscv_setup_rom_reset_vec): a0 = mhartid, a1 = device tree
// address, a2 = address of a fw_dynamic_info block, then jump to the kernel.
#pragma once

#include <cstdint>
#include <vector>

namespace godwit {

// Returns the ROM contents (kMromSize bytes) for a kernel entered at `entry`
// with the device tree at `fdt_address`.
std::vector<uint8_t> build_boot_rom(uint64_t entry, uint64_t fdt_address);

}  // namespace godwit
