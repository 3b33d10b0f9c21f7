#include "migration/ram_section.hpp"

#include <cstring>

namespace godwit {

bool is_zero_page(const uint8_t* page) {
  // memcpy loads: the host pointer of a test buffer need not be 8-aligned;
  // the compiler turns them into plain vector loads. 256-byte stretches
  // measured twice as fast as 64-byte ones on cached zero pages, and a data
  // page's bytes are about to be copied anyway, so reading a few more lines
  // before the early exit costs nothing.
  constexpr size_t kWordsPerStretch = 32;
  constexpr size_t kStretchBytes = kWordsPerStretch * sizeof(uint64_t);
  for (size_t offset = 0; offset < kRamPageSize; offset += kStretchBytes) {
    uint64_t words[kWordsPerStretch];
    std::memcpy(words, page + offset, kStretchBytes);
    uint64_t any = 0;
    for (uint64_t word : words) any |= word;
    if (any != 0) return false;
  }
  return true;
}

}  // namespace godwit
