#include "machine/linux_image.hpp"

#include <cstring>

#include "base/byte_order.hpp"

namespace godwit {
namespace {

constexpr size_t kTextOffsetAt = 8;
constexpr size_t kImageSizeAt = 16;
constexpr size_t kMagicAt = 48;
constexpr size_t kMagic2At = 56;
constexpr size_t kHeaderBytes = 64;
constexpr uint8_t kMagic[8] = {'R', 'I', 'S', 'C', 'V', 0, 0, 0};
constexpr uint8_t kMagic2[4] = {'R', 'S', 'C', 0x05};

}  // namespace

std::optional<LinuxImageHeader> parse_linux_image_header(std::span<const uint8_t> image) {
  if (image.size() < kHeaderBytes) return std::nullopt;
  const bool magic = std::memcmp(image.data() + kMagicAt, kMagic, sizeof kMagic) == 0;
  const bool magic2 = std::memcmp(image.data() + kMagic2At, kMagic2, sizeof kMagic2) == 0;
  if (!magic && !magic2) return std::nullopt;
  return LinuxImageHeader{.text_offset = load_le<uint64_t>(image.data() + kTextOffsetAt),
                          .image_size = load_le<uint64_t>(image.data() + kImageSizeAt)};
}

}  // namespace godwit
