#include "machine/elf_loader.hpp"

#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>

#include "machine/elf_image_test_util.hpp"

namespace godwit {
namespace {

using testing::make_elf;

class ElfLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(memory.map_ram(0x80000000, ram)); }
  std::vector<uint8_t> ram = std::vector<uint8_t>(1 << 20, 0xee);
  AddressSpace memory;
  GuestMemory guest{memory};
};

TEST_F(ElfLoaderTest, LoadsSegmentsZeroesBssAndFindsHtifSymbols) {
  auto kernel = load_kernel(make_elf(0x80000000), guest);
  ASSERT_TRUE(kernel) << kernel.error().message();
  EXPECT_EQ(kernel->entry, 0x80000000u);
  EXPECT_EQ(ram[0], 0x13);
  EXPECT_EQ(ram[4], 0);      // bss cleared
  EXPECT_EQ(ram[0x1ff], 0);
  EXPECT_EQ(ram[0x200], 0xee);  // past memsz untouched
  ASSERT_TRUE(kernel->tohost);
  EXPECT_EQ(*kernel->tohost, 0x80000100u);
  ASSERT_TRUE(kernel->fromhost);
  EXPECT_EQ(*kernel->fromhost, 0x80000108u);
  EXPECT_EQ(kernel->highest_address, 0x80000200u);
}

TEST_F(ElfLoaderTest, RejectsSegmentsOutsideMemory) {
  auto kernel = load_kernel(make_elf(0x40000000), guest);
  ASSERT_FALSE(kernel);
  EXPECT_NE(kernel.error().message().find("ELF segment 0 at 0x40000000"), std::string::npos) << kernel.error().message();
}

TEST_F(ElfLoaderTest, RejectsOtherArchitectures) {
  auto kernel = load_kernel(make_elf(0x80000000, EM_X86_64), guest);
  ASSERT_FALSE(kernel);
  EXPECT_NE(kernel.error().message().find("not for RISC-V"), std::string::npos);
}

TEST_F(ElfLoaderTest, RejectsTruncatedFiles) {
  auto image = make_elf(0x80000000);
  image.resize(sizeof(Elf64_Ehdr) + 10);
  auto kernel = load_kernel(image, guest);
  ASSERT_FALSE(kernel);
  EXPECT_NE(kernel.error().message().find("outside the file"), std::string::npos) << kernel.error().message();
}

TEST_F(ElfLoaderTest, RawImagesGoToTheStartOfRam) {
  const std::vector<uint8_t> jump_to_self = {0x6f, 0x00, 0x00, 0x00};
  auto kernel = load_kernel(jump_to_self, guest);
  ASSERT_TRUE(kernel);
  EXPECT_EQ(kernel->entry, 0x80000000u);
  EXPECT_EQ(ram[0], 0x6f);
  EXPECT_FALSE(kernel->tohost);
}

TEST(ReadFile, NamesTheMissingFile) {
  auto data = read_file("/nonexistent/godwit-kernel.elf");
  ASSERT_FALSE(data);
  EXPECT_NE(data.error().message().find("/nonexistent/godwit-kernel.elf"), std::string::npos);
}

}  // namespace
}  // namespace godwit
