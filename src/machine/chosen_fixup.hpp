// What the command line adds to a device tree's /chosen, whether the board
// built the tree or -dtb gave it, as QEMU's riscv_load_kernel does:
// linux,initrd-start and linux,initrd-end (u64 each) for -initrd, then
// bootargs for a non-empty -append. libfdt inserts each new property first in
// its node, so the order in the result is QEMU's too.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.hpp"

namespace godwit {

struct ChosenFixup {
  std::string bootargs;  // empty: left alone
  struct Range {
    uint64_t start = 0;
    uint64_t end = 0;  // one past the last byte
  };
  std::optional<Range> initrd;
};

// A packed copy of `tree` with the fixup applied. Fails naming the problem
// when `tree` is not a device tree, or has no /chosen although the fixup
// needs one (QEMU exits then too).
Result<std::vector<uint8_t>> fix_up_chosen(std::span<const uint8_t> tree, const ChosenFixup& fixup);

}  // namespace godwit
