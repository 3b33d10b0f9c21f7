// A CharFrontend for tests: a byte sink with an adjustable amount of room,
// whose contents can be awaited from the test thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

#include "chardev/char_backend.hpp"

namespace godwit::testing {

class FakeFrontend : public CharFrontend {
 public:
  explicit FakeFrontend(size_t room) : room_(room) {}

  size_t can_receive() override {
    std::lock_guard lock(mutex_);
    ++can_receive_calls_;
    return room_;
  }
  void receive(std::span<const uint8_t> bytes) override {
    std::lock_guard lock(mutex_);
    if (bytes.size() > room_) overrun_ = true;
    room_ -= std::min(room_, bytes.size());
    received_.append(bytes.begin(), bytes.end());
    changed_.notify_all();
  }

  void set_room(size_t room) {
    std::lock_guard lock(mutex_);
    room_ = room;
  }
  std::string received() {
    std::lock_guard lock(mutex_);
    return received_;
  }
  bool overrun() {
    std::lock_guard lock(mutex_);
    return overrun_;
  }
  int can_receive_calls() {
    std::lock_guard lock(mutex_);
    return can_receive_calls_;
  }
  // Waits until at least `size` bytes arrived; returns what arrived.
  std::string wait_for(size_t size, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return received_.size() >= size; });
    return received_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  size_t room_;
  std::string received_;
  bool overrun_ = false;
  int can_receive_calls_ = 0;
};

}  // namespace godwit::testing
