#include "machine/linux_image.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "base/byte_order.hpp"

namespace godwit {
namespace {

// The first 64 bytes of Debian's linux-image-6.12 riscv64 Image (an EFI
// stub: "MZ" first), with its text_offset 0x200000 and image_size 0x1e6c000.
std::vector<uint8_t> debian_image_header() {
  std::vector<uint8_t> image(64, 0);
  const uint8_t code[] = {'M', 'Z', 0x6f, 0x10, 0x60, 0x0d, 0x01, 0x00};
  std::memcpy(image.data(), code, sizeof code);
  store_le<uint64_t>(&image[8], 0x200000);
  store_le<uint64_t>(&image[16], 0x1e6c000);
  store_le<uint32_t>(&image[32], 2);  // version 0.2
  std::memcpy(&image[48], "RISCV\0\0\0", 8);
  std::memcpy(&image[56], "RSC\x05", 4);
  return image;
}

TEST(LinuxImage, ReadsTextOffsetAndImageSize) {
  const auto header = parse_linux_image_header(debian_image_header());
  ASSERT_TRUE(header);
  EXPECT_EQ(header->text_offset, 0x200000u);
  EXPECT_EQ(header->image_size, 0x1e6c000u);
}

TEST(LinuxImage, EitherMagicIsEnough) {
  auto old_magic_only = debian_image_header();
  std::memset(&old_magic_only[56], 0, 4);
  EXPECT_TRUE(parse_linux_image_header(old_magic_only));
  auto new_magic_only = debian_image_header();
  std::memset(&new_magic_only[48], 0, 8);
  EXPECT_TRUE(parse_linux_image_header(new_magic_only));
}

TEST(LinuxImage, OtherFilesHaveNoHeader) {
  auto image = debian_image_header();
  std::memset(&image[48], 0, 16);
  EXPECT_FALSE(parse_linux_image_header(image));
  EXPECT_FALSE(parse_linux_image_header(std::vector<uint8_t>(63, 0)));  // shorter than a header
  EXPECT_FALSE(parse_linux_image_header({}));
  const std::vector<uint8_t> elf = {0x7f, 'E', 'L', 'F'};
  EXPECT_FALSE(parse_linux_image_header(elf));
}

}  // namespace
}  // namespace godwit
