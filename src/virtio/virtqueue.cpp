#include "virtio/virtqueue.hpp"

#include <algorithm>
#include <array>
#include <atomic>

#include "base/byte_order.hpp"
#include "base/hex.hpp"

namespace godwit {

namespace {

constexpr uint64_t kDescriptorBytes = 16;
constexpr uint64_t kUsedElementBytes = 8;

// Whether a driver waiting for `event` wants an interrupt now that the used
// index moved from `old_idx` to `new_idx` (the spec's vring_need_event).
bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx) {
  return static_cast<uint16_t>(new_idx - event - 1) < static_cast<uint16_t>(new_idx - old_idx);
}

// Copies between `bytes` and the segments from byte `offset` of their
// concatenation on; `copy(segment address, span)` does one piece.
template <class Span, class Copy>
size_t walk_segments(std::span<const GuestSegment> segments, uint64_t offset, Span bytes, Copy copy) {
  size_t done = 0;
  for (const GuestSegment& segment : segments) {
    if (done == bytes.size()) break;
    if (offset >= segment.length) {
      offset -= segment.length;
      continue;
    }
    const size_t count = std::min<uint64_t>(segment.length - offset, bytes.size() - done);
    if (!copy(segment.address + offset, bytes.subspan(done, count))) break;
    done += count;
    offset = 0;
  }
  return done;
}

uint64_t total_bytes(std::span<const GuestSegment> segments) {
  uint64_t total = 0;
  for (const GuestSegment& segment : segments) total += segment.length;
  return total;
}

}  // namespace

uint64_t DescriptorChain::readable_bytes() const { return total_bytes(readable_); }
uint64_t DescriptorChain::writable_bytes() const { return total_bytes(writable_); }

size_t DescriptorChain::read(uint64_t offset, std::span<uint8_t> out) const {
  return walk_segments(readable_, offset, out,
                       [this](uint64_t address, std::span<uint8_t> piece) { return memory_.read(address, piece).has_value(); });
}

size_t DescriptorChain::write(uint64_t offset, std::span<const uint8_t> in) const {
  GuestMemory memory = memory_;
  return walk_segments(writable_, offset, in, [&memory](uint64_t address, std::span<const uint8_t> piece) {
    return memory.write(address, piece).has_value();
  });
}

// --- registers ---

void Virtqueue::set_num(uint16_t num) {
  std::lock_guard lock(mutex_);
  state_.num = num;
}
uint16_t Virtqueue::num() const {
  std::lock_guard lock(mutex_);
  return state_.num;
}
void Virtqueue::set_addresses(uint64_t desc, uint64_t avail, uint64_t used) {
  std::lock_guard lock(mutex_);
  state_.desc = desc;
  state_.avail = avail;
  state_.used = used;
}
void Virtqueue::set_desc(uint64_t address) {
  std::lock_guard lock(mutex_);
  state_.desc = address;
}
void Virtqueue::set_avail(uint64_t address) {
  std::lock_guard lock(mutex_);
  state_.avail = address;
}
void Virtqueue::set_used(uint64_t address) {
  std::lock_guard lock(mutex_);
  state_.used = address;
}
uint64_t Virtqueue::desc() const {
  std::lock_guard lock(mutex_);
  return state_.desc;
}
uint64_t Virtqueue::avail() const {
  std::lock_guard lock(mutex_);
  return state_.avail;
}
uint64_t Virtqueue::used() const {
  std::lock_guard lock(mutex_);
  return state_.used;
}
void Virtqueue::set_ready(bool ready) {
  std::lock_guard lock(mutex_);
  state_.ready = ready;
}
bool Virtqueue::ready() const {
  std::lock_guard lock(mutex_);
  return state_.ready;
}
void Virtqueue::set_features(bool event_idx, bool indirect) {
  std::lock_guard lock(mutex_);
  event_idx_ = event_idx;
  indirect_ = indirect;
}
void Virtqueue::reset() {
  std::lock_guard lock(mutex_);
  state_ = {};
  event_idx_ = false;
  indirect_ = false;
}
uint16_t Virtqueue::in_flight() const {
  std::lock_guard lock(mutex_);
  return static_cast<uint16_t>(state_.last_avail_idx - state_.used_idx);
}
bool Virtqueue::broken() const {
  std::lock_guard lock(mutex_);
  return state_.broken;
}

