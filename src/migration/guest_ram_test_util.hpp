// Guest memory over buffers a test (or benchmark) owns, so that the RAM
// loader writes a test block as it writes the machine's RAM: through the
// GuestMemory a RamBlockView names, never through a raw pointer.
#pragma once

#include <cassert>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "memory/address_space.hpp"
#include "memory/guest_memory.hpp"

namespace godwit {

class TestGuestRam {
 public:
  // Maps `host` as guest RAM at `guest_address`, in an address space of its
  // own (one per block, as an AddressSpace holds one RAM region). The result
  // is what RamBlockView::memory wants; it lives as long as this object.
  GuestMemory* map(std::span<uint8_t> host, uint64_t guest_address) {
    Mapping& mapping = *mappings_.emplace_back(std::make_unique<Mapping>());
    [[maybe_unused]] const Status mapped = mapping.space.map_ram(guest_address, host);
    assert(mapped);
    return &mapping.memory;
  }

 private:
  struct Mapping {
    AddressSpace space;
    GuestMemory memory{space};
  };
  std::vector<std::unique_ptr<Mapping>> mappings_;
};

}  // namespace godwit
