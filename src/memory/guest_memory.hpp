// Guest physical memory as everything but a hart sees it: devices (DMA,
// virtqueues), the monitor, loaders (kernel and ELF images, the device
// tree, HTIF) and the migration RAM loader. QEMU's address_space_read,
// address_space_write and address_space_map/unmap over one AddressSpace.
//
// It is the only way anything other than a hart writes guest RAM (see the
// rule at the head of address_space.hpp), so every write through it reaches
// the one funnel AddressSpace::note_ram_write, after the bytes are written:
// the order the dirty log's contract asks for (dirty_log.hpp), the one the
// harts' stores keep too. Whatever else learns of RAM writes through that
// funnel (a log of written code pages for a translator) learns of these
// writes with no change here: each entry point passes it exactly the bytes
// it wrote.
//
// Threads: a view holds nothing but a pointer to the AddressSpace, whose
// map is read-only once harts run; copy it freely and use it from any
// thread (devices, main loop, migration). Writes from several threads to
// the same bytes race as DMA and a CPU do on hardware; nothing here orders
// them.
#pragma once

#include <cstdint>
#include <span>

#include "base/error.hpp"
#include "memory/address_space.hpp"

namespace godwit {

// Writable guest RAM for one batch, [guest_address, guest_address + size):
// what GuestMemory::map hands out, QEMU's address_space_map for a write.
// Use the bytes only while it lives.
//
// When it marks: once, when released (destroyed, or release()), every page
// the span covers, whether or not each byte was written; one test of the
// log per batch instead of one per store. That is enough for the contract
// in dirty_log.hpp because it marks after the last write through the span,
// as a hart marks after its store (and as QEMU's address_space_unmap marks
// what was mapped for writing): a sync that sees the mark sees the bytes. A
// sync that runs while the span is held may send a page half written, but
// the release marks the page again, so the next sync sends it whole; and
// logging started while the span is held is found by the release, writes
// from before the start being covered by the first full pass. Marking when
// the span is taken would not do: a sync between the take and a write
// would clear the page, and the write would reach no later sync.
class MappedRam {
 public:
  MappedRam(MappedRam&& other) noexcept : space_(other.space_), guest_address_(other.guest_address_), bytes_(other.bytes_) {
    other.bytes_ = {};
  }
  MappedRam(const MappedRam&) = delete;
  MappedRam& operator=(const MappedRam&) = delete;
  MappedRam& operator=(MappedRam&&) = delete;
  ~MappedRam() { release(); }

  uint64_t guest_address() const { return guest_address_; }
  std::span<uint8_t> bytes() const { return bytes_; }
  uint8_t* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }

  // Marks the span and ends the mapping now; the span is empty afterwards.
  void release() {
    if (!bytes_.empty()) space_->note_ram_write(bytes_.data(), bytes_.size());
    bytes_ = {};
  }

 private:
  friend class GuestMemory;
  MappedRam(const AddressSpace& space, uint64_t guest_address, std::span<uint8_t> bytes)
      : space_(&space), guest_address_(guest_address), bytes_(bytes) {}

  const AddressSpace* space_;
  uint64_t guest_address_;
  std::span<uint8_t> bytes_;
};

class GuestMemory {
 public:
  explicit GuestMemory(AddressSpace& space) : space_(&space) {}

  // --- reads: never mark anything ---
  // Copies [pa, pa + out.size()) of RAM or ROM; fails naming the first
  // address that is neither.
  Status read(uint64_t pa, std::span<uint8_t> out) const { return space_->read_bytes(pa, out); }
  // A naturally aligned access of `size` (1, 2, 4 or 8) bytes anywhere: RAM,
  // ROM or an MMIO register. False when nothing is mapped there.
  bool read_value(uint64_t pa, unsigned size, uint64_t& value) const { return space_->read(pa, size, value); }
  // Whether [pa, pa + size_bytes) lies wholly in RAM.
  bool is_ram(uint64_t pa, uint64_t size_bytes) const { return space_->ram_ptr(pa, size_bytes) != nullptr; }

  // --- writes: each marks the RAM it writes ---
  // Copies `in` to [pa, pa + in.size()) of RAM or ROM. Loaders fill ROM this
  // way, as QEMU's rom_add_blob does; the guest cannot. Fails naming the
  // first address that is neither, with the bytes before it written.
  Status write(uint64_t pa, std::span<const uint8_t> in);
  // A naturally aligned store of `size` (1, 2, 4 or 8) bytes, as a hart's:
  // RAM takes it, ROM ignores it, an MMIO register gets it. Fails naming the
  // address when nothing is mapped there.
  Status write_value(uint64_t pa, unsigned size, uint64_t value);
  // Writable host bytes for [pa, pa + size_bytes), which must lie wholly in
  // RAM (ROM and MMIO have no bytes to lend); fails naming the first
  // address outside it. Marks when released: see MappedRam.
  Result<MappedRam> map(uint64_t pa, uint64_t size_bytes);

  // For readers that want the map itself (host pointers to read through).
  const AddressSpace& space() const { return *space_; }

 private:
  AddressSpace* space_;
};

}  // namespace godwit
