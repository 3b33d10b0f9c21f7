// A flag that stops a migration thread, and the sleep it takes between
// bandwidth windows, at once.
//
// Threads: cancel() from any thread; the rest from the migration thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace godwit {

class CancelToken {
 public:
  void cancel() {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    changed_.notify_all();
  }
  bool cancelled() const {
    std::lock_guard lock(mutex_);
    return cancelled_;
  }
  // Sleeps for `duration` or until cancelled; returns whether cancelled.
  template <class Rep, class Period>
  bool sleep_for(std::chrono::duration<Rep, Period> duration) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, duration, [this] { return cancelled_; });
    return cancelled_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool cancelled_ = false;
};

}  // namespace godwit
