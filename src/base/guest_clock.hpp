// Guest time: follows the host's monotonic clock while the VM runs and stands
// still while it is stopped, so a paused (or migrating) guest sees no jump.
// mtime (CLINT) and the `time` CSR tick at 10 MHz as on QEMU's virt machine;
// the goldfish RTC reads the same clock plus a wall-clock base.
//
// Threads: start()/stop()/set_ns() are called by the main thread only while
// every hart is parked; the readers run on any thread.
#pragma once

#include <atomic>
#include <cstdint>

#include "base/monotonic_clock.hpp"

namespace godwit {

class GuestClock {
 public:
  static constexpr uint64_t kTimebaseHz = 10'000'000;  // QEMU virt's timebase-frequency
  static constexpr uint64_t kNsPerTick = 1'000'000'000 / kTimebaseHz;

  // Guest nanoseconds since the machine was created.
  uint64_t ns() const {
    if (running_.load(std::memory_order_acquire)) {
      return static_cast<uint64_t>(monotonic_ns() - host_offset_ns_.load(std::memory_order_relaxed));
    }
    return frozen_ns_.load(std::memory_order_relaxed);
  }
  uint64_t ticks() const { return ns() / kNsPerTick; }

  bool running() const { return running_.load(std::memory_order_acquire); }

  void start() {
    if (running()) return;
    host_offset_ns_.store(monotonic_ns() - static_cast<int64_t>(frozen_ns_.load()), std::memory_order_relaxed);
    running_.store(true, std::memory_order_release);
  }
  void stop() {
    if (!running()) return;
    frozen_ns_.store(ns(), std::memory_order_relaxed);
    running_.store(false, std::memory_order_release);
  }
  // Restores guest time (after loading a migration stream). Only while stopped.
  void set_ns(uint64_t ns) { frozen_ns_.store(ns, std::memory_order_relaxed); }

  // Host monotonic time at which guest time reaches `ticks`; meaningful only
  // while running (used for wfi sleeps until the next timer interrupt).
  int64_t host_ns_at_ticks(uint64_t ticks) const {
    const uint64_t target_ns = ticks > UINT64_MAX / kNsPerTick ? UINT64_MAX / 2 : ticks * kNsPerTick;
    if (target_ns > static_cast<uint64_t>(INT64_MAX / 2)) return INT64_MAX / 2;
    return host_offset_ns_.load(std::memory_order_relaxed) + static_cast<int64_t>(target_ns);
  }

 private:
  std::atomic<bool> running_{false};
  std::atomic<int64_t> host_offset_ns_{0};  // host ns at guest ns 0, while running
  std::atomic<uint64_t> frozen_ns_{0};      // guest ns while stopped
};

}  // namespace godwit
