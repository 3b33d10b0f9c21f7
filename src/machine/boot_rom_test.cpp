#include "machine/boot_rom.hpp"

#include <gtest/gtest.h>

#include "base/byte_order.hpp"
#include "machine/virt_memory_map.hpp"

namespace godwit {
namespace {

TEST(BootRom, LoadsHartIdDeviceTreeAndJumpsToTheStart) {
  const auto rom = build_boot_rom({.start_address = 0x80000000, .fdt_address = 0x87e00000, .next_address = 0x80200000});
  ASSERT_EQ(rom.size(), virt::kMromSize);
  // The same words qemu-system-riscv64 10.0.2 writes as mrom.reset.
  EXPECT_EQ(load_le<uint32_t>(&rom[0]), 0x00000297u);   // auipc t0, 0
  EXPECT_EQ(load_le<uint32_t>(&rom[4]), 0x02828613u);   // addi a2, t0, 40
  EXPECT_EQ(load_le<uint32_t>(&rom[8]), 0xf1402573u);   // csrr a0, mhartid
  EXPECT_EQ(load_le<uint32_t>(&rom[12]), 0x0202b583u);  // ld a1, 32(t0)
  EXPECT_EQ(load_le<uint32_t>(&rom[16]), 0x0182b283u);  // ld t0, 24(t0)
  EXPECT_EQ(load_le<uint32_t>(&rom[20]), 0x00028067u);  // jr t0
  EXPECT_EQ(load_le<uint64_t>(&rom[24]), 0x80000000u);  // start
  EXPECT_EQ(load_le<uint64_t>(&rom[32]), 0x87e00000u);  // device tree
}

TEST(BootRom, CarriesFwDynamicInfoAsQemu) {
  const auto rom = build_boot_rom({.start_address = 0x80000000, .fdt_address = 0x8fe00000, .next_address = 0x80200000});
  // mrom.finfo at 0x1028: magic "OSBI", version 2, next_addr, next_mode S,
  // options 0, boot_hart 0.
  EXPECT_EQ(load_le<uint64_t>(&rom[40]), 0x4942534fu);
  EXPECT_EQ(load_le<uint64_t>(&rom[48]), 2u);
  EXPECT_EQ(load_le<uint64_t>(&rom[56]), 0x80200000u);
  EXPECT_EQ(load_le<uint64_t>(&rom[64]), 1u);
  EXPECT_EQ(load_le<uint64_t>(&rom[72]), 0u);
  EXPECT_EQ(load_le<uint64_t>(&rom[80]), 0u);
  for (size_t i = 88; i < rom.size(); ++i) ASSERT_EQ(rom[i], 0) << "byte " << i;
}

}  // namespace
}  // namespace godwit
