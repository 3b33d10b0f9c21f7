// The flattened device tree handed to the guest in a1, built with libfdt.
// Node names, compatibles and properties follow QEMU's virt board
// (hw/riscv/virt.c) for the devices godwit has, so a kernel built for QEMU's
// virt machine finds them where it expects. The devices' nodes come from the
// board's device list, each entry writing its own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "machine/board_devices.hpp"

namespace godwit {

struct DeviceTreeConfig {
  uint64_t ram_base = 0;
  uint64_t ram_size = 0;
  unsigned harts = 1;
  std::string bootargs;  // empty: no /chosen/bootargs, as QEMU without -append
  const BoardDevices* devices = nullptr;  // their nodes under /soc
};

Result<std::vector<uint8_t>> build_device_tree(const DeviceTreeConfig& config);

// Where QEMU puts the device tree: at the end of the first 3 GiB of RAM (or
// of RAM if smaller), aligned down to 2 MiB (riscv_compute_fdt_addr).
uint64_t device_tree_address(uint64_t ram_base, uint64_t ram_size, uint64_t fdt_size);

}  // namespace godwit