Virtqueue::State Virtqueue::snapshot() const {
  std::lock_guard lock(mutex_);
  return state_;
}

Status Virtqueue::restore(const State& state) {
  if (state.num > max_size_) {
    return fail("queue size " + std::to_string(state.num) + " exceeds the maximum " + std::to_string(max_size_));
  }
  std::lock_guard lock(mutex_);
  state_ = state;
  return {};
}

// --- guest memory helpers ---

bool Virtqueue::read_u16(uint64_t address, uint16_t& value) const {
  std::array<uint8_t, 2> bytes{};
  if (!memory_.is_ram(address, 2) || !memory_.read(address, bytes)) return false;
  value = static_cast<uint16_t>(bytes[0] | (bytes[1] << 8));
  return true;
}

void Virtqueue::write_u16(uint64_t address, uint16_t value) {
  // Ring addresses were checked to lie in RAM; an aligned 2-byte store, as
  // the driver's own accesses to the index are.
  if (memory_.is_ram(address, 2)) (void)memory_.write_value(address, 2, value);
}

std::string Virtqueue::rings_in_ram() const {
  const uint64_t num = state_.num;
  if (!memory_.is_ram(state_.desc, num * kDescriptorBytes)) return "descriptor table at " + hex(state_.desc) + " is not in RAM";
  if (!memory_.is_ram(state_.avail, 6 + 2 * num)) return "available ring at " + hex(state_.avail) + " is not in RAM";
  if (!memory_.is_ram(state_.used, 6 + kUsedElementBytes * num)) return "used ring at " + hex(state_.used) + " is not in RAM";
  return {};
}

std::string Virtqueue::read_descriptor(uint64_t table, uint32_t index, Descriptor& out) const {
  std::array<uint8_t, kDescriptorBytes> raw{};
  const uint64_t address = table + uint64_t{index} * kDescriptorBytes;
  if (!memory_.is_ram(address, kDescriptorBytes) || !memory_.read(address, raw)) {
    return "descriptor at " + hex(address) + " is not in RAM";
  }
  out.address = load_le<uint64_t>(raw.data());
  out.length = load_le<uint32_t>(raw.data() + 8);
  out.flags = load_le<uint16_t>(raw.data() + 12);
  out.next = load_le<uint16_t>(raw.data() + 14);
  return {};
}

void Virtqueue::mark_broken_locked(const std::string&) { state_.broken = true; }

void Virtqueue::report(const std::string& why) {
  if (broken_handler_) broken_handler_(why);
}

// --- the backend's side ---

std::optional<DescriptorChain> Virtqueue::pop() {
  std::optional<DescriptorChain> chain;
  std::string why;
  {
    std::lock_guard lock(mutex_);
    if (!state_.ready || state_.broken || state_.num == 0) return std::nullopt;
    why = pop_locked(chain);
    if (!why.empty()) {
      mark_broken_locked(why);
      chain.reset();
    }
  }
  if (!why.empty()) report(why);
  return chain;
}

bool Virtqueue::has_available() const {
  std::lock_guard lock(mutex_);
  if (!state_.ready || state_.broken || state_.num == 0 || !rings_in_ram().empty()) return false;
  uint16_t avail_idx = 0;
  if (!read_u16(state_.avail + 2, avail_idx)) return false;
  return avail_idx != state_.last_avail_idx;
}

