// Test doubles shared by the device unit tests: an interrupt controller that
// records line levels, a character backend that records output and can feed
// input, and a power controller that records requests.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chardev/char_backend.hpp"
#include "devices/irq_line.hpp"
#include "devices/power_control.hpp"

namespace godwit::testing {

class FakeInterruptController : public InterruptController {
 public:
  void set_irq(unsigned source, bool level) override {
    std::lock_guard lock(mutex_);
    levels_[source] = level;
    ++calls_;
  }
  bool level(unsigned source) const {
    std::lock_guard lock(mutex_);
    auto it = levels_.find(source);
    return it != levels_.end() && it->second;
  }
  int calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }

 private:
  mutable std::mutex mutex_;
  std::map<unsigned, bool> levels_;
  int calls_ = 0;
};

class FakeCharBackend : public CharBackend {
 public:
  const std::string& id() const override { return id_; }
  std::string_view kind() const override { return "fake"; }
  std::string filename() const override { return "fake"; }
  void write(std::span<const uint8_t> bytes) override { output.append(bytes.begin(), bytes.end()); }
  void attach(CharFrontend* frontend) override {
    this->frontend = frontend;
    ++attach_calls;
  }
  void frontend_ready() override { ++ready_calls; }

  // Delivers as much of `text` as the front end accepts, as the I/O thread
  // would; returns how many bytes went in.
  size_t feed(std::string_view text) {
    const size_t room = frontend->can_receive();
    const size_t count = text.size() < room ? text.size() : room;
    std::vector<uint8_t> bytes(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(count));
    if (count > 0) frontend->receive(bytes);
    return count;
  }

  std::string output;
  CharFrontend* frontend = nullptr;
  int attach_calls = 0;
  int ready_calls = 0;

 private:
  std::string id_ = "fake0";
};

class FakePowerControl : public PowerControl {
 public:
  void request_poweroff(int exit_code) override { poweroffs.push_back(exit_code); }
  void request_reset() override { ++resets; }
  std::vector<int> poweroffs;
  int resets = 0;
};

}  // namespace godwit::testing
