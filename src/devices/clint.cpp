#include "devices/clint.hpp"

#include <cassert>
#include <utility>

namespace godwit {

Clint::Clint(std::vector<HartControl*> harts, GuestClock& clock)
    : harts_(std::move(harts)), clock_(clock) {
  for ([[maybe_unused]] HartControl* hart : harts_) assert(hart != nullptr);
  state_.msip.assign(harts_.size(), 0);
  state_.mtimecmp.assign(harts_.size(), 0);
  reset();
}

void Clint::reset() {
  std::lock_guard lock(mutex_);
  for (size_t hart = 0; hart < harts_.size(); ++hart) {
    state_.msip[hart] = 0;
    harts_[hart]->set_mip(mip::kMSIP, false);
    // QEMU creates the timer with every mtimecmp at 0 and its reset leaves them.
    state_.mtimecmp[hart] = 0;
  }
  // QEMU's MTIMER reset writes mtime = 0, then re-evaluates each hart's timer.
  state_.mtime_delta_ticks = -static_cast<int64_t>(clock_.ticks());
  for (size_t hart = 0; hart < harts_.size(); ++hart) push_mtimecmp_locked(hart);
}

uint64_t Clint::mtime_locked() const {
  return clock_.ticks() + static_cast<uint64_t>(state_.mtime_delta_ticks);
}

uint64_t Clint::mtime() const {
  std::lock_guard lock(mutex_);
  return mtime_locked();
}

int64_t Clint::mtime_delta_ticks() const {
  std::lock_guard lock(mutex_);
  return state_.mtime_delta_ticks;
}

Clint::State Clint::snapshot() const {
  std::lock_guard lock(mutex_);
  return state_;
}

Status Clint::restore(const State& loaded) {
  std::lock_guard lock(mutex_);
  if (loaded.msip.size() != harts_.size() || loaded.mtimecmp.size() != harts_.size()) {
    return fail("riscv_aclint: the state is of a CLINT with " + std::to_string(loaded.msip.size()) + " harts, this one has " +
                std::to_string(harts_.size()));
  }
  state_ = loaded;
  for (size_t hart = 0; hart < harts_.size(); ++hart) {
    harts_[hart]->set_mip(mip::kMSIP, state_.msip[hart] != 0);
    push_mtimecmp_locked(hart);
  }
  return {};
}

void Clint::push_mtimecmp_locked(size_t hart) {
  harts_[hart]->set_time_delta(state_.mtime_delta_ticks);
  // MTIP is mtime >= mtimecmp, i.e. ticks + delta >= mtimecmp, i.e.
  // ticks >= mtimecmp - delta. Clamp so "already due" stays due (0) and
  // "beyond the clock's range" never fires.
  const __int128 in_clock_frame =
      static_cast<__int128>(state_.mtimecmp[hart]) - static_cast<__int128>(state_.mtime_delta_ticks);
  uint64_t value;
  if (in_clock_frame < 0) {
    value = 0;
  } else if (in_clock_frame > static_cast<__int128>(UINT64_MAX)) {
    value = UINT64_MAX;
  } else {
    value = static_cast<uint64_t>(in_clock_frame);
  }
  harts_[hart]->set_mtimecmp(value);
}

uint64_t Clint::read(uint64_t offset, unsigned size) {
  std::lock_guard lock(mutex_);
  if (offset < kMtimecmpBase) {
    // MSWI: 4-byte accesses only in QEMU.
    const uint64_t hart = offset >> 2;
    if (size != 4 || (offset & 3) != 0 || hart >= harts_.size()) return 0;
    return state_.msip[hart];
  }
  if (size != 4 && size != 8) return 0;  // MTIMER takes 4- and 8-byte accesses
  if (offset >= kMtimecmpBase && offset - kMtimecmpBase < harts_.size() * 8) {
    const uint64_t hart = (offset - kMtimecmpBase) >> 3;
    const uint64_t cmp = state_.mtimecmp[hart];
    switch (offset & 7) {
      case 0:
        return size == 4 ? (cmp & 0xffffffff) : cmp;
      case 4:
        return cmp >> 32;
      default:
        return 0;
    }
  }
  if (offset == kMtime) {
    const uint64_t now = mtime_locked();
    return size == 4 ? (now & 0xffffffff) : now;
  }
  if (offset == kMtime + 4) return mtime_locked() >> 32;
  return 0;
}

void Clint::write(uint64_t offset, unsigned size, uint64_t value) {
  std::lock_guard lock(mutex_);
  if (offset < kMtimecmpBase) {
    const uint64_t hart = offset >> 2;
    if (size != 4 || (offset & 3) != 0 || hart >= harts_.size()) return;
    state_.msip[hart] = value & 1;
    harts_[hart]->set_mip(mip::kMSIP, (value & 1) != 0);
    return;
  }
  if (size != 4 && size != 8) return;
  if (offset >= kMtimecmpBase && offset - kMtimecmpBase < harts_.size() * 8) {
    const uint64_t hart = (offset - kMtimecmpBase) >> 3;
    uint64_t& cmp = state_.mtimecmp[hart];
    switch (offset & 7) {
      case 0:
        cmp = size == 4 ? ((cmp & ~uint64_t{0xffffffff}) | (value & 0xffffffff)) : value;
        break;
      case 4:
        if (size != 4) return;  // QEMU rejects a 64-bit write to the high half
        cmp = (value << 32) | (cmp & 0xffffffff);
        break;
      default:
        return;
    }
    push_mtimecmp_locked(hart);
    return;
  }
  if (offset == kMtime || offset == kMtime + 4) {
    const uint64_t raw = clock_.ticks();
    const uint64_t now = raw + static_cast<uint64_t>(state_.mtime_delta_ticks);
    uint64_t wanted;
    if (offset == kMtime) {
      wanted = size == 4 ? ((now & ~uint64_t{0xffffffff}) | (value & 0xffffffff)) : value;
    } else {
      if (size != 4) return;
      wanted = (value << 32) | (now & 0xffffffff);
    }
    state_.mtime_delta_ticks = static_cast<int64_t>(wanted - raw);
    for (size_t hart = 0; hart < harts_.size(); ++hart) push_mtimecmp_locked(hart);
  }
}

}  // namespace godwit
