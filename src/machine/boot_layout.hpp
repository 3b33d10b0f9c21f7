// Where QEMU's virt board puts what it boots (hw/riscv/boot.c in QEMU 10,
// checked against qemu-system-riscv64 10.0.2's `info roms`): the firmware at
// the start of RAM, the kernel at the firmware's end rounded up to 2 MiB, the
// initrd above the kernel, the device tree at the end of RAM.
#pragma once

#include <cstdint>

namespace godwit {

// riscv_calc_kernel_start_addr for RV64: 0x80200000 after Debian's
// fw_dynamic.bin (which ends at 0x80042868), the start of RAM without firmware.
uint64_t kernel_start_address(uint64_t firmware_end);

// riscv_load_initrd: half of RAM above the kernel's lowest address, at most
// 512 MiB above it (QEMU 10 moved the cap from 128 MiB to 512 MiB).
uint64_t initrd_address(uint64_t kernel_start, uint64_t ram_size);

// riscv_compute_fdt_addr for RV64: the last 2 MiB boundary that leaves room
// for the tree before the end of RAM (QEMU before 9.1 also kept it below 3 GiB;
// QEMU 10 does so only for RV32).
uint64_t device_tree_address(uint64_t ram_base, uint64_t ram_size, uint64_t fdt_size);

}  // namespace godwit
