// A split virtqueue (virtio 1.x spec, section 2.7): the descriptor table,
// the driver's available ring and the device's used ring, all in guest RAM.
//
// A backend pops a descriptor chain (the readable buffers, then the writable
// ones, as guest-physical segments checked to lie in RAM), works on it,
// pushes it to the used ring with the number of bytes it wrote, and calls
// notify(), which raises the used-buffer interrupt unless the driver
// suppressed it (VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event with
// VIRTIO_F_EVENT_IDX). With EVENT_IDX the queue also publishes avail_event
// after each pop, so the driver kicks only when it passes it.
//
// A hostile driver cannot make it crash or reach outside guest RAM: an
// available index that runs more than the queue size ahead, a head or next
// index past the table, a chain longer than its table (a loop), an indirect
// table inside an indirect table or of a length that is not a whole number
// of descriptors, a buffer not wholly in RAM, a readable buffer after a
// writable one, or ring memory outside RAM: each marks the queue broken
// (pop() returns nothing until reset) and reports once to the broken
// handler, which the transport turns into DEVICE_NEEDS_RESET.
//
// Memory ordering (section 2.7.13): the driver writes a ring entry, then its
// idx with release order; pop() reads avail.idx, then an acquire fence, then
// the entries. push() writes the used element, a release fence, then
// used.idx. notify() fences fully before reading the driver's suppression
// fields, pairing with the driver's barrier between its used.idx read and
// its flag write (otherwise both sides could miss each other's update).
//
// Threads: every member locks the queue's mutex, so a backend's workers may
// pop, push and notify while harts write the transport's registers. The
// interrupt and broken handlers are called with no lock held.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/state_description.hpp"
#include "memory/guest_memory.hpp"

namespace godwit {

// One buffer of a chain: [address, address + length) of guest RAM.
struct GuestSegment {
  uint64_t address = 0;
  uint32_t length = 0;
};

// A chain popped from the available ring. Copyable and movable: a backend
// may hand it to a worker thread. Its segments were checked to lie in RAM
// when popped; the copy helpers go through GuestMemory, which marks the
// dirty log for what they write.
class DescriptorChain {
 public:
  DescriptorChain(GuestMemory memory, uint16_t head, std::vector<GuestSegment> readable,
                  std::vector<GuestSegment> writable)
      : memory_(memory), head_(head), readable_(std::move(readable)), writable_(std::move(writable)) {}

  // The head descriptor's index: what the used ring reports back.
  uint16_t head() const { return head_; }
  std::span<const GuestSegment> readable() const { return readable_; }
  std::span<const GuestSegment> writable() const { return writable_; }
  uint64_t readable_bytes() const;
  uint64_t writable_bytes() const;

  // Copies readable bytes starting `offset` bytes into the readable part to
  // `out`; returns how many were copied (less at the end of the buffers).
  size_t read(uint64_t offset, std::span<uint8_t> out) const;
  // Copies `in` into the writable part from `offset` on; returns how many
  // bytes were written (less at the end of the buffers).
  size_t write(uint64_t offset, std::span<const uint8_t> in) const;

 private:
  GuestMemory memory_;
  uint16_t head_;
  std::vector<GuestSegment> readable_;
  std::vector<GuestSegment> writable_;
};

class Virtqueue {
 public:
  // What a queue saves: the driver's configuration and the device's place
  // in the rings (QEMU saves num, the ring addresses and last_avail_idx and
  // re-reads used_idx from RAM; the index is saved here, which is the same
  // value once the device is quiesced).
  struct State {
    static constexpr VMStateInfo kVMState{"virtqueue", 1, 1};
    uint16_t num = 0;
    bool ready = false;
    uint64_t desc = 0;
    uint64_t avail = 0;
    uint64_t used = 0;
    uint16_t last_avail_idx = 0;
    uint16_t used_idx = 0;
    uint16_t signalled_used = 0;  // used_idx at the last interrupt (EVENT_IDX)
    bool signalled_used_valid = false;
    bool broken = false;
    template <class V>
    void visit_state(V& v) {
      v.field("num", num);
      v.field("ready", ready);
      v.field("desc", desc);
      v.field("avail", avail);
      v.field("used", used);
      v.field("last_avail_idx", last_avail_idx);
      v.field("used_idx", used_idx);
      v.field("signalled_used", signalled_used);
      v.field("signalled_used_valid", signalled_used_valid);
      v.field("broken", broken);
    }
  };

