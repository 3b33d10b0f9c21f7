#include "devices/goldfish_rtc.hpp"

#include <time.h>

namespace godwit {

namespace {

constexpr uint64_t kLow32 = 0xffffffff;

uint64_t deposit32(uint64_t word, unsigned shift, uint64_t value) {
  return (word & ~(kLow32 << shift)) | ((value & kLow32) << shift);
}

}  // namespace

GoldfishRtc::GoldfishRtc(GuestClock& clock, IrqLine irq) : clock_(clock), irq_(irq) {
  timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  // QEMU's realize starts from the host date in whole seconds.
  state_.tick_offset_ns = static_cast<uint64_t>(wall.tv_sec) * 1'000'000'000 - clock_.ns();
  reset();
}

void GoldfishRtc::reset() {
  std::lock_guard lock(mutex_);
  state_.alarm_next = 0;
  state_.alarm_running = 0;
  state_.irq_pending = 0;
  state_.irq_enabled = 0;
  update_irq_locked();
}

GoldfishRtc::State GoldfishRtc::snapshot() const {
  std::lock_guard lock(mutex_);
  return state_;
}

Status GoldfishRtc::restore(const State& loaded) {
  std::lock_guard lock(mutex_);
  state_ = loaded;
  update_irq_locked();
  return {};
}

uint64_t GoldfishRtc::time_ns() const {
  std::lock_guard lock(mutex_);
  return now_locked();
}

void GoldfishRtc::poll() {
  std::lock_guard lock(mutex_);
  check_alarm_locked();
}

std::optional<uint64_t> GoldfishRtc::next_alarm_guest_ns() const {
  std::lock_guard lock(mutex_);
  if (state_.alarm_running == 0) return std::nullopt;
  const uint64_t guest_now = clock_.ns();
  const uint64_t rtc_now = guest_now + state_.tick_offset_ns;
  if (state_.alarm_next <= rtc_now) return guest_now;  // due already
  return guest_now + (state_.alarm_next - rtc_now);
}

void GoldfishRtc::check_alarm_locked() {
  if (state_.alarm_running != 0 && now_locked() >= state_.alarm_next) {
    state_.alarm_running = 0;
    state_.irq_pending = 1;
    update_irq_locked();
  }
}

void GoldfishRtc::arm_alarm_locked() {
  // QEMU: an alarm at or before the current time fires at once.
  state_.alarm_running = 1;
  check_alarm_locked();
}

uint64_t GoldfishRtc::read(uint64_t offset, unsigned size) {
  if (size != 4) return 0;  // QEMU: 4-byte accesses only
  std::lock_guard lock(mutex_);
  check_alarm_locked();
  switch (offset) {
    case kTimeLow: {
      const uint64_t now = now_locked();
      state_.time_high = static_cast<uint32_t>(now >> 32);
      return now & kLow32;
    }
    case kTimeHigh:
      return state_.time_high;
    case kAlarmLow:
      return state_.alarm_next & kLow32;
    case kAlarmHigh:
      return state_.alarm_next >> 32;
    case kIrqEnabled:
      return state_.irq_enabled;
    case kAlarmStatus:
      return state_.alarm_running;
    default:
      return 0;
  }
}

void GoldfishRtc::write(uint64_t offset, unsigned size, uint64_t value) {
  if (size != 4) return;
  std::lock_guard lock(mutex_);
  check_alarm_locked();
  switch (offset) {
    case kTimeLow:
    case kTimeHigh: {
      const uint64_t now = now_locked();
      const uint64_t wanted = deposit32(now, offset == kTimeLow ? 0 : 32, value);
      state_.tick_offset_ns += wanted - now;
      // A running alarm keeps its RTC deadline; the new time may pass it.
      check_alarm_locked();
      break;
    }
    case kAlarmLow:
      state_.alarm_next = deposit32(state_.alarm_next, 0, value);
      arm_alarm_locked();
      break;
    case kAlarmHigh:
      state_.alarm_next = deposit32(state_.alarm_next, 32, value);
      break;
    case kIrqEnabled:
      state_.irq_enabled = value & 1;
      update_irq_locked();
      break;
    case kClearAlarm:
      state_.alarm_running = 0;
      break;
    case kClearInterrupt:
      state_.irq_pending = 0;
      update_irq_locked();
      break;
    default:
      break;
  }
}

}  // namespace godwit
