// The devices of QEMU's riscv `virt` board that godwit has, as one list
// (BoardDevices): where each sits, its interrupt, the name QEMU gives its
// state in the stream, and its device-tree node (hw/riscv/virt.c).
#pragma once

#include <vector>

#include "base/guest_clock.hpp"
#include "chardev/char_backend.hpp"
#include "cpu/hart_control.hpp"
#include "devices/goldfish_rtc.hpp"
#include "devices/plic.hpp"
#include "devices/power_control.hpp"
#include "machine/board_devices.hpp"
#include "machine/virtio_plugs.hpp"

namespace godwit {

// What the board's devices are wired to.
struct VirtDeviceWiring {
  std::vector<HartControl*> harts;
  GuestClock& clock;
  CharBackend* serial = nullptr;  // the first -serial, or none
  PowerControl& power;            // for the sifive_test finisher
  // The -device backends, first given first; the first goes to the highest
  // transport, as on QEMU. Transports left over stay empty.
  std::vector<VirtioPlug> virtio = {};
  bool virtio_legacy = true;  // -global virtio-mmio.force-legacy
};

// The devices the board itself drives besides the list's loops.
struct VirtDeviceHandles {
  Plic* plic = nullptr;
  GoldfishRtc* rtc = nullptr;  // polled for its alarm by the main loop
};

// Appends the virt board's devices to `devices`, in the order of their
// stream sections.
VirtDeviceHandles add_virt_devices(BoardDevices& devices, VirtDeviceWiring wiring);

}  // namespace godwit
