#include "machine/boot_loader.hpp"

#include <gtest/gtest.h>
#include <libfdt.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "base/byte_order.hpp"
#include "base/temp_dir_test_util.hpp"
#include "machine/elf_image_test_util.hpp"
#include "machine/fdt_writer.hpp"

namespace godwit {
namespace {

constexpr uint64_t kRamBase = 0x80000000;
constexpr uint64_t kRamSize = 128ull << 20;

std::vector<uint8_t> board_tree() {
  FdtWriter w(4096);
  w.begin("");
  w.begin("chosen");
  w.prop_string("stdout-path", "/soc/serial@10000000");
  w.end();
  w.end();
  return *w.finish();
}

// A Linux Image header claiming `image_size` bytes, padded to `file_size`.
std::vector<uint8_t> linux_image(uint64_t file_size, uint64_t image_size) {
  std::vector<uint8_t> image(file_size, 0);
  store_le<uint64_t>(&image[8], 0x200000);
  store_le<uint64_t>(&image[16], image_size);
  std::memcpy(&image[48], "RISCV\0\0\0", 8);
  std::memcpy(&image[56], "RSC\x05", 4);
  return image;
}

uint64_t chosen_u64(const std::vector<uint8_t>& tree, const char* name) {
  int len = 0;
  const void* value = fdt_getprop(tree.data(), fdt_path_offset(tree.data(), "/chosen"), name, &len);
  if (value == nullptr || len != 8) return ~0ull;
  return fdt64_ld(static_cast<const fdt64_t*>(value));  // properties are only 4-byte aligned
}

class BootLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(memory.map_ram(kRamBase, ram)); }

  Result<BootSetup> load(KernelPlacement placement = KernelPlacement::kWrite) {
    return load_boot_images({.files = &files, .board_tree = tree, .append = append, .ram_base = kRamBase, .ram_size_bytes = kRamSize},
                            guest, placement);
  }
  uint8_t ram_at(uint64_t address) const { return ram[address - kRamBase]; }

  std::vector<uint8_t> ram = std::vector<uint8_t>(kRamSize, 0);
  AddressSpace memory;
  GuestMemory guest{memory};
  BootFiles files;
  std::vector<uint8_t> tree = board_tree();
  std::string append;
};

TEST_F(BootLoaderTest, FirmwareKernelInitrdAndTreeGoWhereQemuPutsThem) {
  // qemu-system-riscv64 10.0.2 -m 128M with Debian's fw_dynamic.bin
  // (0x42868 bytes), an Image and a 1000-byte initrd: `info roms` shows the
  // kernel at 0x80200000, the initrd at 0x84200000, the tree at 0x87e00000.
  files.firmware = {"fw_dynamic.bin", std::vector<uint8_t>(0x42868, 0xf1)};
  files.kernel = {"Image", linux_image(0x1000, 0x10000)};
  files.initrd = {"initrd", std::vector<uint8_t>(1000, 0x1d)};
  append = "console=ttyS0";
  auto setup = load();
  ASSERT_TRUE(setup) << setup.error().message();
  EXPECT_EQ(setup->rom.start_address, 0x80000000u);
  EXPECT_EQ(setup->rom.next_address, 0x80200000u);
  EXPECT_EQ(setup->rom.fdt_address, 0x87e00000u);
  EXPECT_EQ(setup->device_tree_address, 0x87e00000u);
  EXPECT_EQ(setup->initrd_start, 0x84200000u);
  EXPECT_EQ(setup->initrd_end, 0x84200000u + 1000);
  EXPECT_EQ(ram_at(0x80000000), 0xf1);
  EXPECT_EQ(ram_at(0x80000000 + 0x42867), 0xf1);
  EXPECT_EQ(ram_at(0x80200000 + 48), 'R');
  EXPECT_EQ(ram_at(0x84200000), 0x1d);
  EXPECT_EQ(ram_at(0x87e00000), 0xd0);  // the tree's magic, big-endian
  EXPECT_EQ(ram_at(0x87e00003), 0xed);
  EXPECT_EQ(chosen_u64(setup->device_tree, "linux,initrd-start"), 0x84200000u);
  EXPECT_EQ(chosen_u64(setup->device_tree, "linux,initrd-end"), 0x84200000u + 1000);
  EXPECT_STREQ(static_cast<const char*>(fdt_getprop(setup->device_tree.data(),
                                                    fdt_path_offset(setup->device_tree.data(), "/chosen"), "bootargs", nullptr)),
               "console=ttyS0");
}

