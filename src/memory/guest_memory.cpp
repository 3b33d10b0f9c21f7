#include "memory/guest_memory.hpp"

#include <string>

#include "base/hex.hpp"

namespace godwit {

Status GuestMemory::write(uint64_t pa, std::span<const uint8_t> in) { return space_->write_bytes(pa, in, RamWriteKey{}); }

Status GuestMemory::write_value(uint64_t pa, unsigned size, uint64_t value) {
  if (space_->write(pa, size, value, RamWriteKey{})) return {};
  return fail("guest physical address " + hex(pa) + " is not mapped");
}

Result<MappedRam> GuestMemory::map(uint64_t pa, uint64_t size_bytes) {
  if (uint8_t* host = space_->writable_ram_ptr(pa, size_bytes, RamWriteKey{})) {
    return MappedRam(*space_, pa, {host, size_bytes});
  }
  // Name the first byte outside RAM: the start, or where RAM ends.
  const uint64_t ram_end = space_->ram_base() + space_->ram_size();
  const bool starts_in_ram = space_->ram_ptr(pa, 1) != nullptr;
  return fail("guest physical address " + hex(starts_in_ram ? ram_end : pa) + " is not RAM");
}

}  // namespace godwit
