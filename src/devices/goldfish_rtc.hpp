// Goldfish RTC (QEMU's goldfish_rtc, compatible "google,goldfish-rtc"):
// nanoseconds since the Unix epoch, with one alarm.
//
//   0x00 TIME_LOW     read: low 32 bits, and latches the high half
//   0x04 TIME_HIGH    read: the latched high half; writes set the time
//   0x08 ALARM_LOW    write arms the alarm (write ALARM_HIGH first)
//   0x0c ALARM_HIGH
//   0x10 IRQ_ENABLED  bit 0
//   0x14 CLEAR_ALARM  write: disarm
//   0x18 ALARM_STATUS read: 1 while armed
//   0x1c CLEAR_INTERRUPT write: drop the pending interrupt
//
// Time is GuestClock::ns() plus `State::tick_offset_ns`, which starts as the
// host wall clock at construction (whole seconds, as QEMU's realize) minus
// the guest clock, and moves when the guest sets the time. It therefore
// stands still while the machine is stopped; QEMU's RTC follows the host
// clock instead, which a paused or migrated guest notices as a jump.
//
// The alarm is checked lazily: on every register access and in poll(), which
// the board calls periodically from its main loop (next_alarm_guest_ns() says
// when it becomes due, for a precise wait). No thread of its own.
//
// Migration: the fields of QEMU's "goldfish_rtc" description, in its order.
// tick_offset_ns is relative to GuestClock, which the machine migrates, so
// the destination's RTC reads the time the source's read when it stopped.
// After loading, the interrupt line is driven again from pending & enabled;
// an alarm that fell due meanwhile fires at the next access or poll().
//
// Threads: read()/write() on hart threads, poll() and reset() on the main
// thread, save()/load()/describe() on the migration thread; one mutex guards
// the state.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "devices/irq_line.hpp"
#include "memory/mmio_device.hpp"
#include "base/guest_clock.hpp"
#include "migration/stream_reader.hpp"
#include "migration/stream_writer.hpp"
#include "migration/vmstate.hpp"

namespace godwit {

class GoldfishRtc final : public MmioDevice {
 public:
  static constexpr uint64_t kWindowBytes = 0x1000;
  static constexpr uint64_t kTimeLow = 0x00;
  static constexpr uint64_t kTimeHigh = 0x04;
  static constexpr uint64_t kAlarmLow = 0x08;
  static constexpr uint64_t kAlarmHigh = 0x0c;
  static constexpr uint64_t kIrqEnabled = 0x10;
  static constexpr uint64_t kClearAlarm = 0x14;
  static constexpr uint64_t kAlarmStatus = 0x18;
  static constexpr uint64_t kClearInterrupt = 0x1c;

  // The fields of QEMU's goldfish_rtc vmstate (version 3).
  struct State {
    uint64_t tick_offset_ns = 0;  // RTC time = clock.ns() + tick_offset_ns
    uint64_t alarm_next = 0;      // RTC ns
    uint32_t alarm_running = 0;
    uint32_t irq_pending = 0;
    uint32_t irq_enabled = 0;
    uint32_t time_high = 0;

#ifdef GODWIT_NEXT_DEVICE_VERSIONS
    // A stand-in for the next release's description (CMake option
    // GODWIT_NEXT_DEVICE_VERSIONS, preset "next"), so the system tests can
    // show a newer build loading today's streams: version 2 adds the period
    // of a repeating alarm. Version 1 has one-shot alarms only, so loading
    // its streams leaves the period at its default, 0 (one-shot): right.
    uint64_t alarm_period_ns = 0;
    static constexpr VMStateInfo kVMState{"goldfish_rtc", 2, 1};
#else
    static constexpr VMStateInfo kVMState{"goldfish_rtc", 1, 1};
#endif
    template <class V>
    void visit_state(V& v) {
      v.field("tick_offset_ns", tick_offset_ns);
      v.field("alarm_next", alarm_next);
      v.field("alarm_running", alarm_running);
      v.field("irq_pending", irq_pending);
      v.field("irq_enabled", irq_enabled);
      v.field("time_high", time_high);
#ifdef GODWIT_NEXT_DEVICE_VERSIONS
      v.since(2).field("alarm_period_ns", alarm_period_ns);
#endif
      // The registers read these back as they are; each is one bit.
      v.validate(alarm_running <= 1, "alarm_running is neither 0 nor 1");
      v.validate(irq_pending <= 1, "irq_pending is neither 0 nor 1");
      v.validate(irq_enabled <= 1, "irq_enabled is neither 0 nor 1");
    }
  };

  GoldfishRtc(GuestClock& clock, IrqLine irq);

  std::string_view name() const override { return "goldfish_rtc"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  // As QEMU: disarms the alarm and clears pending/enabled; keeps the time.
  void reset();

  // Fires the alarm if the RTC time has reached it. Call periodically.
  void poll();
  // Guest ns (GuestClock::ns()) at which the armed alarm is due; nullopt if
  // none is armed.
  std::optional<uint64_t> next_alarm_guest_ns() const;
  // Current RTC time in ns since the epoch.
  uint64_t time_ns() const;

  State state() const;

  // Migration: writes State; loads one into a copy (a bad stream leaves the
  // RTC as it was), then drives the interrupt line from it.
  void save(StreamWriter& out) const;
  Status load(StreamReader& in, uint32_t version_id);
  nlohmann::json describe() const;

 private:
  uint64_t now_locked() const { return clock_.ns() + state_.tick_offset_ns; }
  void check_alarm_locked();
  void arm_alarm_locked();
  void update_irq_locked() { irq_.set((state_.irq_pending & state_.irq_enabled) != 0); }

  GuestClock& clock_;
  IrqLine irq_;
  mutable std::mutex mutex_;
  State state_;
};

}  // namespace godwit
