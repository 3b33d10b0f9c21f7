// Guest physical address space: one RAM region (host memory, fast path),
// read-only ROM regions and MMIO device windows (slow path).
//
// Who may write guest RAM: only the harts' store path (cpu/mmu.cpp and the
// funnel in cpu/memory_access.hpp) and GuestMemory, the view everything
// else writes through. Both hold a RamWriteKey, which the functions that
// write or hand out a writable pointer demand; everyone else gets const
// pointers. The rule exists for the dirty log: a writer holding a raw
// pointer could skip note_ram_write, and migration would then lose its
// write without any error.
//
// Threads: the map is built once on the main thread before harts start and is
// read-only afterwards, so lookups take no lock. Devices guard themselves.
// The dirty log is switched on and off by the migration thread while harts
// run; writers find it through an atomic pointer.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "memory/dirty_log.hpp"
#include "memory/mmio_device.hpp"

namespace godwit {

class GuestMemory;
class Hart;
class MemoryBackend;

// Passkey for writing guest RAM (see the head of this file). Its friends are
// the only code that can make one: the hart, whose stores call the funnel
// themselves (cpu/memory_access.hpp), and GuestMemory, which calls it for
// everyone else.
class RamWriteKey {
  friend class GuestMemory;
  friend class Hart;
  RamWriteKey() = default;
};

class AddressSpace {
 public:
  AddressSpace() = default;
  AddressSpace(const AddressSpace&) = delete;
  AddressSpace& operator=(const AddressSpace&) = delete;

  // Registers guest RAM at `base`, backed by `host` (owned by a MemoryBackend).
  Status map_ram(uint64_t base, std::span<uint8_t> host);
  // The same for the memory of `backend`, which must outlive this.
  Status map_ram(uint64_t base, MemoryBackend& backend);
  // Registers a read-only region whose contents are copied in; writes to it
  // are ignored, as writes to QEMU's ROM regions are.
  Status map_rom(uint64_t base, std::vector<uint8_t> contents, std::string name);
  Status map_mmio(uint64_t base, uint64_t size, MmioDevice& device);

  uint64_t ram_base() const { return ram_base_; }
  uint64_t ram_size() const { return ram_size_; }

  // Fast path: host pointer for reading [pa, pa+len) if it lies entirely in
  // RAM, else nullptr.
  const uint8_t* ram_ptr(uint64_t pa, uint64_t len) const { return ram_offset_ptr(pa, len); }
  // The same pointer, writable, for the holders of a RamWriteKey. Whoever
  // writes through it calls note_ram_write after writing.
  uint8_t* writable_ram_ptr(uint64_t pa, uint64_t len, RamWriteKey) const { return ram_offset_ptr(pa, len); }

  // Host pointer for instruction fetch and reads of [pa, pa+len): RAM or ROM.
  // Never write through the result.
  const uint8_t* readable_ptr(uint64_t pa, uint64_t len) const;

  // Slow path for any address: RAM, ROM or MMIO. `size` is 1, 2, 4 or 8 and
  // the access is naturally aligned. Returns false when nothing is mapped
  // there (the CPU raises an access fault).
  // A write to RAM marks the dirty log; a write to ROM is ignored. Everyone
  // but the harts writes through GuestMemory::write_value.
  bool read(uint64_t pa, unsigned size, uint64_t& value) const;
  bool write(uint64_t pa, unsigned size, uint64_t value, RamWriteKey) const;

  // Byte-wise copies for loaders and the monitor (pmemsave, x/xp). Covers RAM
  // and ROM; fails naming the first address that is neither.
  Status read_bytes(uint64_t pa, std::span<uint8_t> out) const;
  // Loaders may fill ROM this way (QEMU's rom_add_blob); the guest cannot.
  // Reached through GuestMemory::write.
  Status write_bytes(uint64_t pa, std::span<const uint8_t> in, RamWriteKey);

  // --- dirty-page logging for precopy (migration thread) ---
  // Starts logging writes to RAM into a log with every page clean; the
  // caller sends all of RAM once anyway, as QEMU's first pass does. Fails
  // when no RAM is mapped.
  Status start_dirty_log();
  // Stops logging. The log stays allocated (and is reused by the next
  // start_dirty_log) until the AddressSpace is destroyed: a hart may have
  // loaded the pointer just before the stop and mark it a moment later (if
  // that mark lands after the next start's clear, a page is sent once more).
  void stop_dirty_log();
  // The log while logging is on, else nullptr.
  DirtyLog* dirty_log() const { return dirty_log_.load(std::memory_order_acquire); }

  // Records a write of `size` bytes at `host`, a pointer into RAM: the one
  // funnel every write to RAM passes after writing (this class, GuestMemory,
  // the harts' store funnel in cpu/memory_access.hpp). Whatever must learn
  // of RAM writes hangs off here, as the dirty log does, and so would a log
  // of written code pages for a translator: each caller passes exactly the
  // bytes it wrote. Off, it costs one load and one predictable branch.
  void note_ram_write(const uint8_t* host, size_t size) const {
    // Acquire is a plain load on x86-64 and orders the log's construction
    // before its use on weaker hosts.
    if (DirtyLog* log = dirty_log_.load(std::memory_order_acquire)) [[unlikely]] mark_dirty(*log, host, size);
  }

 private:
  struct Rom {
    uint64_t base;
    std::vector<uint8_t> contents;
    std::string name;
  };
  struct Mmio {
    uint64_t base;
    uint64_t size;
    MmioDevice* device;
  };

  uint8_t* ram_offset_ptr(uint64_t pa, uint64_t len) const {
    const uint64_t offset = pa - ram_base_;  // wraps for pa < base, failing the test
    if (offset < ram_size_ && len <= ram_size_ - offset) return ram_host_ + offset;
    return nullptr;
  }
  // Out of line, so each inlined store in the interpreter carries only the
  // test of note_ram_write.
  [[gnu::noinline]] void mark_dirty(DirtyLog& log, const uint8_t* host, size_t size) const;
  bool overlaps(uint64_t base, uint64_t size) const;
  const Rom* find_rom(uint64_t pa, uint64_t len) const;
  Rom* find_rom(uint64_t pa, uint64_t len) {
    return const_cast<Rom*>(static_cast<const AddressSpace*>(this)->find_rom(pa, len));
  }
  const Mmio* find_mmio(uint64_t pa, uint64_t len) const;

  uint64_t ram_base_ = 0;
  uint64_t ram_size_ = 0;
  uint8_t* ram_host_ = nullptr;
  std::vector<Rom> roms_;
  std::vector<Mmio> mmio_;  // few entries; sorted by base

  std::atomic<DirtyLog*> dirty_log_{nullptr};  // published log_, or nullptr when off
  std::unique_ptr<DirtyLog> log_;              // lives until destruction: see stop_dirty_log
};

}  // namespace godwit
