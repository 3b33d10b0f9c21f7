#include "machine/boot_layout.hpp"

#include <gtest/gtest.h>

namespace godwit {
namespace {

// Every expected address below is what qemu-system-riscv64 10.0.2 reports
// with `info roms` for the same RAM size, Debian's fw_dynamic.bin (0x42868
// bytes) and a 0x13e9-byte device tree.
TEST(BootLayout, KernelGoesToTheNextTwoMiBAfterTheFirmware) {
  EXPECT_EQ(kernel_start_address(0x80000000 + 0x42868), 0x80200000u);
  EXPECT_EQ(kernel_start_address(0x80200000), 0x80200000u);
  EXPECT_EQ(kernel_start_address(0x80000000), 0x80000000u);  // -bios none
}

TEST(BootLayout, InitrdGoesHalfwayUpRamAtMost512MiBAboveTheKernel) {
  EXPECT_EQ(initrd_address(0x80200000, 128ull << 20), 0x84200000u);
  EXPECT_EQ(initrd_address(0x80200000, 256ull << 20), 0x88200000u);
  EXPECT_EQ(initrd_address(0x80200000, 1ull << 30), 0xa0200000u);
  EXPECT_EQ(initrd_address(0x80200000, 4ull << 30), 0xa0200000u);
  EXPECT_EQ(initrd_address(0x80000000, 256ull << 20), 0x88000000u);  // -bios none
}

TEST(BootLayout, DeviceTreeGoesToTheLastTwoMiBBoundaryOfRam) {
  EXPECT_EQ(device_tree_address(0x80000000, 128ull << 20, 0x13e9), 0x87e00000u);
  EXPECT_EQ(device_tree_address(0x80000000, 256ull << 20, 0x13e9), 0x8fe00000u);
  EXPECT_EQ(device_tree_address(0x80000000, 1ull << 30, 0x13e9), 0xbfe00000u);
  // Above 3 GiB too: QEMU 10 keeps it below 3 GiB only for RV32.
  EXPECT_EQ(device_tree_address(0x80000000, 4ull << 30, 0x13e9), 0x17fe00000u);
  // A tree of exactly 2 MiB ends at the end of RAM.
  EXPECT_EQ(device_tree_address(0x80000000, 128ull << 20, 2ull << 20), 0x87e00000u);
}

}  // namespace
}  // namespace godwit
