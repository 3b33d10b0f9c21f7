// A virtio driver in C++ for the unit tests: lays out split rings in a
// guest RAM it owns, drives a VirtioMmio through its registers the way
// Linux's virtio_mmio does (legacy or modern), and reads the used ring back.
// Hostile tests write the rings by hand through ram().
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "base/byte_order.hpp"
#include "memory/address_space.hpp"
#include "memory/guest_memory.hpp"
#include "virtio/virtio_device.hpp"
#include "virtio/virtio_mmio.hpp"

namespace godwit::testing {

inline constexpr uint64_t kRamBase = 0x80000000;
inline constexpr uint64_t kRamBytes = 1 << 20;

// 1 MiB of RAM at 0x80000000.
struct GuestRam {
  GuestRam() : bytes(kRamBytes) { EXPECT_TRUE(space.map_ram(kRamBase, bytes)); }
  uint8_t* at(uint64_t pa) { return bytes.data() + (pa - kRamBase); }
  uint16_t u16(uint64_t pa) { return load_le<uint16_t>(at(pa)); }
  uint32_t u32(uint64_t pa) { return load_le<uint32_t>(at(pa)); }
  void set_u16(uint64_t pa, uint16_t v) { store_le(at(pa), v); }
  std::vector<uint8_t> bytes;
  AddressSpace space;
  GuestMemory memory{space};
};

struct Buffer {
  uint64_t address;
  uint32_t length;
  bool writable;
};

struct UsedElement {
  uint32_t id;
  uint32_t length;
};

class FakeDriver {
 public:
  struct Ring {
    uint16_t num = 0;
    uint64_t desc = 0, avail = 0, used = 0;
    uint16_t next_desc = 0;
    uint16_t avail_idx = 0;
    uint16_t seen_used = 0;
  };

  FakeDriver(VirtioMmio& transport, GuestRam& ram) : t_(transport), ram_(ram) {}

  uint32_t reg(uint64_t offset) { return static_cast<uint32_t>(t_.read(offset, 4)); }
  void set(uint64_t offset, uint32_t value) { t_.write(offset, 4, value); }
  bool legacy() { return reg(VirtioMmio::kVersion) == 1; }

  // Reset, ACKNOWLEDGE, DRIVER, features (those offered of `wanted`, plus
  // VERSION_1 on a modern transport), FEATURES_OK. False when refused.
  bool negotiate(uint64_t wanted) {
    set(VirtioMmio::kStatus, 0);
    set(VirtioMmio::kStatus, kVirtioStatusAcknowledge);
    set(VirtioMmio::kStatus, kVirtioStatusAcknowledge | kVirtioStatusDriver);
    set(VirtioMmio::kDeviceFeaturesSel, 0);
    uint64_t offered = reg(VirtioMmio::kDeviceFeatures);
    set(VirtioMmio::kDeviceFeaturesSel, 1);
    offered |= uint64_t{reg(VirtioMmio::kDeviceFeatures)} << 32;
    features = offered & (wanted | (legacy() ? 0 : kVirtioFeatureVersion1));
    set(VirtioMmio::kDriverFeaturesSel, 0);
    set(VirtioMmio::kDriverFeatures, static_cast<uint32_t>(features));
    if (legacy()) return true;
    set(VirtioMmio::kDriverFeaturesSel, 1);
    set(VirtioMmio::kDriverFeatures, static_cast<uint32_t>(features >> 32));
    set(VirtioMmio::kStatus, kVirtioStatusAcknowledge | kVirtioStatusDriver | kVirtioStatusFeaturesOk);
    return reg(VirtioMmio::kStatus) & kVirtioStatusFeaturesOk;
  }

  // Places queue `index` of `num` entries at `base` (page aligned), legacy
  // layout, through the registers of the transport's version.
  void setup_queue(unsigned index, uint16_t num, uint64_t base) {
    Ring& ring = rings_[index];
    ring = {};
    ring.num = num;
    ring.desc = base;
    ring.avail = base + 16 * num;
    ring.used = (ring.avail + 2 * (3 + num) + 4095) / 4096 * 4096;
    std::memset(ram_.at(base), 0, ring.used + 6 + 8 * num - base);
    set(VirtioMmio::kQueueSel, index);
    EXPECT_GE(reg(VirtioMmio::kQueueNumMax), num);
    set(VirtioMmio::kQueueNum, num);
    if (legacy()) {
      set(VirtioMmio::kGuestPageSize, 4096);
      set(VirtioMmio::kQueueAlign, 4096);
      set(VirtioMmio::kQueuePfn, static_cast<uint32_t>(base / 4096));
    } else {
      set(VirtioMmio::kQueueDescLow, static_cast<uint32_t>(ring.desc));
      set(VirtioMmio::kQueueDescHigh, static_cast<uint32_t>(ring.desc >> 32));
      set(VirtioMmio::kQueueDriverLow, static_cast<uint32_t>(ring.avail));
      set(VirtioMmio::kQueueDriverHigh, static_cast<uint32_t>(ring.avail >> 32));
      set(VirtioMmio::kQueueDeviceLow, static_cast<uint32_t>(ring.used));
      set(VirtioMmio::kQueueDeviceHigh, static_cast<uint32_t>(ring.used >> 32));
      set(VirtioMmio::kQueueReady, 1);
    }
  }

