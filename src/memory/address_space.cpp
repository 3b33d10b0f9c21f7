#include "memory/address_space.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "base/byte_order.hpp"
#include "base/hex.hpp"
#include "memory/memory_backend.hpp"

namespace godwit {
namespace {

bool ranges_overlap(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size) {
  return a < b + b_size && b < a + a_size;
}

}  // namespace

bool AddressSpace::overlaps(uint64_t base, uint64_t size) const {
  if (ram_size_ != 0 && ranges_overlap(base, size, ram_base_, ram_size_)) return true;
  for (const Rom& rom : roms_) {
    if (ranges_overlap(base, size, rom.base, rom.contents.size())) return true;
  }
  for (const Mmio& m : mmio_) {
    if (ranges_overlap(base, size, m.base, m.size)) return true;
  }
  return false;
}

Status AddressSpace::map_ram(uint64_t base, std::span<uint8_t> host) {
  if (ram_size_ != 0) return fail("guest RAM is already mapped");
  if (host.empty()) return fail("guest RAM size is zero");
  if (overlaps(base, host.size())) return fail("guest RAM at " + hex(base) + " overlaps another region");
  ram_base_ = base;
  ram_size_ = host.size();
  ram_host_ = host.data();
  return {};
}

Status AddressSpace::map_ram(uint64_t base, MemoryBackend& backend) { return map_ram(base, backend.host_); }

Status AddressSpace::map_rom(uint64_t base, std::vector<uint8_t> contents, std::string name) {
  if (contents.empty()) return fail("ROM " + name + " is empty");
  if (overlaps(base, contents.size())) return fail("ROM " + name + " at " + hex(base) + " overlaps another region");
  roms_.push_back(Rom{base, std::move(contents), std::move(name)});
  return {};
}

Status AddressSpace::map_mmio(uint64_t base, uint64_t size, MmioDevice& device) {
  if (size == 0) return fail("MMIO window of " + std::string(device.name()) + " is empty");
  if (overlaps(base, size)) {
    return fail("MMIO window of " + std::string(device.name()) + " at " + hex(base) + " overlaps another region");
  }
  mmio_.push_back(Mmio{base, size, &device});
  std::sort(mmio_.begin(), mmio_.end(), [](const Mmio& a, const Mmio& b) { return a.base < b.base; });
  return {};
}

const AddressSpace::Rom* AddressSpace::find_rom(uint64_t pa, uint64_t len) const {
  for (const Rom& rom : roms_) {
    const uint64_t offset = pa - rom.base;
    if (offset < rom.contents.size() && len <= rom.contents.size() - offset) return &rom;
  }
  return nullptr;
}

const AddressSpace::Mmio* AddressSpace::find_mmio(uint64_t pa, uint64_t len) const {
  // upper_bound on base, then step back: the only candidate window.
  auto it = std::upper_bound(mmio_.begin(), mmio_.end(), pa,
                             [](uint64_t addr, const Mmio& m) { return addr < m.base; });
  if (it == mmio_.begin()) return nullptr;
  --it;
  const uint64_t offset = pa - it->base;
  if (offset < it->size && len <= it->size - offset) return &*it;
  return nullptr;
}

const uint8_t* AddressSpace::readable_ptr(uint64_t pa, uint64_t len) const {
  if (const uint8_t* p = ram_ptr(pa, len)) return p;
  if (const Rom* rom = find_rom(pa, len)) return rom->contents.data() + (pa - rom->base);
  return nullptr;
}

bool AddressSpace::read(uint64_t pa, unsigned size, uint64_t& value) const {
  if (const uint8_t* p = readable_ptr(pa, size)) {
    value = load_le_sized(p, size);
    return true;
  }
  if (const Mmio* m = find_mmio(pa, size)) {
    value = m->device->read(pa - m->base, size);
    return true;
  }
  return false;
}

bool AddressSpace::write(uint64_t pa, unsigned size, uint64_t value, RamWriteKey) const {
  if (uint8_t* p = ram_offset_ptr(pa, size)) {
    store_le_sized(p, size, value);
    note_ram_write(p, size);
    return true;
  }
  if (find_rom(pa, size) != nullptr) return true;  // ROM ignores writes
  if (const Mmio* m = find_mmio(pa, size)) {
    m->device->write(pa - m->base, size, value);
    return true;
  }
  return false;
}

Status AddressSpace::read_bytes(uint64_t pa, std::span<uint8_t> out) const {
  // Copy run by run so a large RAM range costs one memcpy.
  size_t done = 0;
  while (done < out.size()) {
    const uint64_t addr = pa + done;
    const uint64_t want = out.size() - done;
    if (const uint8_t* p = ram_ptr(addr, 1)) {
      const uint64_t run = std::min<uint64_t>(want, ram_size_ - (addr - ram_base_));
      std::memcpy(out.data() + done, p, run);
      done += run;
    } else if (const Rom* rom = find_rom(addr, 1)) {
      const uint64_t run = std::min<uint64_t>(want, rom->contents.size() - (addr - rom->base));
      std::memcpy(out.data() + done, rom->contents.data() + (addr - rom->base), run);
      done += run;
    } else {
      return fail("guest physical address " + hex(addr) + " is not RAM or ROM");
    }
  }
  return {};
}

Status AddressSpace::write_bytes(uint64_t pa, std::span<const uint8_t> in, RamWriteKey) {
  size_t done = 0;
  while (done < in.size()) {
    const uint64_t addr = pa + done;
    const uint64_t want = in.size() - done;
    if (uint8_t* p = ram_offset_ptr(addr, 1)) {
      const uint64_t run = std::min<uint64_t>(want, ram_size_ - (addr - ram_base_));
      std::memcpy(p, in.data() + done, run);
      note_ram_write(p, run);
      done += run;
    } else if (Rom* rom = find_rom(addr, 1)) {
      const uint64_t run = std::min<uint64_t>(want, rom->contents.size() - (addr - rom->base));
      std::memcpy(rom->contents.data() + (addr - rom->base), in.data() + done, run);
      done += run;
    } else {
      return fail("guest physical address " + hex(addr) + " is not RAM or ROM");
    }
  }
  return {};
}

Status AddressSpace::start_dirty_log() {
  if (ram_size_ == 0) return fail("cannot log dirty pages: no guest RAM is mapped");
  if (log_ == nullptr) {
    log_ = std::make_unique<DirtyLog>(ram_size_);
  } else {
    log_->clear();
  }
  // Release: a writer that sees the pointer sees a constructed, clear log.
  dirty_log_.store(log_.get(), std::memory_order_release);
  return {};
}

void AddressSpace::mark_dirty(DirtyLog& log, const uint8_t* host, size_t size) const {
  log.mark(static_cast<uint64_t>(host - ram_host_), size);
}

void AddressSpace::stop_dirty_log() { dirty_log_.store(nullptr, std::memory_order_release); }

}  // namespace godwit
