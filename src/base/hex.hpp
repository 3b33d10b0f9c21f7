// Addresses and values in error messages, as QEMU prints them: 0x, lower
// case, no padding.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace godwit {

inline std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace godwit
