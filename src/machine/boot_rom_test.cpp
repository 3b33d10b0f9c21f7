#include "machine/boot_rom.hpp"

#include <gtest/gtest.h>

#include "base/byte_order.hpp"
#include "machine/virt_memory_map.hpp"

namespace godwit {
namespace {

TEST(BootRom, LoadsHartIdDeviceTreeAndJumpsToTheEntry) {
  const auto rom = build_boot_rom(0x80200000, 0x87e00000);
  ASSERT_EQ(rom.size(), virt::kMromSize);
  EXPECT_EQ(load_le<uint32_t>(&rom[0]), 0x00000297u);   // auipc t0, 0
  EXPECT_EQ(load_le<uint32_t>(&rom[4]), 0x02828613u);   // addi a2, t0, 40
  EXPECT_EQ(load_le<uint32_t>(&rom[8]), 0xf1402573u);   // csrr a0, mhartid
  EXPECT_EQ(load_le<uint32_t>(&rom[12]), 0x0202b583u);  // ld a1, 32(t0)
  EXPECT_EQ(load_le<uint32_t>(&rom[16]), 0x0182b283u);  // ld t0, 24(t0)
  EXPECT_EQ(load_le<uint32_t>(&rom[20]), 0x00028067u);  // jr t0
  EXPECT_EQ(load_le<uint64_t>(&rom[24]), 0x80200000u);
  EXPECT_EQ(load_le<uint64_t>(&rom[32]), 0x87e00000u);
  EXPECT_EQ(load_le<uint64_t>(&rom[40]), 0x4942534fu);  // fw_dynamic_info magic
}

}  // namespace
}  // namespace godwit
