#include "devices/plic.hpp"

#include <cassert>
#include <utility>

namespace godwit {

Plic::Plic(std::vector<HartControl*> harts, unsigned num_sources)
    : harts_(std::move(harts)), num_sources_(num_sources), words_((num_sources + 1 + 31) / 32) {
  for ([[maybe_unused]] HartControl* hart : harts_) assert(hart != nullptr);
  // The enable block of one context is 0x80 bytes: at most 1023 sources.
  assert(num_sources >= 1 && num_sources <= 1023);
  reset();
}

void Plic::reset() {
  std::lock_guard lock(mutex_);
  // QEMU's reset zeroes priorities, thresholds, pending, claimed and enables.
  // Input levels belong to the devices, which reset themselves on the same
  // machine reset; a line still high (whatever the reset order) is pending
  // again, as the gateway would see it.
  state_.priority.assign(num_sources_ + 1, 0);
  if (state_.level.size() != words_) state_.level.assign(words_, 0);
  state_.pending = state_.level;
  state_.claimed.assign(words_, 0);
  state_.enable.assign(words_ * num_contexts(), 0);
  state_.threshold.assign(num_contexts(), 0);
  outputs_.assign(num_contexts(), -1);  // drive every wire once
  update_locked();
}

Plic::State Plic::snapshot() const {
  std::lock_guard lock(mutex_);
  return state_;
}

Status Plic::restore(const State& loaded) {
  std::lock_guard lock(mutex_);
  if (loaded.priority.size() != state_.priority.size() || loaded.pending.size() != words_ ||
      loaded.claimed.size() != words_ || loaded.level.size() != words_ ||
      loaded.enable.size() != state_.enable.size() || loaded.threshold.size() != num_contexts()) {
    return fail("riscv_sifive_plic: the state is of a PLIC with other sources or contexts");
  }
  state_ = loaded;
  outputs_.assign(num_contexts(), -1);  // drive every wire, whatever it was
  update_locked();
  return {};
}

unsigned Plic::best_source_locked(size_t context) const {
  unsigned best = 0;
  uint32_t best_priority = state_.threshold[context];
  for (unsigned word = 0; word < words_; ++word) {
    uint32_t candidates = state_.pending[word] & ~state_.claimed[word] & state_.enable[context * words_ + word];
    while (candidates != 0) {
      const unsigned source = word * 32 + static_cast<unsigned>(__builtin_ctz(candidates));
      candidates &= candidates - 1;
      // Strictly greater: ties keep the lower id, and priority 0 never beats
      // a threshold of 0.
      if (source <= num_sources_ && state_.priority[source] > best_priority) {
        best = source;
        best_priority = state_.priority[source];
      }
    }
  }
  return best;
}

void Plic::update_locked() {
  for (size_t context = 0; context < num_contexts(); ++context) {
    const int8_t level = best_source_locked(context) != 0 ? 1 : 0;
    if (outputs_[context] == level) continue;  // spare the hart a wakeup
    outputs_[context] = level;
    harts_[context / 2]->set_mip(context % 2 == 0 ? mip::kMEIP : mip::kSEIP, level != 0);
  }
}

void Plic::set_irq(unsigned source, bool level) {
  if (source == 0 || source > num_sources_) return;
  std::lock_guard lock(mutex_);
  const bool was_level = bit(state_.level, source);
  const bool was_pending = bit(state_.pending, source);
  const bool pending = level && (was_pending || !bit(state_.claimed, source));
  if (was_level == level && was_pending == pending) return;
  set_bit(state_.level, source, level);
  set_bit(state_.pending, source, pending);
  update_locked();
}

uint64_t Plic::read(uint64_t offset, unsigned size) {
  if (size != 4 || (offset & 3) != 0) return 0;
  std::lock_guard lock(mutex_);
  if (offset < kPendingBase) {
    const uint64_t source = (offset - kPriorityBase) >> 2;
    return source <= num_sources_ ? state_.priority[source] : 0;
  }
  if (offset < kEnableBase) {
    const uint64_t word = (offset - kPendingBase) >> 2;
    return word < words_ ? state_.pending[word] : 0;
  }
  if (offset < kContextBase) {
    const uint64_t context = (offset - kEnableBase) / kEnableStride;
    const uint64_t word = ((offset - kEnableBase) % kEnableStride) >> 2;
    if (context >= num_contexts() || word >= words_) return 0;
    return state_.enable[context * words_ + word];
  }
  const uint64_t context = (offset - kContextBase) / kContextStride;
  if (context >= num_contexts()) return 0;
  switch ((offset - kContextBase) % kContextStride) {
    case 0:
      return state_.threshold[context];
    case 4: {
      const unsigned source = best_source_locked(context);
      if (source != 0) {
        set_bit(state_.pending, source, false);
        set_bit(state_.claimed, source, true);
      }
      update_locked();
      return source;
    }
    default:
      return 0;
  }
}

void Plic::write(uint64_t offset, unsigned size, uint64_t value) {
  if (size != 4 || (offset & 3) != 0) return;
  const uint32_t value32 = static_cast<uint32_t>(value);
  std::lock_guard lock(mutex_);
  if (offset < kPendingBase) {
    const uint64_t source = (offset - kPriorityBase) >> 2;
    if (source > num_sources_) return;
    // QEMU: with 2^n - 1 levels each bit is WARL; keep the value modulo 2^n.
    state_.priority[source] = value32 & kMaxPriority;
    update_locked();
    return;
  }
  if (offset < kEnableBase) return;  // pending bits are read-only
  if (offset < kContextBase) {
    const uint64_t context = (offset - kEnableBase) / kEnableStride;
    const uint64_t word = ((offset - kEnableBase) % kEnableStride) >> 2;
    if (context >= num_contexts() || word >= words_) return;
    // Stored as written, as QEMU does; bits of absent sources never match a
    // pending bit. Unlike QEMU, a newly enabled pending source is signalled
    // at once rather than at the next PLIC event.
    state_.enable[context * words_ + word] = value32;
    update_locked();
    return;
  }
  const uint64_t context = (offset - kContextBase) / kContextStride;
  if (context >= num_contexts()) return;
  switch ((offset - kContextBase) % kContextStride) {
    case 0:
      state_.threshold[context] = value32 & kMaxPriority;
      update_locked();
      return;
    case 4: {
      // QEMU completes any valid id, whether or not this context claimed it.
      if (value32 == 0 || value32 > num_sources_ || !bit(state_.claimed, value32)) return;
      set_bit(state_.claimed, value32, false);
      if (bit(state_.level, value32)) set_bit(state_.pending, value32, true);
      update_locked();
      return;
    }
    default:
      return;
  }
}

}  // namespace godwit
