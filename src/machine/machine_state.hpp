// Machine-wide migration state that belongs to no single device.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "migration/vmstate.hpp"

namespace godwit {

// The shape of the machine, sent before any device so that a destination
// built differently (hart count, RAM size) refuses the stream up front with
// a message naming the difference, not later with an unknown device.
struct MachineShapeState {
  static constexpr VMStateInfo kVMState{"virt-machine", 1, 1};
  uint32_t harts = 0;
  uint64_t ram_size_bytes = 0;
  template <class V>
  void visit_state(V& v) {
    v.equal("harts", harts);
    v.equal("ram_size", ram_size_bytes);
  }
};

// Guest time: the destination's clock continues from the source's guest
// nanoseconds, so mtime and the RTC never jump or go back. Host time is not
// state; the clock is restored while stopped and runs on from there.
struct GuestClockState {
  static constexpr VMStateInfo kVMState{"timer", 1, 1};
  uint64_t guest_ns = 0;
  template <class V>
  void visit_state(V& v) {
    v.field("guest_ns", guest_ns);
  }
};

}  // namespace godwit

namespace godwit {

// The source's run state when it stopped for the switchover (QEMU's
// "globalstate"): the destination runs the guest only if it ran there, and
// otherwise takes the same state (a paused guest stays paused).
struct GlobalState {
  static constexpr VMStateInfo kVMState{"globalstate", 1, 1};
  static constexpr size_t kNameBytes = 100;  // QEMU's runstate[100]
  uint32_t size = 0;                          // bytes of `name` in use, NUL included
  std::array<uint8_t, kNameBytes> name{};
  template <class V>
  void visit_state(V& v) {
    v.field("size", size);
    v.validate(size >= 1 && size <= kNameBytes, "run state name size out of range 1..100");
    v.buffer("runstate", name);
  }
  std::string text() const {
    const size_t end = std::min<size_t>(size, kNameBytes);
    std::string value(reinterpret_cast<const char*>(name.data()), end);
    if (auto nul = value.find('\0'); nul != std::string::npos) value.resize(nul);
    return value;
  }
  void set_text(std::string_view value) {
    name.fill(0);
    const size_t n = std::min(value.size(), kNameBytes - 1);
    std::copy_n(value.data(), n, name.begin());
    size = static_cast<uint32_t>(n + 1);
  }
};

}  // namespace godwit

namespace godwit {

// When the source's harts stopped, on the host's monotonic clock (0 if the
// guest was not running): a destination on the same host resuming the
// guest measures the whole pause, from the last guest instruction there to
// the first here, with one clock. Across hosts or reboots the figure means
// nothing and is not reported.
struct PauseStampState {
  static constexpr VMStateInfo kVMState{"godwit-pause", 1, 1};
  uint64_t stopped_at_ns = 0;
  uint64_t boot_id_hash = 0;  // which boot of which host the clock is from
  template <class V>
  void visit_state(V& v) {
    v.field("stopped_at_ns", stopped_at_ns);
    v.field("boot_id_hash", boot_id_hash);
  }
};

}  // namespace godwit
