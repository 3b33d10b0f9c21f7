// What the board asks of every device it lists, beyond answering MMIO: reset,
// and quiesce around every pause of the guest.
//
// A device's migratable state is not part of this interface: each device
// exposes it as plain data (`State snapshot() const`, `Status
// restore(const State&)`, see base/state_description.hpp), and the board turns
// that into a stream section without the device knowing the stream.
//
// Threads: reset(), quiesce() and unquiesce() are called on the main thread
// with every hart parked.
#pragma once

#include "memory/mmio_device.hpp"

namespace godwit {

class Device : public MmioDevice {
 public:
  // QEMU's system_reset of this device. Main thread, harts parked.
  virtual void reset() {}

  // Finishes or parks whatever the device has in flight (requests handed to
  // a backend, a worker thread's batch) and starts nothing new, so that
  // snapshot() is the whole state and guest RAM holds every completed
  // write. The board calls it after parking the harts and before saving
  // device state: on stop, before a live migration's switchover and before
  // every CPR mode's save. A device with nothing in flight does nothing.
  virtual void quiesce() {}
  // The guest runs again (cont, or a migration that failed or was
  // cancelled): work parked by quiesce() may go on.
  virtual void unquiesce() {}
};

}  // namespace godwit