TEST_F(BootLoaderTest, ElfFirmwareAndKernelGoByTheirHeaders) {
  files.firmware = {"fw.elf", testing::make_elf(0x80000000)};
  files.kernel = {"kernel.elf", testing::make_elf(0x80400000)};
  auto setup = load();
  ASSERT_TRUE(setup) << setup.error().message();
  EXPECT_EQ(setup->rom.start_address, 0x80000000u);  // the firmware's entry
  EXPECT_EQ(setup->rom.next_address, 0x80400000u);   // the kernel's lowest address
  EXPECT_EQ(ram_at(0x80400000), 0x13);
}

TEST_F(BootLoaderTest, WithoutFirmwareTheRomEntersTheKernel) {
  files.kernel = {"guest.elf", testing::make_elf(0x80000000)};
  auto elf = load();
  ASSERT_TRUE(elf);
  EXPECT_EQ(elf->rom.start_address, 0x80000000u);
  EXPECT_EQ(elf->rom.next_address, 0x80000000u);
  files.kernel = {"Image", linux_image(0x1000, 0x1000)};
  files.initrd = {"initrd", std::vector<uint8_t>(10, 1)};
  auto raw = load();
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->rom.start_address, 0x80000000u);  // a raw kernel at the start of RAM
  EXPECT_EQ(raw->initrd_start, 0x84000000u);
}

TEST_F(BootLoaderTest, WithoutKernelTheFirmwareIsToldZero) {
  files.firmware = {"fw_dynamic.bin", std::vector<uint8_t>(0x100, 0xf1)};
  auto setup = load();
  ASSERT_TRUE(setup);
  EXPECT_EQ(setup->rom.start_address, 0x80000000u);
  EXPECT_EQ(setup->rom.next_address, 0u);
  EXPECT_FALSE(fdt_get_property(setup->device_tree.data(), fdt_path_offset(setup->device_tree.data(), "/chosen"), "bootargs", nullptr));
}

TEST_F(BootLoaderTest, AGivenTreeIsUsedAndFixedUp) {
  FdtWriter w(4096);
  w.begin("");
  w.prop_string("model", "mine");
  w.begin("chosen");
  w.end();
  w.end();
  files.dtb = {"mine.dtb", *w.finish()};
  files.kernel = {"Image", linux_image(0x1000, 0x1000)};
  append = "quiet";
  auto setup = load();
  ASSERT_TRUE(setup) << setup.error().message();
  EXPECT_STREQ(static_cast<const char*>(fdt_getprop(setup->device_tree.data(), 0, "model", nullptr)), "mine");
  EXPECT_STREQ(static_cast<const char*>(fdt_getprop(setup->device_tree.data(),
                                                    fdt_path_offset(setup->device_tree.data(), "/chosen"), "bootargs", nullptr)),
               "quiet");
  files.dtb = {"text.dtb", std::vector<uint8_t>(64, 'x')};
  auto bad = load();
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message().rfind("-dtb 'text.dtb': ", 0), 0u) << bad.error().message();
}

TEST_F(BootLoaderTest, WhatDoesNotFitIsNamed) {
  files.firmware = {"fw_dynamic.bin", std::vector<uint8_t>(0x100, 0xf1)};
  files.kernel = {"big.bin", std::vector<uint8_t>(kRamSize, 1)};
  auto kernel = load();
  ASSERT_FALSE(kernel);
  EXPECT_EQ(kernel.error().message(), "-kernel 'big.bin': its 134217728 bytes do not fit in RAM at 0x80200000");

  files.kernel = {"Image", linux_image(0x1000, 0x1000)};
  files.initrd = {"initrd", std::vector<uint8_t>(64ull << 20, 1)};
  auto initrd = load();
  ASSERT_FALSE(initrd);
  EXPECT_EQ(initrd.error().message(),
            "-initrd 'initrd': its 67108864 bytes do not fit in RAM at 0x84200000 (RAM ends at 0x88000000); use a larger -m");

  // The Image's .bss reaches past where the initrd would go.
  files.kernel = {"Image", linux_image(0x1000, 80ull << 20)};
  files.initrd = {"initrd", std::vector<uint8_t>(10, 1)};
  auto overlap = load();
  ASSERT_FALSE(overlap);
  EXPECT_EQ(overlap.error().message(),
            "-initrd 'initrd': at 0x84200000 it would overlap the kernel, which needs memory up to 0x85200000; use a larger -m");

  // An initrd reaching into the last 2 MiB leaves no room for the tree.
  files.kernel = {"Image", linux_image(0x1000, 0x1000)};
  files.initrd = {"initrd", std::vector<uint8_t>(0x3d00000, 1)};
  auto tree_room = load();
  ASSERT_FALSE(tree_room);
  EXPECT_NE(tree_room.error().message().find("no room for the device tree"), std::string::npos) << tree_room.error().message();

  files.initrd = {};
  files.kernel = {"low.elf", testing::make_elf(0x80000000)};
  auto on_firmware = load();
  ASSERT_FALSE(on_firmware);
  EXPECT_EQ(on_firmware.error().message(), "-kernel 'low.elf': it overlaps the firmware at 0x80000000..0x80000100");
}

