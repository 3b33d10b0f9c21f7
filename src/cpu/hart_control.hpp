// Cross-thread signals for one hart: interrupt wires from devices, the timer
// compare value, and the pause/exit handshake with the main thread.
//
// Threads: the hart's own thread calls attention(), service() and
// wait_for_interrupt(); devices call set_mip()/set_mtimecmp() from any thread;
// the main thread calls request_pause(), wait_parked(), resume() and
// request_exit(). Header-only so devices can drive harts without linking the CPU.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace godwit {

// mip bits as in the privileged spec, section 3.1.9.
namespace mip {
inline constexpr uint64_t kSSIP = 1u << 1;
inline constexpr uint64_t kMSIP = 1u << 3;
inline constexpr uint64_t kSTIP = 1u << 5;
inline constexpr uint64_t kMTIP = 1u << 7;
inline constexpr uint64_t kSEIP = 1u << 9;
inline constexpr uint64_t kMEIP = 1u << 11;
}  // namespace mip

class HartControl {
 public:
  // --- device side -------------------------------------------------------

  // Drives a device-owned mip bit (MSIP from the CLINT, MEIP/SEIP from the
  // PLIC) and wakes the hart so it notices.
  void set_mip(uint64_t bit, bool level) {
    if (level) {
      external_mip_.fetch_or(bit, std::memory_order_acq_rel);
    } else {
      external_mip_.fetch_and(~bit, std::memory_order_acq_rel);
    }
    poke();
  }
  uint64_t external_mip() const { return external_mip_.load(std::memory_order_acquire); }

  // The CLINT's mtimecmp for this hart; MTIP is mtime >= mtimecmp, evaluated
  // by the hart itself against the guest clock.
  void set_mtimecmp(uint64_t value) {
    mtimecmp_.store(value, std::memory_order_release);
    poke();
  }
  uint64_t mtimecmp() const { return mtimecmp_.load(std::memory_order_acquire); }

  // The CLINT's mtime minus the guest clock's ticks (non-zero after the guest
  // writes mtime or a reset zeroes it); the `time` CSR adds it as QEMU's
  // rdtime does, so `time` and mtime always agree.
  void set_time_delta(int64_t delta_ticks) { time_delta_ticks_.store(delta_ticks, std::memory_order_release); }
  int64_t time_delta() const { return time_delta_ticks_.load(std::memory_order_acquire); }

  // --- hart side ----------------------------------------------------------

  // Cheap check for the hart's fast loop: something changed, call service().
  bool attention() const { return attention_.load(std::memory_order_relaxed); }

  // Clears attention and handles run control. Blocks while a pause is
  // requested. Returns false when the hart must exit its run loop.
  bool service() {
    std::unique_lock lock(mutex_);
    attention_.store(false, std::memory_order_relaxed);
    while (pause_requested_ && !exit_requested_) {
      parked_ = true;
      changed_.notify_all();
      changed_.wait(lock);
    }
    parked_ = false;
    return !exit_requested_;
  }

  // wfi: sleeps until attention is raised (an interrupt wire moved, mtimecmp
  // changed, pause/exit requested) or the host monotonic clock reaches
  // `deadline_host_ns` (the next timer interrupt; pass INT64_MAX for none).
  void wait_for_interrupt(int64_t deadline_host_ns) {
    std::unique_lock lock(mutex_);
    if (attention_.load(std::memory_order_relaxed)) return;
    using clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC on Linux, as GuestClock
    if (deadline_host_ns >= INT64_MAX / 2) {
      changed_.wait(lock, [&] { return attention_.load(std::memory_order_relaxed); });
    } else {
      const clock::time_point deadline{std::chrono::nanoseconds(deadline_host_ns)};
      changed_.wait_until(lock, deadline, [&] { return attention_.load(std::memory_order_relaxed); });
    }
  }

  // --- main thread ---------------------------------------------------------

  void request_pause() {
    std::lock_guard lock(mutex_);
    pause_requested_ = true;
    attention_.store(true, std::memory_order_relaxed);
    changed_.notify_all();
  }
  // Waits until the hart sits in service() (or has exited).
  void wait_parked() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return parked_ || exited_; });
  }
  void resume() {
    std::lock_guard lock(mutex_);
    pause_requested_ = false;
    changed_.notify_all();
  }
  void request_exit() {
    std::lock_guard lock(mutex_);
    exit_requested_ = true;
    attention_.store(true, std::memory_order_relaxed);
    changed_.notify_all();
  }
  // Called by the hart thread as its last act, so wait_parked() never hangs.
  void mark_exited() {
    std::lock_guard lock(mutex_);
    exited_ = true;
    changed_.notify_all();
  }
  bool parked() const {
    std::lock_guard lock(mutex_);
    return parked_;
  }

 private:
  void poke() {
    std::lock_guard lock(mutex_);  // orders with wait_for_interrupt's check: no lost wakeup
    attention_.store(true, std::memory_order_relaxed);
    changed_.notify_all();
  }

  std::atomic<uint64_t> external_mip_{0};
  std::atomic<uint64_t> mtimecmp_{UINT64_MAX};  // no timer until a CLINT sets it (QEMU resets it to 0)
  std::atomic<int64_t> time_delta_ticks_{0};
  std::atomic<bool> attention_{false};

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool pause_requested_ = false;
  bool exit_requested_ = false;
  bool parked_ = false;
  bool exited_ = false;
};

}  // namespace godwit
