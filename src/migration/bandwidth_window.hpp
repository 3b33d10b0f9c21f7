// Throughput of a migration stream in QEMU's 100 ms windows (BUFFER_DELAY):
// the measured rate that decides when the rest fits in the downtime limit,
// and the allowance that keeps a running guest's migration under
// max-bandwidth.
//
// Threads: owned by the migration thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace godwit {

class BandwidthWindow {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kWindow{100};
  // An open window counts once it carried this much for this long: far
  // more than any socket or pipe buffer holds, and long enough that the
  // destination's cost of first touching its RAM shows in the rate (a
  // 10 ms window measured 4x the rate the switchover then got).
  static constexpr uint64_t kConvincingBytes = 32u << 20;
  static constexpr double kConvincingMs = 50.0;

  explicit BandwidthWindow(Clock::time_point now) : window_start_(now) {}

  void add(uint64_t bytes, uint64_t pages) {
    window_bytes_ += bytes;
    window_pages_ += pages;
  }

  // Closes the window once it is 100 ms old; returns whether it did, with
  // bytes_per_ms() and friends then describing that window.
  bool roll(Clock::time_point now) {
    const auto elapsed = now - window_start_;
    if (elapsed < kWindow) return false;
    const double ms = std::chrono::duration<double, std::milli>(elapsed).count();
    bytes_per_ms_ = static_cast<double>(window_bytes_) / ms;
    pages_per_second_ = static_cast<uint64_t>(static_cast<double>(window_pages_) * 1000.0 / ms);
    measured_ = true;
    best_bytes_per_ms_ = std::max(best_bytes_per_ms_, bytes_per_ms_);
    window_bytes_ = 0;
    window_pages_ = 0;
    window_start_ = now;
    return true;
  }

  // The last closed window's rate; 0 until one has closed, so that no
  // switchover is decided on a burst into the socket buffer (QEMU's rule).
  double bytes_per_ms() const { return measured_ ? bytes_per_ms_ : 0.0; }
  double megabits_per_second() const { return bytes_per_ms_ * 8.0 / 1000.0; }
  // The fastest closed window so far: what the link has shown it carries.
  // A window spent scanning pages of zeros (9-byte records) or waiting for
  // the guest to dirty pages moves few bytes without the link being slow,
  // so the switchover estimate uses this rather than the last window alone.
  double best_bytes_per_ms() const { return measured_ ? best_bytes_per_ms_ : 0.0; }

  // best_bytes_per_ms(), or the open window's rate when that is higher and
  // the window has moved so much that socket buffers cannot explain it (a
  // first pass over little RAM may end before any window closes).
  double switchover_bytes_per_ms(Clock::time_point now) const {
    const double ms = std::chrono::duration<double, std::milli>(now - window_start_).count();
    if (window_bytes_ < kConvincingBytes || ms < kConvincingMs) return best_bytes_per_ms();
    return std::max(best_bytes_per_ms(), static_cast<double>(window_bytes_) / ms);
  }
  uint64_t pages_per_second() const { return pages_per_second_; }

  // How long to wait before sending more while at most `limit` bytes/s may
  // go (0: no limit): until the window ends once its allowance is used.
  Clock::duration wait_needed(uint64_t limit, Clock::time_point now) const {
    if (limit == 0 || window_bytes_ < allowance(limit)) return Clock::duration::zero();
    return std::max(Clock::duration::zero(), window_start_ + kWindow - now);
  }

  // Bytes the window may still carry under `limit` (no limit: `cap`). Zero
  // exactly when wait_needed() asks for a wait.
  uint64_t allowance_left(uint64_t limit, uint64_t cap) const {
    if (limit == 0) return cap;
    const uint64_t whole = allowance(limit);
    return window_bytes_ >= whole ? 0 : std::min(cap, whole - window_bytes_);
  }

 private:
  // One window's share of `limit` bytes/s, in whole bytes and never 0: the
  // sender writes at least one page once the allowance is not used up, so
  // even a limit of a few bytes per second moves a page per window.
  static uint64_t allowance(uint64_t limit) {
    return std::max<uint64_t>(1, limit / (std::chrono::milliseconds(1000) / kWindow));
  }

  Clock::time_point window_start_;
  uint64_t window_bytes_ = 0;
  uint64_t window_pages_ = 0;
  double bytes_per_ms_ = 0;
  double best_bytes_per_ms_ = 0;
  uint64_t pages_per_second_ = 0;
  bool measured_ = false;
};

}  // namespace godwit