TEST_F(BootLoaderTest, AnIncomingMigrationWritesNothingButPlacesAlike) {
  files.firmware = {"fw_dynamic.bin", std::vector<uint8_t>(0x100, 0xf1)};
  files.kernel = {"Image", linux_image(0x1000, 0x1000)};
  files.initrd = {"initrd", std::vector<uint8_t>(10, 1)};
  auto setup = load(KernelPlacement::kRamFromMigration);
  ASSERT_TRUE(setup) << setup.error().message();
  EXPECT_EQ(setup->rom.fdt_address, 0x87e00000u);
  EXPECT_EQ(setup->initrd_start, 0x84200000u);
  for (uint64_t address : {0x80000000ull, 0x80200030ull, 0x84200000ull, 0x87e00000ull}) EXPECT_EQ(ram_at(address), 0) << address;
}

TEST(BootFiles, ErrorsNameTheOptionAndTheFile) {
  testing::TempDir dir;
  MachineConfig config;
  config.bios = "none";
  config.kernel_path = dir / "missing";
  auto missing = read_boot_files(config, kRamSize);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(), "-kernel: could not open '" + dir / "missing" + "': No such file or directory");

  std::ofstream(dir / "empty");
  config.kernel_path = dir / "empty";
  auto empty = read_boot_files(config, kRamSize);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message(), "-kernel: '" + dir / "empty" + "' is empty");

  std::ofstream(dir / "kernel") << "kernel";
  std::ofstream(dir / "initrd") << "an initrd larger than RAM";
  config.kernel_path = dir / "kernel";
  config.initrd_path = dir / "initrd";
  auto large = read_boot_files(config, 16);
  ASSERT_FALSE(large);
  EXPECT_EQ(large.error().message().rfind("-initrd: '" + dir / "initrd" + "' is 25 bytes, more than 16", 0), 0u) << large.error().message();

  config.initrd_path.clear();
  config.bios = dir / "no-firmware.bin";
  auto firmware = read_boot_files(config, kRamSize);
  ASSERT_FALSE(firmware);
  EXPECT_EQ(firmware.error().message().rfind("-bios: could not find firmware '" + dir / "no-firmware.bin" + "'", 0), 0u)
      << firmware.error().message();
}

// An incoming machine maps its files: the same places as a read, nothing
// copied until read_in(), which a reset needs first.
TEST(BootFiles, MappedFilesPlaceAsReadOnesAndReadInBeforeAReset) {
  testing::TempDir dir;
  MachineConfig config;
  config.bios = "none";
  config.kernel_path = dir / "kernel";
  config.initrd_path = dir / "initrd";
  std::ofstream(dir / "kernel") << std::string(5000, 'k');
  std::ofstream(dir / "initrd") << std::string(3000, 'i');
  auto read = read_boot_files(config, kRamSize);
  auto mapped = read_boot_files(config, kRamSize, BootFileAccess::kMap);
  ASSERT_TRUE(read && mapped);
  EXPECT_FALSE(read->kernel.mapped);
  ASSERT_TRUE(mapped->kernel.mapped);
  EXPECT_TRUE(mapped->kernel.bytes.empty());
  EXPECT_TRUE(std::ranges::equal(mapped->kernel.contents(), read->kernel.bytes));
  EXPECT_TRUE(std::ranges::equal(mapped->initrd.contents(), read->initrd.bytes));

  ASSERT_TRUE(mapped->read_in());
  EXPECT_FALSE(mapped->kernel.mapped);
  EXPECT_EQ(mapped->kernel.bytes, read->kernel.bytes);
  EXPECT_EQ(mapped->initrd.bytes, read->initrd.bytes);

  auto shrinking = read_boot_files(config, kRamSize, BootFileAccess::kMap);
  ASSERT_TRUE(shrinking);
  ASSERT_EQ(::truncate((dir / "initrd").c_str(), 10), 0);
  auto failed = shrinking->read_in();
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().message(), "-initrd: '" + dir / "initrd" + "' shrank from 3000 to 10 bytes since godwit mapped it");
}

}  // namespace
}  // namespace godwit
