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
  // /chosen/rng-seed: QEMU writes 32 random bytes; empty leaves it out.
  std::vector<uint8_t> rng_seed;
  const BoardDevices* devices = nullptr;  // their nodes under /soc
};

// The board's tree. What the command line adds to /chosen (bootargs, the
// initrd) is added afterwards, to this tree or to one given with -dtb
// (chosen_fixup.hpp), as QEMU does.
Result<std::vector<uint8_t>> build_device_tree(const DeviceTreeConfig& config);

}  // namespace godwit