std::string Virtqueue::pop_locked(std::optional<DescriptorChain>& out) {
  if (std::string why = rings_in_ram(); !why.empty()) return why;
  const uint16_t num = state_.num;
  uint16_t avail_idx = 0;
  if (!read_u16(state_.avail + 2, avail_idx)) return "available ring is not in RAM";
  const uint16_t pending = static_cast<uint16_t>(avail_idx - state_.last_avail_idx);
  if (pending > num) {
    return "available index jumped from " + std::to_string(state_.last_avail_idx) + " to " + std::to_string(avail_idx) +
           " (queue size " + std::to_string(num) + ")";
  }
  if (pending == 0) return {};
  // Pairs with the driver's release of avail.idx: the entry is visible.
  std::atomic_thread_fence(std::memory_order_acquire);

  uint16_t head = 0;
  if (!read_u16(state_.avail + 4 + 2 * uint64_t{static_cast<uint16_t>(state_.last_avail_idx % num)}, head)) {
    return "available ring is not in RAM";
  }
  if (head >= num) return "head index " + std::to_string(head) + " is past the queue size " + std::to_string(num);

  std::vector<GuestSegment> readable;
  std::vector<GuestSegment> writable;
  uint64_t table = state_.desc;
  uint32_t table_size = num;
  uint32_t seen = 0;
  bool in_indirect = false;
  uint32_t index = head;
  for (;;) {
    // A chain visits each descriptor of its table at most once; more means a loop.
    if (++seen > table_size) return "descriptor chain from head " + std::to_string(head) + " is longer than its table (a loop)";
    Descriptor descriptor{};
    if (std::string why = read_descriptor(table, index, descriptor); !why.empty()) return why;
    if (descriptor.flags & kDescIndirect) {
      if (in_indirect) return "indirect descriptor inside an indirect table";
      if (descriptor.flags & kDescNext) return "indirect descriptor with NEXT set";
      if (descriptor.length == 0 || descriptor.length % kDescriptorBytes != 0 ||
          descriptor.length / kDescriptorBytes > kMaxIndirect) {
        return "indirect table of " + std::to_string(descriptor.length) + " bytes";
      }
      if (!memory_.is_ram(descriptor.address, descriptor.length)) {
        return "indirect table at " + hex(descriptor.address) + " is not in RAM";
      }
      table = descriptor.address;
      table_size = descriptor.length / kDescriptorBytes;
      seen = 0;
      in_indirect = true;
      index = 0;
      continue;
    }
    if (descriptor.length != 0) {
      if (!memory_.is_ram(descriptor.address, descriptor.length)) {
        return "buffer at " + hex(descriptor.address) + " of " + std::to_string(descriptor.length) + " bytes is not in RAM";
      }
      if (descriptor.flags & kDescWrite) {
        writable.push_back({descriptor.address, descriptor.length});
      } else {
        if (!writable.empty()) return "readable buffer after a writable one";
        readable.push_back({descriptor.address, descriptor.length});
      }
    }
    if (!(descriptor.flags & kDescNext)) break;
    index = descriptor.next;
    if (index >= table_size) return "next index " + std::to_string(index) + " is past its table";
  }

  ++state_.last_avail_idx;
  if (event_idx_) {
    // avail_event: kick only once the driver passes what was taken.
    write_u16(state_.used + 4 + kUsedElementBytes * num, state_.last_avail_idx);
  }
  out.emplace(memory_, head, std::move(readable), std::move(writable));
  return {};
}

void Virtqueue::unpop() {
  std::lock_guard lock(mutex_);
  if (state_.last_avail_idx != state_.used_idx) --state_.last_avail_idx;
}

void Virtqueue::push(uint16_t head, uint32_t written_bytes) {
  std::lock_guard lock(mutex_);
  if (!state_.ready || state_.broken || state_.num == 0) return;
  if (!rings_in_ram().empty()) return;
  const uint64_t element = state_.used + 4 + kUsedElementBytes * (state_.used_idx % state_.num);
  std::array<uint8_t, kUsedElementBytes> raw{};
  store_le<uint32_t>(raw.data(), head);
  store_le<uint32_t>(raw.data() + 4, written_bytes);
  (void)memory_.write(element, raw);
  // The element before the index that publishes it.
  std::atomic_thread_fence(std::memory_order_release);
  ++state_.used_idx;
  write_u16(state_.used + 2, state_.used_idx);
}

void Virtqueue::notify() {
  bool raise = false;
  {
    std::lock_guard lock(mutex_);
    if (!state_.ready || state_.broken || state_.num == 0) return;
    if (!rings_in_ram().empty()) return;
    // Our used.idx store before the driver's suppression fields are read.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (event_idx_) {
      uint16_t used_event = 0;
      read_u16(state_.avail + 4 + 2 * uint64_t{state_.num}, used_event);
      const uint16_t old_idx = state_.signalled_used;
      raise = !state_.signalled_used_valid || need_event(used_event, state_.used_idx, old_idx);
      state_.signalled_used = state_.used_idx;
      state_.signalled_used_valid = true;
    } else {
      uint16_t flags = 0;
      read_u16(state_.avail, flags);
      raise = !(flags & kAvailNoInterrupt);
    }
  }
  if (raise && interrupt_) interrupt_();
}

}  // namespace godwit