  void driver_ok() {
    set(VirtioMmio::kStatus, reg(VirtioMmio::kStatus) | kVirtioStatusDriverOk);
  }

  void write_descriptor(uint64_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next) {
    uint8_t* d = ram_.at(table + 16 * uint64_t{i});
    store_le<uint64_t>(d, addr);
    store_le<uint32_t>(d + 8, len);
    store_le<uint16_t>(d + 12, flags);
    store_le<uint16_t>(d + 14, next);
  }

  // Writes `buffers` as a chain (or one indirect descriptor whose table
  // sits at `indirect_table`), makes it available, returns its head.
  uint16_t add(unsigned index, const std::vector<Buffer>& buffers, uint64_t indirect_table = 0) {
    Ring& ring = rings_[index];
    const uint16_t head = ring.next_desc;
    if (indirect_table != 0) {
      for (size_t i = 0; i < buffers.size(); ++i) {
        const bool last = i + 1 == buffers.size();
        write_descriptor(indirect_table, static_cast<uint16_t>(i), buffers[i].address, buffers[i].length,
                         static_cast<uint16_t>((last ? 0 : 1) | (buffers[i].writable ? 2 : 0)),
                         static_cast<uint16_t>(i + 1));
      }
      write_descriptor(ring.desc, head, indirect_table, static_cast<uint32_t>(16 * buffers.size()), 4, 0);
      ring.next_desc = static_cast<uint16_t>((head + 1) % ring.num);
    } else {
      for (size_t i = 0; i < buffers.size(); ++i) {
        const uint16_t at = ring.next_desc;
        ring.next_desc = static_cast<uint16_t>((at + 1) % ring.num);
        const bool last = i + 1 == buffers.size();
        write_descriptor(ring.desc, at, buffers[i].address, buffers[i].length,
                         static_cast<uint16_t>((last ? 0 : 1) | (buffers[i].writable ? 2 : 0)), ring.next_desc);
      }
    }
    publish(index, head);
    return head;
  }

  // Puts `head` in the available ring and bumps avail.idx.
  void publish(unsigned index, uint16_t head) {
    Ring& ring = rings_[index];
    ram_.set_u16(ring.avail + 4 + 2 * uint64_t{static_cast<uint16_t>(ring.avail_idx % ring.num)}, head);
    ++ring.avail_idx;
    ram_.set_u16(ring.avail + 2, ring.avail_idx);
  }

  void kick(unsigned index) { set(VirtioMmio::kQueueNotify, index); }

  uint16_t used_idx(unsigned index) { return ram_.u16(rings_[index].used + 2); }
  UsedElement used(unsigned index, uint16_t n) {
    const Ring& ring = rings_[index];
    const uint64_t at = ring.used + 4 + 8 * uint64_t{static_cast<uint16_t>(n % ring.num)};
    return {ram_.u32(at), ram_.u32(at + 4)};
  }
  // The next used element not yet seen, if any.
  bool next_used(unsigned index, UsedElement& out) {
    Ring& ring = rings_[index];
    if (ring.seen_used == used_idx(index)) return false;
    out = used(index, ring.seen_used++);
    return true;
  }
  uint16_t avail_event(unsigned index) { return ram_.u16(rings_[index].used + 4 + 8 * uint64_t{rings_[index].num}); }
  void set_used_event(unsigned index, uint16_t value) {
    ram_.set_u16(rings_[index].avail + 4 + 2 * uint64_t{rings_[index].num}, value);
  }
  void set_avail_flags(unsigned index, uint16_t flags) { ram_.set_u16(rings_[index].avail, flags); }

  uint32_t interrupt_status() { return reg(VirtioMmio::kInterruptStatus); }
  void ack(uint32_t bits) { set(VirtioMmio::kInterruptAck, bits); }

  Ring& ring(unsigned index) { return rings_[index]; }
  uint64_t features = 0;

 private:
  VirtioMmio& t_;
  GuestRam& ram_;
  Ring rings_[VirtioMmio::kMaxQueues];
};

}  // namespace godwit::testing
