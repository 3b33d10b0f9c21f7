// The header at the start of a RISC-V Linux `Image` (Linux's
// Documentation/arch/riscv/boot-image-header.rst): code0/code1, then
// text_offset (u64 at 8), image_size (u64 at 16), flags, version, reserved
// words, magic "RISCV\0\0\0" (at 48, deprecated but still written) and magic2
// "RSC\x05" (at 56). QEMU loads an Image as a raw file; godwit reads the
// header too, to know how much memory the kernel claims beyond its file
// (its .bss), so an initrd or device tree placed there is refused instead of
// being overwritten by the booting kernel.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace godwit {

struct LinuxImageHeader {
  uint64_t text_offset = 0;  // where the kernel wants to sit above a 2 MiB boundary
  uint64_t image_size = 0;   // bytes the running kernel occupies from its load address
};

// The header, when `image` starts with one (either magic is enough, as in
// Linux's own checks of older and newer images); nothing otherwise.
std::optional<LinuxImageHeader> parse_linux_image_header(std::span<const uint8_t> image);

}  // namespace godwit
