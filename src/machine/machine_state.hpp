// Machine-wide migration state that belongs to no single device.
#pragma once

#include <cstdint>

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