  // Descriptor flags (section 2.7.5).
  static constexpr uint16_t kDescNext = 1;
  static constexpr uint16_t kDescWrite = 2;
  static constexpr uint16_t kDescIndirect = 4;
  static constexpr uint16_t kAvailNoInterrupt = 1;
  // The most descriptors an indirect table may hold (QEMU's VIRTQUEUE_MAX_SIZE).
  static constexpr uint32_t kMaxIndirect = 1024;

  Virtqueue(GuestMemory memory, uint16_t max_size) : memory_(memory), max_size_(max_size) {}
  Virtqueue(const Virtqueue&) = delete;
  Virtqueue& operator=(const Virtqueue&) = delete;

  // --- wiring, by the transport before the guest runs ---
  void set_interrupt_handler(std::function<void()> handler) { interrupt_ = std::move(handler); }
  void set_broken_handler(std::function<void(const std::string&)> handler) { broken_handler_ = std::move(handler); }

  // --- the transport's registers (hart threads) ---
  uint16_t max_size() const { return max_size_; }
  void set_num(uint16_t num);
  uint16_t num() const;
  void set_addresses(uint64_t desc, uint64_t avail, uint64_t used);
  void set_desc(uint64_t address);
  void set_avail(uint64_t address);
  void set_used(uint64_t address);
  uint64_t desc() const;
  uint64_t avail() const;
  uint64_t used() const;
  void set_ready(bool ready);
  bool ready() const;
  // The negotiated ring features (VIRTIO_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC).
  void set_features(bool event_idx, bool indirect);
  // Back to an unconfigured queue (device reset).
  void reset();

  // --- the backend (any thread) ---
  // The next available chain, or nothing (empty, not ready, or broken).
  std::optional<DescriptorChain> pop();
  // Whether pop() would find a chain (without reading it).
  bool has_available() const;
  // Gives the chain popped last back to the available ring, to be popped
  // again (QEMU's virtqueue_unpop): for a backend that looked at a buffer
  // and cannot use it yet.
  void unpop();
  // Returns a chain to the driver with `written_bytes` written into it.
  void push(const DescriptorChain& chain, uint32_t written_bytes) { push(chain.head(), written_bytes); }
  void push(uint16_t head, uint32_t written_bytes);
  // Raises the used-buffer interrupt unless the driver suppressed it.
  void notify();
  // Chains popped and not yet pushed.
  uint16_t in_flight() const;
  bool broken() const;

  // --- migration ---
  State snapshot() const;
  // Fails (leaving the queue as it was) when num exceeds the maximum.
  Status restore(const State& state);

 private:
  struct Descriptor {
    uint64_t address;
    uint32_t length;
    uint16_t flags;
    uint16_t next;
  };
  // Each returns an empty string on success, else why the driver broke the
  // rules; the caller marks the queue broken.
  std::string pop_locked(std::optional<DescriptorChain>& out);
  std::string read_descriptor(uint64_t table, uint32_t index, Descriptor& out) const;
  std::string rings_in_ram() const;
  bool read_u16(uint64_t address, uint16_t& value) const;
  void write_u16(uint64_t address, uint16_t value);
  void mark_broken_locked(const std::string& why);
  void report(const std::string& why);

  GuestMemory memory_;
  const uint16_t max_size_;
  std::function<void()> interrupt_;
  std::function<void(const std::string&)> broken_handler_;

  mutable std::mutex mutex_;
  State state_;
  bool event_idx_ = false;
  bool indirect_ = false;
};

}  // namespace godwit
