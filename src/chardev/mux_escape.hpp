// The Ctrl-A escapes of a multiplexed stdio console (-nographic), as QEMU's
// mux chardev: C-a x quits, C-a h prints help, C-a C-a sends one C-a to the
// guest. Other escapes are swallowed, as QEMU does with those it lacks.
//
// Threads: loop thread (it runs inside the stdio backend's input path).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace godwit {

class MuxEscape {
 public:
  static constexpr uint8_t kEscape = 0x01;  // Ctrl-A

  struct Actions {
    std::function<void()> quit;                          // C-a x
    std::function<void(const std::string&)> print_help;  // C-a h
  };

  explicit MuxEscape(Actions actions) : actions_(std::move(actions)) {}

  // Returns the bytes meant for the guest; escape sequences are acted upon
  // and removed. A lone C-a at the end is remembered for the next call.
  std::vector<uint8_t> filter(std::span<const uint8_t> input);

  static std::string help_text();

 private:
  Actions actions_;
  bool after_escape_ = false;
};

}  // namespace godwit
