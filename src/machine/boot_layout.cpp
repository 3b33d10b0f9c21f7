#include "machine/boot_layout.hpp"

#include <algorithm>

namespace godwit {
namespace {

constexpr uint64_t kTwoMiB = 2ull << 20;
constexpr uint64_t kInitrdMaxOffset = 512ull << 20;

}  // namespace

uint64_t kernel_start_address(uint64_t firmware_end) { return (firmware_end + kTwoMiB - 1) & ~(kTwoMiB - 1); }

uint64_t initrd_address(uint64_t kernel_start, uint64_t ram_size) {
  return kernel_start + std::min(ram_size / 2, kInitrdMaxOffset);
}

uint64_t device_tree_address(uint64_t ram_base, uint64_t ram_size, uint64_t fdt_size) {
  return (ram_base + ram_size - fdt_size) & ~(kTwoMiB - 1);
}

}  // namespace godwit
